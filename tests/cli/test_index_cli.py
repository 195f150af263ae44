"""Whole commands answer the same through the derived index as straight from
the files (CRM_NO_INDEX=1), after every kind of change: edits by hand that
keep the size, files added, removed and renamed, subfolders, a broken file,
the tool's own writes.  The stat work is forced into forked processes
(CRM_PARALLEL_STAT_MIN) so that path is exercised on the small example."""
from __future__ import annotations

import json
import os
import time

from tests.conftest import clean_env

COMMANDS = [
    ("report", "funnel", "-f", "json"),
    ("report", "retention", "-f", "json"),
    ("report", "managers", "-f", "json"),
    ("report", "sales", "--by", "owner", "-f", "json"),
    ("report", "funnel", "--owner", "anna", "-f", "json"),
    ("remind", "--days", "30", "-f", "json"),
    ("client", "list", "-f", "json"),
    ("deal", "list", "-f", "json"),
    ("find", "spa", "-f", "json"),
    ("check",),
]


def _same_answers(example, parallel: bool):
    env = clean_env(**({"CRM_PARALLEL_STAT_MIN": "1"} if parallel else {}))
    direct = clean_env(CRM_NO_INDEX="1")
    for cmd in COMMANDS:
        a = example(*cmd, env=env)
        b = example(*cmd, env=direct)
        assert (a.code, a.out, a.err) == (b.code, b.out, b.err), cmd


def _age(path):
    old = time.time() - 3600
    os.utime(path, (old, old))


def test_the_index_answers_as_the_files_do_after_every_kind_of_change(example):
    for parallel in (False, True):
        _same_answers(example, parallel)  # cold, then warm
        _same_answers(example, parallel)
    root = example.root
    deals = sorted((root / "deals").glob("*.yaml"))
    acts = sorted((root / "activities").rglob("*.yaml"))
    # an edit by hand that keeps the size and the mtime's second
    text = deals[0].read_text(encoding="utf-8")
    st = os.stat(deals[0])
    deals[0].write_text(text.replace("stage: ", "stage:\t", 1), encoding="utf-8")
    os.utime(deals[0], ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    _same_answers(example, True)
    # removed, renamed, added in a new subfolder, a broken file
    acts[1].unlink()
    acts[2].rename(acts[2].with_name("renamed-" + acts[2].name))
    (root / "activities" / "2030").mkdir()
    (root / "activities" / "2030" / "later.yaml").write_text(acts[3].read_text(encoding="utf-8"),
                                                             encoding="utf-8")
    (root / "deals" / "broken.yaml").write_text("title: [\n", encoding="utf-8")
    _same_answers(example, True)
    _same_answers(example, False)
    # the tool's own writes
    (root / "deals" / "broken.yaml").unlink()
    cid = example.ok("client", "list", "--ids").split()[0]
    example.ok("log", cid, "call", "через индекс")
    example.ok("client", "add", "Новый клиент")
    _same_answers(example, True)
    for p in root.rglob("*.yaml"):
        _age(p)
    _same_answers(example, True)
    _same_answers(example, True)


def test_an_owner_named_only_on_activities_is_known_to_report_managers(example):
    """managers reads activities as columns; --owner still knows the owners
    found on them (not only those of crm.yaml, clients and deals)."""
    cid = example.ok("client", "list", "--ids").split()[0]
    (example.root / "activities" / "ghost-call-zz01.yaml").write_text(
        f"client: {cid}\ntype: call\nstatus: done\ndate: 2026-11-02\nowner: ghost\n", encoding="utf-8")
    for env in (clean_env(CRM_PARALLEL_STAT_MIN="1"), clean_env(CRM_NO_INDEX="1"), clean_env()):
        r = example("report", "managers", "--owner", "ghost", "-f", "json", env=env)
        assert r.code == 0, r.err
        rows = {row["owner"]: row for row in json.loads(r.out)["rows"]}
        assert rows["ghost"]["activities_done"] == 1
