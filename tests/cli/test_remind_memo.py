"""``crm remind`` keeps what it took from the activities (each client's
latest done one, the planned ones) in .crm/memo-remind.bin for the next run,
and uses it only while the activities are exactly the index generation it
was worked out from and it holds for the day and the deals.  On a large
folder that spares a pass over a million activities; here CRM_MEMO_MIN=1
makes the small example keep one.  Every answer is compared with the files
read directly (CRM_NO_INDEX=1)."""
from __future__ import annotations

import json
import os
import pickle
import time

from tests.conftest import clean_env

MEMO = ("memo-remind.bin",)
ASKS = [
    ("remind", "-f", "json"),
    ("remind", "--days", "45", "-f", "json"),
    ("remind", "--days", "10", "--owner", "anna", "-f", "json"),
    ("--today", "2026-12-15", "remind", "--days", "5", "-f", "json"),
    ("--today", "2025-06-01", "remind", "-f", "json"),
    ("remind",),
]


def _env(**more):
    return clean_env(CRM_MEMO_MIN="1", CRM_TODAY="2026-11-27", **more)


def _memo(root):
    return root / ".crm" / MEMO[0]


def _wait_for_memo(root, old_mtime=None, timeout=60):
    """The memo is written after the command, by a process of its own."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with_memo = _memo(root)
        if with_memo.exists() and with_memo.stat().st_mtime_ns != old_mtime:
            time.sleep(0.2)   # (renamed into place whole; let the writer exit)
            return with_memo.stat().st_mtime_ns
        time.sleep(0.1)
    raise AssertionError("remind wrote no memo")


def _same(example, **env):
    for ask in ASKS:
        a = example(*ask, env=_env(**env))
        b = example(*ask, env=_env(CRM_NO_INDEX="1"))
        assert (a.code, a.out, a.err) == (b.code, b.out, b.err), ask


def _aged(path, seconds=3600):
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_remind_keeps_its_summary_of_the_activities_and_answers_as_the_files_do(example):
    root = example.root
    example.ok("remind", env=_env())            # builds the index (no memo: nothing was exactly an index yet)
    example.ok("remind", env=_env())            # works it out from this generation and keeps it
    stamp = _wait_for_memo(root)
    example.ok("remind", "--days", "45", env=_env())
    example.ok("remind", "-f", "json", env=_env(CRM_PARALLEL_STAT_MIN="1"))
    time.sleep(0.5)
    assert _memo(root).stat().st_mtime_ns == stamp   # used as it is, not written again
    _same(example)     # (another day works it out again, and keeps that)
    _same(example, CRM_PARALLEL_STAT_MIN="1")

    # an in-place edit by hand (size and mtime second kept): an old done
    # activity becomes its client's latest contact
    before = example.ok("remind", "--days", "45", "-f", "json", env=_env())
    acts = sorted((root / "activities").rglob("*.yaml"))
    done = next(p for p in acts if "status: done\ndate: 2024-" in p.read_text(encoding="utf-8"))
    text = done.read_text(encoding="utf-8")
    st = os.stat(done)
    at = text.index("date: 2024-")
    done.write_text(text[:at] + "date: 2026-11-20" + text[at + 16:], encoding="utf-8")
    os.utime(done, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert example.ok("remind", "--days", "45", "-f", "json", env=_env(CRM_NO_INDEX="1")) != before
    _same(example, CRM_PARALLEL_STAT_MIN="1")

    # a new done activity that names only a deal, then that deal moved to
    # another client: the activities did not change, the memo's clients did
    stamp = _wait_for_memo(root, None)
    deal = sorted((root / "deals").glob("*.yaml"))[0]
    new = root / "activities" / "call-only-a-deal-zz01.yaml"
    new.write_text(f"deal: {deal.stem}\ntype: call\nstatus: done\ndate: 2026-11-26\n"
                   "next: 2026-11-27\ncomment: через сделку\n", encoding="utf-8")
    _aged(new, 60)
    _same(example)
    example.ok("remind", env=_env())
    stamp = _wait_for_memo(root, stamp)
    other = json.loads(example.ok("client", "list", "-f", "json", env=_env()))[-1]["id"]
    deal_text = deal.read_text(encoding="utf-8")
    old_client = next(line for line in deal_text.splitlines() if line.startswith("client:"))
    deal.write_text(deal_text.replace(old_client, f"client: {other}", 1), encoding="utf-8")
    _aged(deal, 60)
    got = json.loads(example.ok("remind", "-f", "json", env=_env()))
    assert any(i["kind"] == "follow_up" and i["client"] == other and "через сделку" in i["text"] for i in got)
    _same(example)

    # a done activity dated after today, then a day when it counts
    (root / "activities" / "call-later-zz02.yaml").write_text(
        f"client: {other}\ntype: meeting\nstatus: done\ndate: 2026-12-03\nnext: 2026-12-04\n", encoding="utf-8")
    _aged(root / "activities" / "call-later-zz02.yaml", 60)
    example.ok("remind", env=_env())
    example.ok("remind", env=_env())
    _wait_for_memo(root, None)
    _same(example)

    # broken files of three types while a memo is expected: the problems are
    # told in the same order as when everything is read in one pass
    example.ok("remind", env=_env())
    _wait_for_memo(root, None)
    (root / "activities" / "broken-zz03.yaml").write_text("date: [\n", encoding="utf-8")
    (root / "deals" / "broken-zz04.yaml").write_text("title: [\n", encoding="utf-8")
    (root / "stakeholders" / "broken-zz05.yaml").write_text("name: [\n", encoding="utf-8")
    _same(example)
    _same(example, CRM_PARALLEL_STAT_MIN="1")

    # a memo that does not read, and none at all
    _memo(root).write_bytes(b"not a pickle")
    _same(example)
    _memo(root).unlink()
    _same(example)


def test_a_memo_is_used_only_while_the_activities_are_those_it_was_worked_out_from(example):
    """Shown by changing the memo by hand: while its token is the index's,
    remind says what the memo says; once an activity changes, it does not."""
    root = example.root
    example.ok("remind", env=_env())
    example.ok("remind", env=_env())
    _wait_for_memo(root)
    path = _memo(root)
    with open(path, "rb") as fh:
        key = pickle.load(fh)
        body = pickle.load(fh)
    assert key["token"] and body["planned"]
    aid, day, *rest = body["planned"][0]
    body["planned"][0] = (aid, day, rest[0], rest[1], rest[2], rest[3], "ПОДМЕНА", rest[5])
    with open(path, "wb") as fh:
        pickle.dump(key, fh)
        pickle.dump(body, fh)
    ask = ("remind", "--days", "3650", "-f", "json")
    assert any("ПОДМЕНА" in i["text"] for i in json.loads(example.ok(*ask, env=_env())))
    # the activity itself edited by hand: the index's generation is another
    target = next((root / "activities").rglob(f"{aid}.yaml"))
    with open(target, "a", encoding="utf-8") as fh:
        fh.write("# seen\n")
    _aged(target)
    out = json.loads(example.ok(*ask, env=_env()))
    assert not any("ПОДМЕНА" in i["text"] for i in out)
    assert out == json.loads(example.ok(*ask, env=_env(CRM_NO_INDEX="1")))
    # a memo of another generation, even with the index file's stamp, is not used
    key["token"] = "0" * 32
    with open(path, "wb") as fh:
        pickle.dump(key, fh)
        pickle.dump(body, fh)
    assert json.loads(example.ok(*ask, env=_env())) == out
