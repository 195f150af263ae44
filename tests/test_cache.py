"""The derived index in .crm/: never trusted over the files."""
from __future__ import annotations

import os
import shutil
import time

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
    assert (root / ".crm" / "index-deal.pickle").is_file()
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
    idx = root / ".crm" / "index-client.pickle"
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
