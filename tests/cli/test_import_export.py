"""crm import / crm export through the installed ``crm``: round trips, real
devices' vCards, other programs' CSV, all-or-nothing, dry runs, re-runs."""
import csv
import io
import json
import shutil
from pathlib import Path


from crmcli.store import Store
from tests.conftest import Crm, run_crm, tree_digest

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "exchange"
ORDER = ("competitor", "client", "deal", "stakeholder", "activity")   # references point backwards


def records(root: Path) -> dict:
    st = Store(root)
    out = {}
    for kind in ORDER:
        recs, problems = st.load(kind)
        assert problems == [], problems
        out[kind] = recs
    return out


def empty_like(tmp_path: Path, source: Path, name: str = "copy") -> Crm:
    """A new `crm init` folder with the settings (owners, fields, stages) of another."""
    root = tmp_path / name
    assert run_crm("init", root).code == 0
    shutil.copy(source / "crm.yaml", root / "crm.yaml")
    return Crm(root)


TRICKY = ("client", "add", "=СУММ(A1:A2)", "--tag", "a; b", "--tag", "-1", "--phone", "+7 903 000-00-00",
          "--email", "@odd@example.com", "--set", "notes=Первая строка\n\tвторая, «третья»",
          "--set", "fields.loyalty_card='=1+2")


def test_csv_round_trip_of_every_type_into_an_empty_folder(example, tmp_path):
    # every write fsyncs twice; 40 activities of the 216 keep this test quick
    for path in sorted((example.root / "activities").rglob("*.yaml"))[40:]:
        path.unlink()
    # values that try the format: Cyrillic, lines, formula-looking text, the list separator
    example.ok(*TRICKY)
    before = records(example.root)
    target = empty_like(tmp_path, example.root)
    for kind in ORDER:
        example.ok("export", kind, "--out", tmp_path / f"{kind}.csv")
        r = target("import", kind, tmp_path / f"{kind}.csv")
        assert r.code == 0, r
    assert records(target.root) == before
    # importing the same files again writes nothing
    digest = tree_digest(target.root)
    for kind in ("client", "activity"):
        r = target("import", kind, tmp_path / f"{kind}.csv")
        assert r.code == 0 and r.out == "" and " 0 created, 0 updated" in r.err, r
    assert tree_digest(target.root) == digest


def test_json_round_trip_of_every_type_into_an_empty_folder(example, tmp_path, monkeypatch):
    """The same through the library (no process per command): export -f json,
    then import, for every type, all 216 activities included."""
    import os
    from datetime import date

    from crmcli import exchange, render
    example.ok(*TRICKY)
    before = records(example.root)
    text = example.ok("export", "client", "-f", "json")
    assert json.loads(text) == json.loads(example.ok("client", "list", "-f", "json"))   # the same objects
    target = empty_like(tmp_path, example.root)
    monkeypatch.setattr(os, "fsync", lambda fd: None)   # durability is not what this test is about
    src, dst = Store(example.root), Store(target.root)
    for kind in ORDER:
        recs, _ = src.load(kind)
        data = render.to_json(exchange.records_to_objects(recs)).encode()
        rows, problems = exchange.read_rows(data, "json", kind, f"{kind}.json")
        actions, more = exchange.plan_import(kind, rows, exchange.Snapshot.load(dst, kind, date(2026, 11, 27)),
                                             f"{kind}.json")
        assert not [p for p in problems + more if p.severity == "error"]
        exchange.apply_actions(dst, actions)
    assert records(target.root) == before


def test_csv_export_is_safe_in_a_spreadsheet_and_reads_back(folder):
    folder.ok("client", "add", '=HYPERLINK("http://x.example","go")', "--phone", "+7 903", "--tag", "@x",
              "--set", "notes=-1 day")
    folder.ok("client", "add", "'=already quoted")
    text = folder.ok("export", "client")
    rows = list(csv.DictReader(io.StringIO(text)))
    cells = [c for r in rows for c in r.values()]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    by_name = {r["name"]: r for r in rows}
    assert "'=HYPERLINK(\"http://x.example\",\"go\")" in by_name
    assert "''=already quoted" in by_name
    row = by_name["'=HYPERLINK(\"http://x.example\",\"go\")"]
    assert (row["phones"], row["tags"], row["notes"], row["status"]) == ("'+7 903", "'@x", "'-1 day", "prospect")
    before = records(folder.root)["client"]
    (folder.root.parent / "c.csv").write_text(text, encoding="utf-8")
    for path in folder.root.joinpath("clients").iterdir():
        path.unlink()
    folder.ok("import", "client", folder.root.parent / "c.csv")
    assert records(folder.root)["client"] == before


def test_bad_row_writes_nothing_and_names_its_line(folder, tmp_path):
    folder.ok("client", "add", "Existing")
    digest = tree_digest(folder.root)
    shutil.copy(FIX / "bad-row.csv", tmp_path / "bad-row.csv")
    r = folder.fails(1, "import", "client", "bad-row.csv", cwd=tmp_path)
    assert r.err.splitlines()[:3] == [
        "error: bad-row.csv:4: birthday: '1985-13-01' is not a valid date",
        "error: bad-row.csv:4: owner: unknown owner 'nobody' (hint: owners are the keys of crm.yaml owners:)",
        "error: 2 problems in bad-row.csv; nothing was written"]
    assert r.out == ""
    assert tree_digest(folder.root) == digest


def test_dry_run_writes_nothing_and_says_what_it_would_do(folder, tmp_path):
    digest = tree_digest(folder.root)
    r = folder("import", "client", FIX / "google-contacts.csv", "--dry-run")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert [ln.split(" ", 3)[:2] for ln in lines] == [["would", "create"]] * 4
    assert any(ln.endswith(": Мария Иванова") for ln in lines)
    assert any("Фитнес-клуб «Атлант» [organization of line 2]" in ln for ln in lines)
    assert "4 to create, 0 to update, 0 unchanged; dry run, nothing was written" in r.err
    assert tree_digest(folder.root) == digest


def test_google_contacts_import_then_again_then_a_changed_export(folder, tmp_path):
    r = folder("import", "client", FIX / "google-contacts.csv")
    assert r.code == 0 and "4 created" in r.err, r
    shown = json.loads(folder.ok("client", "show", "мария иванова", "-f", "json"))
    assert shown["emails"] == ["maria.ivanova@example.ru", "m.ivanova@atlant.example"]
    assert shown["phones"] == ["+7 903 111-22-33", "0123 456"] and shown["tags"] == ["VIP", "Массаж"]
    assert shown["birthday"] == "1998-07-30" and shown["kind"] == "person"
    assert shown["address"] == "ул. Ленина, 1\nНижний Новгород\n603000\nРоссия"
    org = json.loads(folder.ok("client", "show", shown["org"], "-f", "json"))
    assert org["name"] == "Фитнес-клуб «Атлант»" and org["kind"] == "organization"
    digest = tree_digest(folder.root)
    r = folder("import", "client", FIX / "google-contacts.csv")
    assert r.code == 0 and "0 created, 0 updated, 3 unchanged" in r.err, r
    assert tree_digest(folder.root) == digest
    # a later export from the phone with one more e-mail: matched by e-mail, the list grows
    text = (FIX / "google-contacts.csv").read_text(encoding="utf-8").replace(
        "maria.ivanova@example.ru ::: m.ivanova@atlant.example", "maria.ivanova@example.ru ::: new@example.ru")
    (tmp_path / "g2.csv").write_text(text, encoding="utf-8")
    r = folder("import", "client", tmp_path / "g2.csv")
    assert r.code == 0 and r.out == f"updated client {shown['id']}: Мария Иванова (emails)\n", r
    emails = json.loads(folder.ok("client", "show", shown["id"], "-f", "json"))["emails"]
    assert emails == ["maria.ivanova@example.ru", "m.ivanova@atlant.example", "new@example.ru"]


def test_outlook_csv_with_map(folder):
    r = folder("import", "client", FIX / "outlook.csv", "--map", "Job Title=fields.position", "--map", "Title=-")
    assert r.code == 0 and "warning" not in r.err, r
    laura = json.loads(folder.ok("client", "show", "Laura Bianchi", "-f", "json"))
    assert laura["birthday"] == "1990-02-03" and laura["fields"] == {"position": "Owner"}
    assert laura["address"] == "Via Roma 1\nMilano, 20121\nItaly" and laura["tags"] == ["VIP", "Expo"]
    r = folder.fails(1, "import", "client", FIX / "outlook.csv", "--map", "Job Title=position")
    assert "'position' is not a field of a client" in r.err


def test_vcards_of_real_devices_import_and_reimport_without_duplicates(folder):
    for name in ("android-2.1.vcf", "apple-3.0.vcf", "v4.0.vcf"):
        r = folder("import", "client", FIX / name)
        assert r.code == 0, r
    clients = {c["name"]: c for c in records(folder.root)["client"]}
    assert sorted(clients) == sorted([
        "Иван Петрович Иванов", "Ольга Смирнова", "Smith, John", "ООО «Ромашка»", "Анна Сергеевна Петрова",
        "Студия «Лотос»", "Michael Brown", "Jane Doe", "Acme Inc.", "Ørjan Ødegård"])
    ivan = clients["Иван Петрович Иванов"]
    assert str(ivan["birthday"]) == "1990-02-03" and ivan["kind"] == "person"
    assert ivan["notes"] == "Любит зелёный чай.\nПерезвонить после 18:00, спросить про абонемент."
    # ORG made one organization for both people of the Android file; Apple's company card is matched
    assert ivan["org"] == clients["Ольга Смирнова"]["org"] == clients["ООО «Ромашка»"]["id"]
    assert clients["Анна Сергеевна Петрова"]["org"] == clients["Студия «Лотос»"]["id"]
    assert clients["Jane Doe"]["org"] == clients["Acme Inc."]["id"] and "birthday" not in clients["Jane Doe"]
    digest = tree_digest(folder.root)
    for name in ("android-2.1.vcf", "apple-3.0.vcf", "v4.0.vcf"):
        r = folder("import", "client", FIX / name)
        assert r.code == 0 and r.out == "" and " 0 created, 0 updated" in r.err, r
    assert tree_digest(folder.root) == digest


def test_vcard_export_round_trip(example, tmp_path):
    out = tmp_path / "clients.vcf"
    example.ok("export", "client", "-f", "vcard", "-o", out)
    data = out.read_bytes()
    assert data.startswith(b"BEGIN:VCARD\r\nVERSION:3.0\r\n") and b"\r\nFN:" in data
    target = empty_like(tmp_path, example.root)
    target.ok("import", "client", out)
    carried = ("name", "kind", "org", "emails", "phones", "address", "tags", "birthday", "notes")
    mine = {c["id"]: {k: c.get(k) for k in carried} for c in records(example.root)["client"]}
    theirs = {c["id"]: {k: c.get(k) for k in carried} for c in records(target.root)["client"]}
    for c in mine.values():
        c["kind"] = c["kind"] or "organization"
    assert theirs == mine
    # and the file imported back where it came from changes nothing (matched by X-CRM-ID)
    digest = tree_digest(example.root)
    r = example("import", "client", out)
    assert r.code == 0 and r.out == "" and " 0 created, 0 updated" in r.err, r
    assert tree_digest(example.root) == digest


def test_an_interrupted_import_is_finished_by_running_it_again(folder, tmp_path):
    full = (FIX / "android-2.1.vcf").read_bytes()
    first_card = full[:full.index(b"END:VCARD\r\n") + len(b"END:VCARD\r\n")]
    (tmp_path / "part.vcf").write_bytes(first_card)                     # as if killed after one record
    folder.ok("import", "client", tmp_path / "part.vcf")
    assert len(list((folder.root / "clients").iterdir())) == 2                  # Иван and his organization
    r = folder("import", "client", FIX / "android-2.1.vcf")
    assert r.code == 0 and "2 created, 0 updated, 1 unchanged" in r.err, r
    assert len(list((folder.root / "clients").iterdir())) == 4


def test_update_keeps_a_hand_edited_file_and_empties_only_named_fields(folder, tmp_path):
    rid = folder.ok("client", "add", "Анна", "--email", "anna@x.ru", "--tag", "vip", "--owner", "anna").strip()
    path = folder.file("clients", rid)
    path.write_text("# записано вручную\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "u.csv").write_text(f"id,name,owner,tags\n{rid},Анна,boris,\n", encoding="utf-8")
    r = folder("import", "client", tmp_path / "u.csv")
    assert r.out == f"updated client {rid}: Анна (owner, tags)\n", r
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# записано вручную\nname: Анна\nowner: boris\nemails:\n- anna@x.ru\n")
    assert "tags" not in text


def test_deals_and_activities_by_name_and_their_errors(folder, tmp_path):
    client = folder.ok("client", "add", "ООО Ромашка").strip()
    (tmp_path / "d.csv").write_text(
        "title,client,amount,stage,owner\n"
        "Абонемент,ооо ромашка,1500.50,proposal,anna\n"
        "Второй,Нет такого,10,lost,anna\n", encoding="utf-8")
    r = folder.fails(1, "import", "deal", tmp_path / "d.csv")
    assert "d.csv:3: client: no client with id or name 'Нет такого'" in r.err
    (tmp_path / "d.csv").write_text("title,client,amount,stage,owner\nАбонемент,ооо ромашка,1500.50,proposal,anna\n",
                                    encoding="utf-8")
    folder.ok("import", "deal", tmp_path / "d.csv")
    deal = json.loads(folder.ok("deal", "list", "-f", "json"))[0]
    assert (deal["client"], deal["amount"], deal["stage"], deal["created"]) == (client, 1500.5, "proposal", "2026-11-27")
    (tmp_path / "a.json").write_text(json.dumps([
        {"client": "ООО Ромашка", "deal": deal["id"], "type": "call", "date": "2026-11-20T10:30",
         "comment": "Звонок\nдва"},
        {"client": client, "type": "dance", "status": "done"}], ensure_ascii=False, indent=1), encoding="utf-8")
    r = folder.fails(1, "import", "activity", tmp_path / "a.json")
    assert "a.json:9: type: unknown activity type 'dance'" in r.err
    assert list((folder.root / "activities").iterdir()) == []


def test_commands_refuse_what_they_cannot_do(folder, tmp_path):
    (tmp_path / "x.csv").write_text("title\nT\n", encoding="utf-8")
    assert folder("import", "deals", tmp_path / "x.vcf").code == 1                   # no such file
    assert folder("import", "widget", tmp_path / "x.csv").code == 2
    assert folder("import", "deal", tmp_path / "x.csv", "--map", "nonsense").code == 2
    assert folder("export", "deal", "-f", "vcard").code == 2
    r = folder.fails(1, "export", "client", "--out", folder.root / "clients" / "x.yaml")
    assert "inside the data folder" in r.err
    assert folder.ok("export", "competitor") == "id,name,website,strengths,weaknesses,prices,notes\n"
    assert folder.ok("export", "competitor", "-f", "json") == "[]\n"


def test_the_examples_of_the_docs_run(tmp_path):
    """Each `crm ...` line of docs/import-export.md's ```sh blocks, in order, from
    a folder laid out like the repository (data_example/ and the fixtures)."""
    import re
    import shlex
    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "data_example", tmp_path / "data_example", ignore=shutil.ignore_patterns(".crm"))
    shutil.copytree(FIX, tmp_path / "tests" / "fixtures" / "exchange")
    ran, in_sh = 0, False
    for n, line in enumerate((root / "docs" / "import-export.md").read_text(encoding="utf-8").splitlines(), 1):
        if line.strip().startswith("```"):
            in_sh = line.strip() == "```sh" if not in_sh else False
            continue
        if in_sh and line.startswith("crm "):
            m = re.search(r"#\s*exit\s+(\d+)\s*$", line)
            r = run_crm(*shlex.split(line, comments=True)[1:], cwd=tmp_path)
            assert r.code == (int(m.group(1)) if m else 0), (n, line, r)
            assert "Traceback" not in r.err
            ran += 1
    assert ran >= 10
