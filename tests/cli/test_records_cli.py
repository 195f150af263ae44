"""The everyday record commands through the installed ``crm``."""
from __future__ import annotations

import json

import yaml

from tests.conftest import clean_env, run_crm, tree_digest


def test_client_add_prints_id_and_writes_canonical_file(folder):
    rid = folder.ok("client", "add", "ООО Ромашка", "--email", "info@romashka.ru", "--phone", "0123",
                    "--tag", "vip", "--tag", "spa", "--owner", "anna", "--source", "exhibition",
                    "--set", "fields.psychotype=diplomat", "--set", "fields.age=41").strip()
    assert rid.startswith("romashka-") and len(rid) == len("romashka-") + 4
    text = folder.file("clients", rid).read_text(encoding="utf-8")
    assert text == (
        "name: ООО Ромашка\n"
        "owner: anna\n"
        "emails:\n- info@romashka.ru\n"
        'phones:\n- "0123"\n'
        "tags:\n- vip\n- spa\n"
        "source: exhibition\n"
        "created: 2026-11-27\n"
        "fields:\n  psychotype: diplomat\n  age: 41\n")
    shown = json.loads(folder.ok("client", "show", rid, "--format", "json"))
    assert list(shown)[:2] == ["id", "name"]
    assert shown["phones"] == ["0123"] and shown["fields"]["age"] == 41
    assert shown["status"] == "prospect" and shown["deals"] == [] and shown["activities"] == []


def test_values_keep_their_text(folder):
    rid = folder.ok("client", "add", "Norway AS", "--set", "fields.country=NO", "--phone", "08540",
                    "--tag", "yes", "--tag", "12:30").strip()
    data = yaml.safe_load(folder.file("clients", rid).read_text())  # a teammate's PyYAML script
    assert data["fields"]["country"] == "NO" and data["phones"] == ["08540"]
    assert data["tags"] == ["yes", "12:30"]
    shown = json.loads(folder.ok("client", "show", rid, "-f", "json"))
    assert shown["tags"] == ["yes", "12:30"] and shown["fields"]["country"] == "NO"


def test_lookup_by_prefix_and_name_and_ambiguity(folder):
    a = folder.ok("client", "add", "Acme").strip()
    b = folder.ok("client", "add", "Acme Two").strip()
    assert json.loads(folder.ok("client", "show", "acme two", "-f", "json"))["id"] == b
    assert json.loads(folder.ok("client", "show", a[:7], "-f", "json"))["id"] == a
    r = folder.fails(1, "client", "show", "acme")
    assert "ambiguous" in r.err and a in r.err and b in r.err
    folder.fails(1, "client", "show", "nobody")


def test_bad_ids_are_refused_before_any_path(folder, tmp_path):
    for bad in ("../../etc/passwd", "/etc/passwd", "Acme", "a b", ".."):
        r = folder("client", "show", bad)
        assert r.code == 1 and "Traceback" not in r.err, (bad, r)
    r = folder("client", "edit", "../x", "--tag", "a")
    assert r.code == 1


def test_deal_lifecycle_with_dated_history(folder):
    cid = folder.ok("client", "add", "Acme").strip()
    comp = folder.ok("competitor", "add", "Rival Spa", "--website", "rival.example").strip()
    did = folder.ok("deal", "add", "Acme", "Spa equipment", "--amount", "1500.50", "--owner", "anna",
                    "--currency", "USD", "--set", "created=2026-01-10").strip()
    folder.ok("deal", "move", did, "proposal", "--date", "2026-02-01")
    folder.fails(1, "deal", "move", did, "lost", "--date", "2026-03-01")  # needs --reason
    folder.fails(1, "deal", "move", did, "won", "--date", "2026-01-01")  # before the last move
    folder.fails(1, "deal", "move", did, "nonsense")
    folder.fails(2, "deal", "move", did, "won", "--date", "2026-13-01")
    folder.ok("deal", "move", did, "lost", "--date", "2026-03-01", "--reason", "дорого", "--lost-to", "rival spa")
    deal = json.loads(folder.ok("deal", "show", did, "-f", "json"))
    assert deal["stage"] == "lost" and deal["lost_reason"] == "дорого" and deal["lost_to"] == comp
    assert deal["history"] == [{"stage": "lead", "date": "2026-11-27"}, {"stage": "proposal", "date": "2026-02-01"},
                               {"stage": "lost", "date": "2026-03-01"}] or deal["history"][0]["stage"] == "lead"
    assert deal["client"] == cid and deal["amount"] == 1500.5
    assert folder.ok("deal", "list", "--lost", "--ids").split() == [did]
    assert folder.ok("deal", "list", "--open", "--ids") == ""


def test_unknown_names_are_refused(folder):
    cid = folder.ok("client", "add", "Acme").strip()
    before = tree_digest(folder.root)
    folder.fails(1, "client", "add", "X", "--owner", "nobody")
    folder.fails(1, "deal", "add", cid, "T", "--stage", "nowhere")
    folder.fails(1, "deal", "add", cid, "T", "--currency", "XYZ")
    folder.fails(1, "log", cid, "telepathy")
    folder.fails(1, "client", "edit", cid, "--set", "fields.psychotype=wizard")
    folder.fails(1, "client", "edit", cid, "--set", "fields.age=old")
    folder.fails(1, "client", "add", "Y", "--competitor", "ghost")
    folder.fails(2, "client", "add", "Z", "--birthday", "31.12.1990")
    folder.fails(2, "deal", "add", cid, "T", "--amount", "12,5")
    folder.fails(2, "client", "add")
    folder.fails(2, "client", "frobnicate")
    assert tree_digest(folder.root) == before


def test_log_task_and_activity_list(folder):
    cid = folder.ok("client", "add", "Иван Петров", "--kind", "person").strip()
    a1 = folder.ok("log", cid, "call", "Обсудили абонемент", "--minutes", "15", "--next", "2026-12-05").strip()
    t1 = folder.ok("task", "add", "иван петров", "Отправить КП", "--due", "2026-11-30", "--owner", "boris",
                   "--assigned-by", "anna").strip()
    tasks = json.loads(folder.ok("task", "list", "--format", "json"))
    assert [t["id"] for t in tasks] == [t1] and tasks[0]["status"] == "planned" and tasks[0]["date"] == "2026-11-30"
    folder.ok("task", "done", t1)
    assert folder.ok("task", "list", "--ids") == ""
    acts = json.loads(folder.ok("activity", "list", "--client", cid, "-f", "json"))
    assert {a["id"] for a in acts} == {a1, t1}
    call = next(a for a in acts if a["id"] == a1)
    assert call == {"id": a1, "client": cid, "type": "call", "status": "done", "date": "2026-11-27",
                    "minutes": 15, "comment": "Обсудили абонемент", "next": "2026-12-05"}
    assert folder.ok("activity", "list", "--type", "task", "--ids").split() == [t1]
    card = json.loads(folder.ok("client", "show", cid, "-f", "json"))
    assert [a["id"] for a in card["activities"]][0] in (a1, t1)


def test_stakeholder_plan_and_fact(folder):
    sid = folder.ok("stakeholder", "add", "Отель «Берёзовая роща»", "--status", "partner", "--group", "Партнёры",
                    "--goal", "Спа-меню в отеле", "--target-date", "2027-03-01", "--owner", "anna").strip()
    folder.ok("stakeholder", "plan", sid, "Презентация", "--plan", "2026-12-10", "--responsible", "boris",
              "--resource", "буклеты")
    folder.ok("stakeholder", "plan", sid, "Договор", "--plan", "2027-01-20")
    folder.ok("stakeholder", "fact", sid, "презент", "--date", "2026-12-09")
    folder.fails(1, "stakeholder", "fact", sid, "Нет такого")
    folder.fails(1, "stakeholder", "add", "X", "--status", "enemy")
    rec = json.loads(folder.ok("stakeholder", "show", sid, "-f", "json"))
    assert rec["actions"] == [
        {"name": "Презентация", "plan": "2026-12-10", "fact": "2026-12-09", "responsible": "boris",
         "resource": "буклеты"},
        {"name": "Договор", "plan": "2027-01-20", "fact": None, "responsible": None, "resource": None}] \
        or rec["actions"][0]["fact"] == "2026-12-09"


def test_edit_keeps_a_hand_written_file(folder):
    path = folder.root / "clients" / "acme.yaml"
    original = ("\ufeff# Acme, written by hand\r\n"
                "name: 'Acme Ltd'   # the legal name\r\n"
                "legacy_code: A-17\r\n"
                "phones: ['0123', +7 912 000-00-00]\r\n"
                "tags:\r\n"
                "  - vip      # since 2019\r\n"
                "  - spa\r\n"
                "country: NO\r\n")
    path.write_bytes(original.encode("utf-8"))
    folder.ok("client", "edit", "acme", "--add-tag", "new", "--owner", "anna")
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff# Acme, written by hand\r\n")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    assert "name: 'Acme Ltd'   # the legal name\r\n" in text
    assert "legacy_code: A-17\r\n" in text and "country: NO\r\n" in text
    assert "phones: ['0123', +7 912 000-00-00]\r\n" in text
    assert "  - vip      # since 2019\r\n  - spa\r\n  - new\r\n" in text
    assert "owner: anna\r\n" in text
    shown = json.loads(folder.ok("client", "show", "acme", "-f", "json"))
    assert shown["tags"] == ["vip", "spa", "new"] and shown["country"] == "NO"
    # unknown keys are warnings: exit 0, and 1 with --strict
    r = folder("check")
    assert r.code == 0 and "clients/acme.yaml:4" in r.err and "legacy_code" in r.err
    assert folder("check", "--strict").code == 1


def test_edit_refuses_a_broken_file_and_leaves_it(folder):
    path = folder.root / "clients" / "acme.yaml"
    path.write_text("name: Acme\nname: Other\n", encoding="utf-8")
    before = path.read_bytes()
    r = folder.fails(1, "client", "edit", "acme", "--tag", "x")
    assert "clients/acme.yaml:2" in r.err and "duplicate key" in r.err
    assert path.read_bytes() == before


def test_rm_refuses_while_referred_to(folder):
    cid = folder.ok("client", "add", "Acme").strip()
    did = folder.ok("deal", "add", cid, "Deal").strip()
    r = folder.fails(1, "client", "rm", cid)
    assert did in r.err
    folder.ok("deal", "rm", did)
    folder.ok("client", "rm", cid)
    assert folder.ok("client", "list", "--ids") == ""


def test_lists_filter_and_format(example):
    ids = example.ok("client", "list", "--tag", "vip", "--ids").split()
    assert ids and all(i.count("-") >= 1 for i in ids)
    objs = json.loads(example.ok("client", "list", "--tag", "vip", "-f", "json"))
    assert [o["id"] for o in objs] == ids and all("vip" in o["tags"] for o in objs)
    assert all(o["status"] in ("prospect", "customer", "former") for o in objs)
    customers = json.loads(example.ok("client", "list", "--status", "customer", "-f", "json"))
    assert customers and all(o["status"] == "customer" for o in customers)
    persons = example.ok("client", "list", "--where", "kind=person", "--ids").split()
    orgs = example.ok("client", "list", "--where", "kind=organization", "--ids").split()
    assert not set(persons) & set(orgs)
    csv_out = example.ok("client", "list", "-f", "csv")
    assert csv_out.splitlines()[0].startswith("id,name")
    y = yaml.safe_load(example.ok("client", "list", "-f", "yaml"))
    assert isinstance(y, list) and len(y) == len(example.ok("client", "list", "--ids").split())
    example.fails(1, "client", "list", "--status", "vip")
    example.fails(2, "client", "list", "--format", "xml")
    table = example.ok("client", "list")
    assert "\x1b[" not in table and "│" not in table and "┃" not in table


def test_find_is_case_and_yo_insensitive(example):
    hits = example.ok("find", "ФЁДОРОВА", "--ids").split()
    assert hits
    same = example.ok("find", "федорова", "--ids").split()
    assert same == hits
    objs = json.loads(example.ok("find", "ромашка", "-f", "json"))
    assert any(o["type"] == "client" for o in objs)


def test_check_reports_every_problem_with_lines(folder):
    c = folder.root / "clients"
    (c / "good.yaml").write_text("name: Good\n", encoding="utf-8")
    (c / "dup.yaml").write_text("name: A\nname: B\n", encoding="utf-8")
    (c / "conflict.yaml").write_text("name: A\n<<<<<<< HEAD\nowner: anna\n=======\nowner: boris\n>>>>>>> x\n")
    (c / "badowner.yaml").write_text("name: A\nowner: zed\nbirthday: 1990-02-30\n", encoding="utf-8")
    (c / "wrongid.yaml").write_text("id: other\nname: W\n", encoding="utf-8")
    (c / "noname.yaml").write_text("kind: person\n", encoding="utf-8")
    (c / "tagged.yaml").write_text("name: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    (c / ".hidden.yaml").write_text("garbage: [\n", encoding="utf-8")
    (c / "sub").mkdir()
    (c / "sub" / "good.yaml").write_text("name: Twin\n", encoding="utf-8")
    d = folder.root / "deals"
    d.mkdir(exist_ok=True)
    (d / "d1.yaml").write_text("title: T\nclient: ghost\nstage: won\nhistory:\n- stage: lead\n  date: 2026-02-01\n"
                               "- stage: proposal\n  date: 2026-01-01\n", encoding="utf-8")
    before = tree_digest(folder.root)
    r = folder("check")
    assert r.code == 1 and "Traceback" not in r.err
    err = r.err
    for expected in ("clients/dup.yaml:2:", "clients/conflict.yaml:2:", "clients/badowner.yaml:2:",
                     "clients/badowner.yaml:3:", "clients/wrongid.yaml:1:", "clients/noname.yaml:",
                     "clients/tagged.yaml:1:", "deals/d1.yaml:2:", "deals/d1.yaml:3:", "deals/d1.yaml:8:",
                     "good"):
        assert expected in err, (expected, err)
    assert ".hidden" not in err
    assert tree_digest(folder.root) == before  # check never writes


def test_list_prints_valid_records_and_names_broken_files(folder):
    folder.ok("client", "add", "Good One")
    (folder.root / "clients" / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    r = folder("client", "list", "--ids")
    assert r.code == 1 and r.out.strip().startswith("good-one-")
    assert "clients/broken.yaml:" in r.err and r.err.startswith("error:")


def test_no_folder_and_init_refusals(tmp_path):
    r = run_crm("client", "list", cwd=tmp_path, env=clean_env())
    assert r.code == 1 and "crm init" in r.err
    r = run_crm("init", tmp_path / "new", env=clean_env())
    assert r.code == 0 and (tmp_path / "new" / "crm.yaml").is_file()
    assert ".crm/" in (tmp_path / "new" / ".gitignore").read_text()
    before = tree_digest(tmp_path / "new")
    r = run_crm("init", tmp_path / "new", env=clean_env())
    assert r.code == 1 and tree_digest(tmp_path / "new") == before
    # discovery: the nearest crm.yaml above the working directory, then CRM_DIR
    sub = tmp_path / "new" / "clients"
    assert run_crm("client", "add", "Here", cwd=sub, env=clean_env()).code == 0
    assert run_crm("client", "list", "--ids", cwd=tmp_path, env=clean_env(CRM_DIR=str(tmp_path / "new"))).out


def test_version_help_and_pipes(folder):
    r = run_crm("--version")
    assert r.code == 0 and r.out.startswith("crm ")
    r = run_crm("--help")
    assert r.code == 0 and "client" in r.out and "─" not in r.out
    # a closed pipe is quiet
    import subprocess
    for _ in range(3):
        folder.ok("client", "add", "Pipe Test")
    p = subprocess.run(f"'{run_crm.__globals__['CRM']}' --dir '{folder.root}' client list | head -1",
                       shell=True, capture_output=True, text=True, env=clean_env())
    assert "Traceback" not in p.stderr and "Broken pipe" not in p.stderr


def test_bad_today_is_a_usage_error(folder):
    r = folder("--today", "yesterday", "client", "add", "X")
    assert r.code == 2 and r.err.startswith("error:")


def test_open_and_resolved_are_for_complaints_and_feedback(folder):
    cid = folder.ok("client", "add", "Acme").strip()
    folder.fails(1, "log", cid, "call", "x", "--status", "open")
    aid = folder.ok("log", cid, "complaint", "Опоздание", "--status", "open").strip()
    folder.ok("activity", "edit", aid, "--status", "resolved")
    call = folder.ok("log", cid, "call", "ok").strip()
    folder.fails(1, "activity", "edit", call, "--status", "resolved")
