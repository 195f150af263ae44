"""The derived index in .crm/: never trusted over the files."""
from __future__ import annotations

import os
import shutil
import time

import pytest

from crmcli.cache import Index
from crmcli.store import Store
from tests.conftest import EXAMPLE


def _folder(tmp_path):
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".crm"))
    # make every file look old enough to be cached (not "racily clean")
    old = time.time() - 3600
    for p in root.rglob("*.yaml"):
        os.utime(p, (old, old))
    return root


def _load(root, kind):
    return Store(root).load(kind)


def _direct(root, kind):
    return Store(root).load_direct(kind)


def test_index_agrees_with_the_files_and_is_reused(tmp_path):
    root = _folder(tmp_path)
    for kind in ("client", "deal", "activity", "stakeholder", "competitor"):
        assert _load(root, kind) == _direct(root, kind)
    assert (root / ".crm" / "index-deal.bin").is_file()
    # warm: the same answer
    assert _load(root, "deal") == _direct(root, "deal")


def test_hand_edits_additions_and_removals_are_seen(tmp_path):
    root = _folder(tmp_path)
    _load(root, "client")
    clients = sorted((root / "clients").glob("*.yaml"))
    # an in-place edit that keeps the size and the mtime's second
    target = clients[0]
    text = target.read_text(encoding="utf-8")
    st = os.stat(target)
    new = text.replace("name: ", "name: X", 1)[:-1] if text.endswith("\n\n") else text.replace("name: ", "name: X", 1)
    target.write_text(new, encoding="utf-8")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    (clients[1]).unlink()
    (root / "clients" / "newbie.yaml").write_text("name: Newbie\n", encoding="utf-8")
    recs, problems = _load(root, "client")
    assert (recs, problems) == _direct(root, "client")
    names = {r["name"] for r in recs}
    assert "Newbie" in names and any(n.startswith("X") for n in names)
    assert clients[1].stem not in {r["id"] for r in recs}


def test_a_broken_file_is_a_problem_through_the_index(tmp_path):
    root = _folder(tmp_path)
    _load(root, "deal")
    bad = root / "deals" / "broken.yaml"
    bad.write_text("title: [\n", encoding="utf-8")
    recs, problems = _load(root, "deal")
    assert any(p.path == "deals/broken.yaml" for p in problems)
    recs2, problems2 = _load(root, "deal")
    assert [p.path for p in problems2] == [p.path for p in problems]


def test_config_change_and_damaged_or_deleted_index(tmp_path):
    root = _folder(tmp_path)
    _load(root, "client")
    idx = root / ".crm" / "index-client.bin"
    idx.write_bytes(b"garbage")
    assert _load(root, "client") == _direct(root, "client")
    shutil.rmtree(root / ".crm")
    assert _load(root, "client") == _direct(root, "client")
    # crm.yaml declares a type for a custom field: records are typed again
    cfg = root / "crm.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("age: {type: integer}", "age: {type: text}"),
                   encoding="utf-8")
    assert _load(root, "client") == _direct(root, "client")


def test_parallel_cold_build_matches_direct_reading(tmp_path, monkeypatch):
    import crmcli.cache as cache
    root = _folder(tmp_path)
    monkeypatch.setattr(cache, "PARALLEL_PARSE_MIN", 10)
    assert Index(Store(root)).load("activity") == _direct(root, "activity")


def test_related_records_through_the_side_index_see_every_change(tmp_path):
    root = _folder(tmp_path)
    st = Store(root)
    deals, _ = st.load_direct("deal")
    cid = deals[0]["client"]
    want = sorted(d["id"] for d in deals if d["client"] == cid)
    Store(root).load("deal")  # builds the index and its side index
    assert [d["id"] for d in Store(root).related("deal", cid)[0]] == want
    # a hand edit moves another client's deal to this client
    other = next(d for d in deals if d["client"] != cid)
    path = next((root / "deals").rglob(f"{other['id']}.yaml"))
    path.write_text(path.read_text(encoding="utf-8").replace(f"client: {other['client']}", f"client: {cid}"),
                    encoding="utf-8")
    got = [d["id"] for d in Store(root).related("deal", cid)[0]]
    assert got == sorted(want + [other["id"]])


@pytest.mark.parametrize("forked", [False, True])
def test_a_clients_deals_and_activities_in_one_stat_see_every_change(tmp_path, monkeypatch, forked):
    if forked:
        monkeypatch.setenv("CRM_PARALLEL_STAT_MIN", "1")
    root = _folder(tmp_path)

    def expected(cid):
        deals, deal_problems = _direct(root, "deal")
        mine = [d for d in deals if d.get("client") == cid]
        ids = {d["id"] for d in mine}
        acts, act_problems = _direct(root, "activity")
        return ((mine, deal_problems),
                ([a for a in acts if a.get("client") == cid or a.get("deal") in ids], act_problems))

    deals, _ = _direct(root, "deal")
    cid = deals[0]["client"]
    assert Store(root).client_related(cid) == expected(cid)     # the index is built
    assert Store(root).client_related(cid) == expected(cid)     # and used
    # by hand: another client's deal moves to this one (its activities follow
    # it), an activity of this client is removed, and a deal file breaks
    other = next(d for d in deals if d["client"] != cid)
    path = next((root / "deals").rglob(f"{other['id']}.yaml"))
    _edit(path, f"client: {other['client']}", f"client: {cid}")
    acts, _ = _direct(root, "activity")
    gone = next(a for a in acts if a.get("client") == cid)
    next((root / "activities").rglob(f"{gone['id']}.yaml")).unlink()
    broken = next(p for p in sorted((root / "deals").rglob("*.yaml")) if p != path)
    broken.write_text("title: [unclosed\n", encoding="utf-8")
    _age(broken)
    got = Store(root).client_related(cid)
    assert got == expected(cid)
    assert other["id"] in {d["id"] for d in got[0][0]} and got[0][1]
    assert any(a.get("deal") == other["id"] for a in got[1][0]) or \
        not any(a.get("deal") == other["id"] for a in acts)
    monkeypatch.setenv("CRM_NO_INDEX", "1")
    assert Store(root).client_related(cid) == expected(cid)


def _age(path, seconds=3600):
    old = time.time() - seconds
    os.utime(path, (old, old))


def _edit(path, old, new):
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    _age(path)


def _generation(root, kind):
    index = Index(Store(root))
    return index._read_header(kind, index._config_key())[0]


def test_changes_append_rows_and_too_many_unused_rows_write_the_index_afresh(tmp_path, monkeypatch):
    import crmcli.cache as cache
    root = _folder(tmp_path)
    _load(root, "activity")
    first = _generation(root, "activity")
    n = len(first["order"])
    assert first["rows"] == n and len(first["pieces"]) == 1
    files = sorted((root / "activities").rglob("*.yaml"))
    for p in files[:3]:
        _edit(p, "comment: ", "comment: EDITED ")
    files[3].unlink()
    (root / "activities" / "new-one.yaml").write_text(files[4].read_text(encoding="utf-8"), encoding="utf-8")
    _age(root / "activities" / "new-one.yaml")
    assert _load(root, "activity") == _direct(root, "activity")
    second = _generation(root, "activity")
    # the old rows stay where they were (their piece copied as bytes); the
    # three edited files and the new one are four rows in a new piece
    assert second["rows"] == n + 4 and len(second["pieces"]) == 2
    assert second["pieces"][0] == first["pieces"][0]
    assert len(second["order"]) == n
    # the next run uses it as it is
    assert _load(root, "activity") == _direct(root, "activity")
    assert _generation(root, "activity")["rows"] == n + 4
    # past COMPACT_MIN rows no longer used, the index is written afresh
    monkeypatch.setattr(cache, "COMPACT_MIN", 3)
    for p in files[5:120]:
        _edit(p, "comment: ", "comment: MORE ")
    assert _load(root, "activity") == _direct(root, "activity")
    third = _generation(root, "activity")
    assert third["rows"] == len(third["order"]) == n and len(third["pieces"]) == 1
    assert sum("MORE" in (r.get("comment") or "") for r in _load(root, "activity")[0]) > 20


# A command run as its own process whose fresh write waits 5 s, so a test can
# tell whether the command waited for it: every index counts as large, and
# a tenth of the rows unused is enough to write it afresh.
_SLOW_COMPACT = """
import sys, time
import crmcli.cache as c
c.COMPACT_MIN = 1
c.DETACH_MIN = 1
compact = c.Index.compact
def slow(self, kind):
    import os
    if hasattr(os, "sched_getscheduler"):   # where it runs: told to the test
        with open(os.environ["CRM_TEST_POLICY"], "w") as fh:
            fh.write(f"{os.sched_getscheduler(0)} {os.getpid()} {os.getsid(0)}")
    time.sleep(5)
    compact(self, kind)
c.Index.compact = slow
from crmcli.cli import main
main()
"""


def test_a_large_index_is_written_afresh_after_the_command_by_a_process_of_its_own(tmp_path):
    import json
    import subprocess
    import sys

    from tests.conftest import clean_env
    root = _folder(tmp_path)
    cmd = ["--dir", str(root), "remind", "--days", "60", "-f", "json"]

    policy = tmp_path / "policy"

    def run(**env):
        return subprocess.run([sys.executable, "-c", _SLOW_COMPACT, *cmd], capture_output=True, text=True,
                              env=clean_env(CRM_TEST_POLICY=str(policy), **env), timeout=120)
    assert run().returncode == 0   # the index is built (at once: there is none yet)
    first = _generation(root, "activity")
    files = sorted((root / "activities").rglob("*.yaml"))
    for p in files[::3]:  # as a person would: a line added at the end
        with open(p, "a", encoding="utf-8") as fh:
            fh.write("# seen\n")
        _age(p)
    t0 = time.monotonic()
    got = run()
    took = time.monotonic() - t0
    want = run(CRM_NO_INDEX="1")
    assert got.returncode == want.returncode == 0 and got.stderr == want.stderr == ""
    assert json.loads(got.stdout) == json.loads(want.stdout)
    # neither the exit nor the end of the output waited for the fresh write
    assert took < 4, took
    # meanwhile: the command's own generation, its edited rows appended
    second = _generation(root, "activity")
    assert second["rows"] == first["rows"] + len(files[::3]) and len(second["dead"]) == len(files[::3])
    # then the index is written afresh, without the unused rows
    deadline = time.monotonic() + 60
    while len(_generation(root, "activity")["dead"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    third = _generation(root, "activity")
    assert len(third["dead"]) == 0 and third["rows"] == len(third["order"]) == first["rows"]
    assert not list((root / ".crm").glob(".*.tmp"))
    assert _load(root, "activity") == _direct(root, "activity")
    assert json.loads(run().stdout) == json.loads(want.stdout)
    if hasattr(os, "SCHED_IDLE"):   # it ran in a session of its own, only on idle cores
        sched, pid, sid = map(int, policy.read_text().split())
        assert sched == os.SCHED_IDLE and sid == pid


def test_a_fresh_write_after_the_command_leaves_a_newer_index_alone(tmp_path, monkeypatch):
    import crmcli.cache as cache
    root = _folder(tmp_path)
    _load(root, "activity")
    monkeypatch.setattr(cache, "COMPACT_MIN", 10**9)   # the edits below are appended
    files = sorted((root / "activities").rglob("*.yaml"))
    for p in files[:25]:   # past a tenth of the rows
        with open(p, "a", encoding="utf-8") as fh:
            fh.write("# seen\n")
        _age(p)
    _load(root, "activity")
    target = root / ".crm" / "index-activity.bin"
    appended = target.read_bytes()
    assert len(_generation(root, "activity")["dead"]) == 25
    newer = root / ".crm" / "newer"
    real = cache._piece_columns

    def meanwhile(*args, **kw):  # another crm process renames its generation into place
        if not newer.exists():
            newer.write_bytes(appended)
            os.replace(newer, target)
        return real(*args, **kw)
    monkeypatch.setattr(cache, "_piece_columns", meanwhile)
    monkeypatch.setattr(cache, "COMPACT_MIN", 1)
    Index(Store(root)).compact("activity")
    assert len(_generation(root, "activity")["dead"]) == 25    # not replaced by the fresh write
    assert not list((root / ".crm").glob(".*.tmp"))
    monkeypatch.setattr(cache, "_piece_columns", real)
    Index(Store(root)).compact("activity")                      # with nobody else writing: it is
    assert len(_generation(root, "activity")["dead"]) == 0
    ino = os.stat(target).st_ino
    Index(Store(root)).compact("activity")                      # and once is enough
    assert os.stat(target).st_ino == ino
    assert _load(root, "activity") == _direct(root, "activity")


def _same_tick(path):
    """Give ``path`` an mtime that is not before the clock the index takes
    next, as an edit in the very tick of the index's stat would have."""
    ahead = time.time() + 3600
    os.utime(path, (ahead, ahead))


def test_an_edit_within_the_clock_resolution_is_read_again(tmp_path):
    root = _folder(tmp_path)
    _load(root, "client")
    target = sorted((root / "clients").glob("*.yaml"))[0]
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("name: ", "name: A", 1), encoding="utf-8")
    _same_tick(target)
    st = os.stat(target)
    assert _load(root, "client") == _direct(root, "client")
    # edited again in that tick: same size, same mtime, same inode; only
    # "too recent to trust" when the index was written tells
    target.write_text(text.replace("name: ", "name: B", 1), encoding="utf-8")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(target).st_size == st.st_size and os.stat(target).st_ino == st.st_ino
    recs, _ = _load(root, "client")
    assert recs == _direct(root, "client")[0]
    assert any(r["name"].startswith("B") for r in recs)


def test_an_edit_just_before_the_index_is_trusted_once_older_than_its_clock(tmp_path):
    """git's rule, not a fixed delay: a file changed before the index took the
    file system's clock is stored with its key, and not read again."""
    import array

    import crmcli.cache as cache
    root = _folder(tmp_path)
    target = sorted((root / "clients").glob("*.yaml"))[0]
    target.write_text(target.read_text(encoding="utf-8").replace("name: ", "name: C", 1), encoding="utf-8")
    back = time.time() - 1   # before the clock, whatever its resolution here
    os.utime(target, (back, back))
    _load(root, "client")
    raw = array.array("q", _generation(root, "client")["keys"])
    assert cache.RACY_KEY[0] not in raw[0::3]  # no key stored as "read again"
    assert _load(root, "client") == _direct(root, "client")


def _pure_keys(top, groups, monkeypatch):
    import crmcli.cache as cache
    with monkeypatch.context() as m:
        m.setenv("CRM_PURE_STAT", "1")
        assert cache._statkeys() is None
        return cache._stat_range(top, groups, 0, sum(len(n) for _, n in groups))


def test_the_c_stat_helper_gives_the_keys_of_the_python_loop(tmp_path, monkeypatch):
    import crmcli.cache as cache
    fast = cache._statkeys()
    if fast is None:
        pytest.skip("crmcli._statkeys is not built here (no C compiler at install)")
    top = tmp_path / "t"
    (top / "sub").mkdir(parents=True)
    (top / "plain.yaml").write_text("name: A\n", encoding="utf-8")
    (top / "Ромашка.yaml").write_text("name: Ромашка\n", encoding="utf-8")
    (top / "sub" / "deep.yaml").write_text("x: 1\n" * 100, encoding="utf-8")
    os.symlink("plain.yaml", top / "link.yaml")           # not a regular file: NO_KEY
    (top / "dir.yaml").mkdir()                            # nor is a folder
    odd = os.fsencode(str(top)) + b"/\xff\xfe.yaml"      # a name that is not UTF-8
    with open(odd, "wb") as fh:
        fh.write(b"name: odd\n")
    os.utime(top / "plain.yaml", ns=(1, 1_700_000_000_123_456_789))
    names = sorted(os.listdir(top)) + ["gone.yaml"]       # listed, then removed
    groups = [("", names), ("sub/", ["deep.yaml", "missing.yaml"])]
    keys = cache._stat_range(str(top), groups, 0, len(names) + 2)
    assert keys == _pure_keys(str(top), groups, monkeypatch)
    by_name = dict(zip(names + ["sub/deep.yaml", "sub/missing.yaml"], zip(*[iter(keys)] * 3)))
    st = os.lstat(top / "plain.yaml")
    assert by_name["plain.yaml"] == (1_700_000_000_123_456_789, st.st_size, st.st_ino)
    assert by_name[os.fsdecode(b"\xff\xfe.yaml")][1] == len(b"name: odd\n")
    assert by_name["sub/deep.yaml"][1] == 500
    for name in ("link.yaml", "dir.yaml", "gone.yaml", "sub/missing.yaml"):
        assert by_name[name] == cache.NO_KEY
    # a part of the names, as a stat process takes its share
    assert cache._stat_range(str(top), groups, 2, len(names) + 1) == keys[6:3 * (len(names) + 1)]
    # and the example's activities, through the forked stat job
    root = _folder(tmp_path)
    acts = str(root / "activities")
    agroups, _ = cache.listing(acts, time.time_ns())
    one = cache._stat_range(acts, agroups, 0, sum(len(n) for _, n in agroups))
    assert one == _pure_keys(acts, agroups, monkeypatch)
    monkeypatch.setattr(cache, "PARALLEL_STAT_MIN", 1)
    assert cache._StatJob([(acts, agroups, None, None)]).results() == [(False, one, {})]
    fd = os.open(str(top), os.O_RDONLY)
    try:
        with pytest.raises(TypeError):
            fast(fd, [b"plain.yaml"])
        with pytest.raises(ValueError):
            fast(fd, ["pl\0ain.yaml"])
    finally:
        os.close(fd)


def test_the_c_stat_helper_is_built_where_a_compiler_is():
    """An install with a C compiler and Python's headers builds it (CI has
    both): else the test above would skip and prove nothing."""
    import shutil
    import sysconfig
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = os.path.join(sysconfig.get_paths()["include"], "Python.h")
    if os.name != "posix" or shutil.which(compiler) is None or not os.path.exists(headers):
        pytest.skip("no C compiler or no Python headers here")
    import crmcli.cache as cache
    assert cache._statkeys() is not None, "crmcli._statkeys was not built: reinstall with pip install -e ."


def test_parallel_stat_gives_the_keys_of_one_process(tmp_path, monkeypatch):
    import crmcli.cache as cache
    root = _folder(tmp_path)
    top = str(root / "activities")
    groups, _ = cache.listing(top, time.time_ns())
    assert any(sub for sub, _ in groups)  # a subfolder (activities/2024/) is listed
    total = sum(len(n) for _, n in groups)
    one = cache._stat_range(top, groups, 0, total)
    assert len(one) == 3 * total
    monkeypatch.setattr(cache, "PARALLEL_STAT_MIN", 1)
    assert cache._StatJob([(top, groups, None, None)]).results() == [(False, one, {})]
    assert cache._StatJob([(top, groups, one.tobytes(), None)]).results() == [(True, one, {})]
    # two types at once, split across the processes anywhere
    clients = str(root / "clients")
    cgroups, _ = cache.listing(clients, time.time_ns())
    ckeys = cache._stat_range(clients, cgroups, 0, sum(len(n) for _, n in cgroups))
    assert cache._StatJob([(clients, cgroups, None, None), (top, groups, one.tobytes(), None)]).results() \
        == [(False, ckeys, {}), (True, one, {})]
    # a changed file is found and parsed by the process that stat'ed it
    st = Store(root)
    parse = Index(st)._parse_paths("activity")
    path = groups[0][0] + groups[0][1][0]
    target = root / "activities" / path
    target.write_text(target.read_text(encoding="utf-8") + "result: CHANGED\n", encoding="utf-8")
    same, keys, parsed = cache._StatJob([(top, groups, one.tobytes(), parse)]).results()[0]
    assert not same and list(parsed) == [path]
    assert parsed[path][1] == st.read_file("activity", target.stem, target)[0]
    assert parsed[path][1]["result"] == "CHANGED"
    assert Index(Store(root)).load("activity") == _direct(root, "activity")
    assert Index(Store(root)).load("activity") == _direct(root, "activity")


def test_links_folders_and_dotfiles_named_yaml_are_not_records(tmp_path):
    root = _folder(tmp_path)
    clients = root / "clients"
    victim = sorted(clients.glob("*.yaml"))[0]
    (clients / "link.yaml").symlink_to(victim)
    (clients / "folder.yaml").mkdir()
    (clients / "folder.yaml" / "inner.yaml").write_text("name: Inner\n", encoding="utf-8")
    (clients / ".hidden.yaml").write_text("name: Hidden\n", encoding="utf-8")
    recs, problems = _load(root, "client")
    assert (recs, problems) == _direct(root, "client")
    ids = {r["id"] for r in recs}
    assert not ids & {"link", "folder", "inner", ".hidden", "hidden"}


def test_concurrent_crm_processes_keep_the_index_whole(tmp_path):
    """Readers that build and rewrite the index at once, while files change:
    afterwards the index still agrees with the files."""
    import subprocess
    import sys
    root = _folder(tmp_path)
    code = ("import sys; from pathlib import Path; from crmcli.store import Store\n"
            "for _ in range(5): Store(Path(sys.argv[1])).load('activity')\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root)]) for _ in range(4)]
    files = sorted((root / "activities").rglob("*.yaml"))
    for i, p in enumerate(files[:60]):
        _edit(p, "comment: ", f"comment: C{i} ")
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    assert _load(root, "activity") == _direct(root, "activity")


def _age_folders(root):
    old = time.time() - 3600
    for d in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        os.utime(d, (old, old))


def test_unchanged_folders_are_not_listed_again_and_changed_ones_are(tmp_path, monkeypatch):
    import crmcli.cache as cache
    root = _folder(tmp_path)
    _age_folders(root)
    _load(root, "activity")
    real_listdir = os.listdir
    listed = []

    def spy(path):
        listed.append(os.fspath(path))
        return real_listdir(path)
    monkeypatch.setattr(cache.os, "listdir", spy)
    assert _load(root, "activity") == _direct(root, "activity")
    assert listed == []  # the folders' mtimes held: the index's listing was used
    # a new file in a subfolder, and a new subfolder with a file
    sub = next(p for p in (root / "activities").iterdir() if p.is_dir())
    src = next((root / "activities").glob("*.yaml")).read_text(encoding="utf-8")
    (sub / "added-in-sub.yaml").write_text(src, encoding="utf-8")
    (root / "activities" / "2031").mkdir()
    (root / "activities" / "2031" / "added-new-sub.yaml").write_text(src, encoding="utf-8")
    recs, problems = _load(root, "activity")
    assert (recs, problems) == _direct(root, "activity")
    assert {"added-in-sub", "added-new-sub"} <= {r["id"] for r in recs}
    assert listed  # listed again


def test_recent_folder_changes_are_listed_until_they_are_old_enough(tmp_path):
    root = _folder(tmp_path)
    (root / "clients" / "fresh.yaml").write_text("name: Fresh\n", encoding="utf-8")
    _same_tick(root / "clients")
    _load(root, "client")

    def stamps():
        index = Index(Store(root))
        return index._read_header("client", index._config_key())[0]["stamps"]
    assert all(m == -1 for _, m, _ in stamps())  # too recent to trust
    _age_folders(root)
    _age(root / "clients" / "fresh.yaml")
    assert _load(root, "client") == _direct(root, "client")
    assert all(m != -1 for _, m, _ in stamps())  # stamped now, the records kept
    assert _load(root, "client") == _direct(root, "client")


def test_every_type_at_once_with_empty_and_missing_folders(tmp_path):
    root = _folder(tmp_path)
    shutil.rmtree(root / "competitors")
    (root / "competitors").mkdir()
    shutil.rmtree(root / "stakeholders")
    for _ in range(2):  # cold, then warm
        data, problems = Store(root).load_all()
        assert data.competitors == [] and data.stakeholders == [] and problems == []
        for kind in ("client", "deal", "activity"):
            assert (data.of(kind), []) == _direct(root, kind)


def test_kill_9_while_the_index_is_built_or_patched_leaves_it_usable(tmp_path):
    """crm processes killed at random moments of building, patching and
    rewriting the index: the next reader gets what the files say."""
    import random
    import subprocess
    import sys
    root = _folder(tmp_path)
    rng = random.Random(11)
    code = ("import sys; from pathlib import Path; from crmcli.store import Store\n"
            "Store(Path(sys.argv[1])).load_all()\n")
    files = sorted((root / "activities").rglob("*.yaml"))
    for i in range(12):
        if i % 4 == 0:
            shutil.rmtree(root / ".crm", ignore_errors=True)
        for p in rng.sample(files, 3):
            p.write_text(p.read_text(encoding="utf-8") + f"# edit {i}\n", encoding="utf-8")
            _age(p, rng.choice([3600, 0]))
        proc = subprocess.Popen([sys.executable, "-c", code, str(root)])
        time.sleep(rng.uniform(0.05, 0.6))
        proc.kill()
        proc.wait()
        for kind in ("client", "deal", "activity"):
            assert _load(root, kind) == _direct(root, kind), f"round {i}, {kind}"


def test_in_place_edits_keep_the_listing_and_the_order(tmp_path):
    """Edits in place (the same files): the new rows take the old rows'
    places in the listing and in the id order; problems move with them."""
    root = _folder(tmp_path)
    _load(root, "deal")
    first = _generation(root, "deal")
    files = sorted((root / "deals").glob("*.yaml"))
    files[0].write_text(files[0].read_text(encoding="utf-8") + "surprise: kept\n", encoding="utf-8")
    _age(files[0])
    files[1].write_text("title: [\n", encoding="utf-8")   # broken now
    _age(files[1])
    for _ in range(2):
        assert _load(root, "deal") == _direct(root, "deal")
    second = _generation(root, "deal")
    assert second["rows"] == first["rows"] + 2
    assert second["listing"] == first["listing"] and len(second["order"]) == len(first["order"])
    assert len(second["problems"]) == len(first["problems"]) + 2   # a warning and an error
    files[1].write_text("title: Fixed\nclient: nobody\n", encoding="utf-8")
    _age(files[1])
    assert _load(root, "deal") == _direct(root, "deal")


# --- columns: a few fields of every record, without a dict per record --------

FIELDS = ("status", "date", "client", "deal", "comment", "next", "missing_field")


def _columns(root, kind="activity", fields=FIELDS):
    """The index's columns as sorted rows (their order is not defined)."""
    names = ("id",) + fields
    cols, problems = Index(Store(root)).load_many([kind], {kind: names})[kind]
    assert all(len(cols[name]) == len(cols) for name in names)
    return sorted(zip(*(cols[name] for name in names))), problems


def _columns_direct(root, kind="activity", fields=FIELDS):
    from crmcli.records import Columns, derived
    recs, problems = _direct(root, kind)
    cols = Columns.of_records(recs, ("id",) + fields, derived(kind, Store(root).config))
    return sorted(zip(*(cols[name] for name in ("id",) + fields))), problems


def test_columns_agree_with_the_files_through_every_kind_of_change(tmp_path, monkeypatch):
    import crmcli.cache as cache
    root = _folder(tmp_path)
    assert _columns(root) == _columns_direct(root)            # cold
    assert _columns(root) == _columns_direct(root)            # warm
    files = sorted((root / "activities").rglob("*.yaml"))
    # in place: the loaded columns are patched (rows dropped, new ones added)
    for p in files[:3]:
        _edit(p, "comment: ", "comment: EDITED ")
    files[3].write_text("date: [\n", encoding="utf-8")       # broken
    _age(files[3])
    for _ in range(2):  # the new generation has unused rows; then it is clean
        cols, problems = _columns(root)
        assert (cols, problems) == _columns_direct(root)
        assert sum("EDITED" in (row[5] or "") for row in cols) == 3
        assert [p.path for p in problems if p.severity == "error"] == [f"activities/{files[3].relative_to(root / 'activities')}"]
    assert len(_generation(root, "activity")["dead"]) == 4
    # the names change: a removal, a new file in a new subfolder, a fixed file
    files[4].unlink()
    (root / "activities" / "2031").mkdir()
    (root / "activities" / "2031" / "later.yaml").write_text(files[5].read_text(encoding="utf-8"),
                                                             encoding="utf-8")
    _age(root / "activities" / "2031" / "later.yaml")
    files[3].write_text("type: call\ndate: 2026-01-02\nclient: nobody\n", encoding="utf-8")
    _age(files[3])
    assert _columns(root) == _columns_direct(root)
    assert _columns(root) == _columns_direct(root)
    # written afresh past COMPACT_MIN unused rows: no unused row left
    monkeypatch.setattr(cache, "COMPACT_MIN", 3)
    for p in files[6:100]:
        _edit(p, "comment: ", "comment: MORE ")
    assert _columns(root) == _columns_direct(root)
    assert len(_generation(root, "activity")["dead"]) == 0
    assert _columns(root) == _columns_direct(root)


def test_columns_with_the_stat_in_other_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_PARALLEL_STAT_MIN", "1")
    root = _folder(tmp_path)
    assert _columns(root) == _columns_direct(root)
    files = sorted((root / "activities").rglob("*.yaml"))
    _edit(files[0], "comment: ", "comment: EDITED ")
    assert _columns(root) == _columns_direct(root)
    deal_fields = ("stage", "amount", "@created", "@closed", "@won_on")
    assert _columns(root, "deal", deal_fields) == _columns_direct(root, "deal", deal_fields)
    deals = sorted((root / "deals").glob("*.yaml"))
    _edit(deals[0], "stage: ", "stage: won\nold_stage: ")
    won = _columns(root, "deal", deal_fields)
    assert won == _columns_direct(root, "deal", deal_fields)
    assert any(row[0] == deals[0].stem and row[1] == "won" and row[4] is not None for row in won[0])
    # the derived dates follow crm.yaml: another lost stage, other close dates
    cfg = root / "crm.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("lost_stage: lost", "lost_stage: negotiation"),
                   encoding="utf-8")
    again = _columns(root, "deal", deal_fields)
    assert again == _columns_direct(root, "deal", deal_fields) and again != won


def test_an_answer_worked_out_on_the_index_is_kept_only_when_no_file_changed(tmp_path, monkeypatch):
    """Store.answer works the answer out on the index while the files are
    checked; a change found by the check means it is worked out again."""
    monkeypatch.setenv("CRM_PARALLEL_STAT_MIN", "1")
    root = _folder(tmp_path)
    seen = []

    def work(data, problems):
        cols = data.columns["activity"]
        comments = sorted(c for c in cols["comment"] if c)
        seen.append(comments)
        return comments, len(data.clients)

    kinds, columns = ("client", "activity"), {"activity": ("comment",)}
    Store(root).answer(kinds, work, columns)            # cold: no index to guess from
    seen.clear()
    first = Store(root).answer(kinds, work, columns)
    assert len(seen) == 1                               # warm: once, on the index as it was
    files = sorted((root / "activities").rglob("*.yaml"))
    _edit(files[0], "comment: ", "comment: ZZZ-EDITED ")
    seen.clear()
    second = Store(root).answer(kinds, work, columns)
    # on the files as they are; on the index too unless the stat process
    # had already told the change (test_a_stat_process_tells_the_first_change_at_once)
    assert 1 <= len(seen) <= 2
    assert any("ZZZ-EDITED" in c for c in second[0]) and second != first
    assert first[1] == second[1] == len(_direct(root, "client")[0])
    # a guess that fails is worked out again (and fails again on the files)
    def failing(data, problems):
        seen.append("failed")
        raise ValueError("no")
    seen.clear()
    with pytest.raises(ValueError):
        Store(root).answer(kinds, failing, columns)
    assert seen == ["failed", "failed"]


def test_a_stat_process_tells_the_first_change_at_once(tmp_path, monkeypatch):
    """So that a command does not work its answer out on an index that a
    stat process already knows to be stale (Store.answer)."""
    import crmcli.cache as cache
    monkeypatch.setenv("CRM_PARALLEL_STAT_MIN", "1")
    monkeypatch.setattr(cache, "EARLY_CHUNK", 8)
    root = _folder(tmp_path)
    assert _load(root, "activity") == _direct(root, "activity")
    index = Index(Store(root))

    def job():
        plan = index._plan("activity", index._config_key(), index._horizon())
        return cache._StatJob([(plan.top, plan.groups, plan.header["keys"], None)])

    unchanged = job()
    time.sleep(0.5)                       # the stat processes are done by now
    assert not unchanged.changed()
    assert unchanged.results()[0][0]      # as in the index
    files = sorted((root / "activities").rglob("*.yaml"))
    _edit(files[-1], "comment: ", "comment: EDITED ")
    changed = job()
    deadline = time.monotonic() + 10
    while not changed.changed():
        assert time.monotonic() < deadline, "no stat process told the change"
        time.sleep(0.01)
    assert not changed.results()[0][0]


def test_a_stat_process_that_tells_a_change_late_still_sends_its_work(tmp_path, monkeypatch):
    """The parent may wait for the results before a stat process has told
    its first change: the telling must not fail the process (whose parsed
    files would then be lost and its share stat'ed again)."""
    import crmcli.cache as cache
    monkeypatch.setenv("CRM_PARALLEL_STAT_MIN", "1")
    root = _folder(tmp_path)
    assert _load(root, "activity") == _direct(root, "activity")
    files = sorted((root / "activities").rglob("*.yaml"))
    _edit(files[-1], "comment: ", "comment: LATE ")
    slow = cache._stat_range

    def late(*args):
        time.sleep(0.3)   # in the stat processes: the parent is waiting by now
        return slow(*args)
    monkeypatch.setattr(cache, "_stat_range", late)
    index = Index(Store(root))
    plan = index._plan("activity", index._config_key(), index._horizon())
    job = cache._StatJob([(plan.top, plan.groups, plan.header["keys"], index._parse_paths("activity"))])
    same, _, parsed = job.results()[0]
    path = str(files[-1].relative_to(root / "activities"))
    assert not same and list(parsed) == [path]


def _garble_pieces(path):
    """Damage the pieces of an index file and keep its header readable."""
    import crmcli.cache as cache
    data = bytearray(path.read_bytes())
    where = int.from_bytes(data[len(cache.MAGIC):len(cache.MAGIC) + 8], "big")
    for i in range(len(cache.MAGIC) + 8, where, 7):
        data[i] = (data[i] * 7 + 13) % 256
    path.write_bytes(bytes(data))


def test_an_index_with_damaged_pieces_is_built_again(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_PARALLEL_STAT_MIN", "1")
    root = _folder(tmp_path)
    kinds = ("client", "deal", "activity")
    columns = {"activity": ("id", "status", "date", "client")}
    expected = {kind: _direct(root, kind) for kind in kinds}

    def check():
        loaded = Index(Store(root)).load_many(list(kinds), columns)
        assert loaded["client"] == expected["client"] and loaded["deal"] == expected["deal"]
        assert _columns(root, "activity", ("status", "date", "client")) \
            == _columns_direct(root, "activity", ("status", "date", "client"))
        cols = loaded["activity"][0]
        assert sorted(cols["id"]) == sorted(r["id"] for r in expected["activity"][0])
        cid = expected["client"][0][0]["id"]
        assert Index(Store(root)).related("deal", cid) == \
            ([d for d in expected["deal"][0] if d.get("client") == cid], expected["deal"][1])
        entries = Index(Store(root)).entries("client")
        assert {e[1]["id"]: e[1] for e in entries if e[1]} == {r["id"]: r for r in expected["client"][0]}

    check()                                   # built
    for kind in kinds:                        # damaged, the names unchanged: loaded while the stat runs
        _garble_pieces(root / ".crm" / f"index-{kind}.bin")
    check()
    check()                                   # and whole again
    for kind in kinds:                        # damaged, and a file added: read after the stat
        _garble_pieces(root / ".crm" / f"index-{kind}.bin")
    new = root / "clients" / "zz-new-client.yaml"
    new.write_text("name: Новый\n", encoding="utf-8")
    _age(new)
    expected["client"] = _direct(root, "client")
    check()
    for kind in ("client", "deal"):           # entries and related read the pieces last
        _garble_pieces(root / ".crm" / f"index-{kind}.bin")
    entries = Index(Store(root)).entries("client")
    assert {e[1]["id"]: e[1] for e in entries if e[1]} == {r["id"]: r for r in expected["client"][0]}
    cid = expected["client"][0][0]["id"]
    assert Index(Store(root)).related("deal", cid)[0] == [d for d in expected["deal"][0] if d.get("client") == cid]


@pytest.mark.parametrize("count", [0, 1, 2, 3, 10, 97])
def test_names_split_lazily_are_the_names(count):
    import random

    from crmcli.cache import _Names
    names = [f"{i}-имя.yaml" for i in range(count)]
    rng = random.Random(count)
    for _ in range(40):
        lazy = _Names("\0".join(names))
        assert len(lazy) == count
        for _ in range(3):   # a share split first, then slices in and out of it
            lo = rng.randint(0, count)
            hi = rng.randint(lo, count)
            lazy.cover(lo, hi)
            a = rng.randint(0, count)
            b = rng.randint(a, count)
            assert lazy[a:b] == names[a:b] and lazy[lo:hi] == names[lo:hi]
        assert list(lazy) == names and lazy[:] == names


@pytest.mark.parametrize("forked", [False, True])
def test_the_entries_of_every_kind_from_one_stat(tmp_path, monkeypatch, forked):
    from crmcli.schema import KINDS
    if forked:
        monkeypatch.setenv("CRM_PARALLEL_STAT_MIN", "1")
    root = _folder(tmp_path)

    def expected():
        monkeypatch.setenv("CRM_NO_INDEX", "1")
        st = Store(root)
        out = {kind: ({rid for rid, _ in st.scan(kind)}, st.entries(kind)) for kind in KINDS}
        monkeypatch.delenv("CRM_NO_INDEX")
        return out

    def got():
        ids, entries = Store(root).entries_many(KINDS)
        return {kind: (ids[kind], entries(kind)) for kind in KINDS}

    assert got() == expected()        # the index is built
    assert got() == expected()        # and used
    deal = sorted((root / "deals").glob("*.yaml"))[0]
    deal.write_text("title: [unclosed\n", encoding="utf-8")
    _age(deal)
    (root / "clients" / "sub").mkdir()
    (root / "clients" / "sub" / "new-one.yaml").write_text("name: Новый\nowner: ghost\n", encoding="utf-8")
    _age(root / "clients" / "sub" / "new-one.yaml")
    sorted((root / "activities").rglob("*.yaml"))[0].unlink()
    assert got() == expected()
    assert "new-one" in got()["client"][0]


@pytest.mark.parametrize("one_by_one", [True, False])
def test_files_added_and_removed_keep_the_rows_in_id_order(tmp_path, monkeypatch, one_by_one):
    import crmcli.cache as cache
    if not one_by_one:   # past INSERT_MAX the order is sorted afresh
        monkeypatch.setattr(cache, "INSERT_MAX", 1)
    root = _folder(tmp_path)
    _load(root, "client")
    clients = sorted((root / "clients").glob("*.yaml"))
    text = clients[0].read_text(encoding="utf-8")
    (root / "clients" / "2020").mkdir()
    for name in ("0000-first.yaml", "zzzz-last.yaml", f"{clients[3].stem}-b.yaml", "2020/mmm-middle.yaml"):
        (root / "clients" / name).write_text(text, encoding="utf-8")
        _age(root / "clients" / name)
    clients[5].unlink()
    _edit(clients[7], "name: ", "name: Edited ")
    for _ in range(2):   # read afresh, then through the new generation
        recs, problems = _load(root, "client")
        assert (recs, problems) == _direct(root, "client")
    ids = [r["id"] for r in recs]
    assert ids == sorted(ids) and {"0000-first", "zzzz-last", "mmm-middle"} <= set(ids)
    header = _generation(root, "client")
    assert len(header["order"]) == len(ids) and len(header["dead"]) == 2   # the removed and the edited


def test_names_aligned_after_some_were_added_and_removed():
    import random

    from crmcli.cache import _aligned
    rng = random.Random(7)
    for _ in range(600):
        old = [f"f{i}.yaml" for i in range(rng.choice([0, 1, 3, 40, 2500]))]
        new = list(old)
        shuffled = rng.random() < 0.2
        for _ in range(rng.randint(0, 10)):
            if new and rng.random() < 0.45:
                del new[rng.randrange(len(new))]
            elif shuffled and new:
                x, y = rng.randrange(len(new)), rng.randrange(len(new))
                new[x], new[y] = new[y], new[x]
            else:
                new.insert(rng.randint(0, len(new)), f"new-{rng.randrange(10 ** 9)}.yaml")
        want = [old.index(name) if name in old else len(old) for name in new]
        got = _aligned(old, new)
        if got is None:   # (then matched by hash)
            continue
        # never another file's place; at worst a file taken as new (read again)
        assert len(got) == len(new)
        assert all(g == w or g == len(old) for g, w in zip(got, want))
        if not shuffled and len(old) > 100:
            assert sum(g != w for g, w in zip(got, want)) <= 8
    # one file added, one removed, a million names: every other one found
    old = [f"a-{i:07d}.yaml" for i in range(1_000_000)]
    new = old[:400_000] + ["new.yaml"] + old[400_000:700_000] + old[700_001:]
    got = _aligned(old, [name + "" for name in new])
    assert got == list(range(400_000)) + [len(old)] + list(range(400_000, 700_000)) + \
        list(range(700_001, 1_000_000))


def test_the_leftovers_of_killed_index_writers_are_removed(tmp_path):
    import subprocess
    import sys
    root = _folder(tmp_path)
    _load(root, "client")
    crm_dir = root / ".crm"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    dead = crm_dir / f".index-activity.bin.{gone}.tmp"          # its writer was killed
    busy = crm_dir / f".index-deal.bin.{os.getppid()}.tmp"      # a live writer's
    old = crm_dir / f".index-client.bin.{os.getppid()}.tmp"     # untouched for two hours
    other = crm_dir / "notes.tmp"                               # not an index's
    for p in (dead, busy, old, other):
        p.write_bytes(b"x" * 1000)
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    _edit(sorted((root / "clients").glob("*.yaml"))[0], "name: ", "name: X")
    assert _load(root, "client") == _direct(root, "client")    # writes a new generation
    assert not dead.exists() and not old.exists()
    assert busy.exists() and other.exists()
