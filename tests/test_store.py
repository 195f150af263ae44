"""The store's safety rules, in process.

* every write is atomic: an I/O failure at any call leaves the old file or the
  new one, and no temporary file;
* nothing follows a symbolic link out of the folder;
* dotfiles, temporary and backup files are never records;
* a create never clobbers;
* a bad id is refused before any path is built from it;
* an update keeps the file's mode and refuses a file it cannot read.
"""
from __future__ import annotations

import errno
import os
import stat
from datetime import date
from pathlib import Path

import pytest

from crmcli import store as store_mod
from crmcli.errors import CrmError, DataError, NotFoundError
from crmcli.store import Store, atomic_write, init_folder

OLD = ("# Acme, hand-written\n"
       "name: Acme\n"
       "phones: ['0123']\n"
       "tags:\n"
       "- vip\n"
       "notes: |\n"
       "  " + "an old note line\n  " * 200 + "end\n")


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "crm"
    init_folder(r, "test")
    return r


@pytest.fixture
def st(root) -> Store:
    return Store(root)


def put(root: Path, kind_folder: str, rid: str, text: str | bytes) -> Path:
    p = root / kind_folder / f"{rid}.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return p


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def tree(top: Path) -> dict[str, bytes | str]:
    """Every file under ``top`` (links as their target) for before/after comparisons."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            rel = str(full.relative_to(top))
            if full.is_symlink():
                out[rel] = "-> " + os.readlink(full)
            elif full.is_file():
                out[rel] = full.read_bytes()
    return out


def add_tag(tag: str):
    def change(rec):
        rec["tags"] = [*rec.get("tags", []), tag]
        return rec
    return change


# ------------------------------------------------------------- N-th I/O failure

class Faults:
    """Make the N-th call of os.write/fsync/replace/link/unlink fail."""

    NAMES = ("write", "fsync", "replace", "link", "unlink")

    def __init__(self, mp: pytest.MonkeyPatch, fail_at: int, err: int = errno.EIO):
        self.calls = 0
        self.fired = False
        self.fail_at = fail_at
        self.err = err
        for name in self.NAMES:
            mp.setattr(os, name, self._wrap(getattr(os, name), name))

    def _wrap(self, real, name):
        def fake(*args, **kwargs):
            self.calls += 1
            if self.calls == self.fail_at:
                self.fired = True
                raise OSError(self.err, f"{os.strerror(self.err)} (injected in os.{name})")
            return real(*args, **kwargs)
        return fake


def warm(root: Path) -> Store:
    """A store whose settings are already read (and cached), so that the
    injected faults hit the record's write only."""
    s = Store(root)
    s.config
    return s


def _run_with_fault(monkeypatch, n, op):
    """Run ``op`` with the n-th I/O call failing; return (fired, calls, raised)."""
    raised = None
    with monkeypatch.context() as mp:
        faults = Faults(mp, n)
        try:
            op()
        except OSError as exc:
            raised = exc
    return faults.fired, faults.calls, raised


def test_update_nth_io_failure_leaves_old_or_new(root, st, monkeypatch):
    path = put(root, "clients", "acme", OLD)
    old = path.read_bytes()
    st.update("client", "acme", add_tag("new"))
    new = path.read_bytes()
    assert new != old and b"- new" in new
    seen = set()
    n = 0
    while True:
        n += 1
        path.write_bytes(old)
        fired, calls, raised = _run_with_fault(monkeypatch, n, lambda: warm(root).update("client", "acme", add_tag("new")))
        assert fired == (raised is not None), (n, raised)
        if raised is not None:
            assert raised.errno == errno.EIO
        now = path.read_bytes()
        assert now in (old, new), f"call {n}: torn file"
        seen.add("old" if now == old else "new")
        assert listing(root / "clients") == ["acme.yaml"], f"call {n}: temp file left"
        Store(root).get("client", "acme")  # reads back whole
        if not fired:
            break
        assert n < 50
    assert n >= 4, "expected at least write, fsync, replace and the folder's fsync"
    assert seen == {"old", "new"}


def test_create_nth_io_failure_leaves_nothing_or_the_whole_file(root, monkeypatch):
    put(root, "clients", "other", "name: Other\n")
    rec = {"name": "Acme ООО", "phones": ["0123"], "created": date(2026, 11, 27)}
    n = 0
    while True:
        n += 1
        target = root / "clients" / "acme-0001.yaml"
        if target.exists():
            target.unlink()
        s = warm(root)
        fired, calls, raised = _run_with_fault(monkeypatch, n, lambda: s.create("client", rec, rid="acme-0001"))
        assert fired == (raised is not None), (n, raised)
        names = listing(root / "clients")
        assert names in (["other.yaml"], ["acme-0001.yaml", "other.yaml"]), f"call {n}: {names}"
        if target.exists():
            got = Store(root).get("client", "acme-0001")
            assert got["name"] == "Acme ООО" and got["phones"] == ["0123"]
        if not fired:
            assert target.exists()
            break
        assert n < 50
    assert n >= 4


def test_atomic_write_nth_failure_over_an_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "f.yaml"
    old, new = b"name: old\n" * 1000, b"name: new\n" * 3000
    n = 0
    while True:
        n += 1
        path.write_bytes(old)
        fired, calls, raised = _run_with_fault(monkeypatch, n, lambda: atomic_write(path, new))
        assert path.read_bytes() in (old, new)
        assert listing(tmp_path) == ["f.yaml"]
        if not fired:
            assert path.read_bytes() == new
            break


def test_enospc_keeps_the_old_file(root, st, monkeypatch):
    path = put(root, "clients", "acme", OLD)
    st.config
    old = path.read_bytes()
    real_write = os.write
    state = {"n": 0}

    def short_then_full(fd, data):
        state["n"] += 1
        if state["n"] == 1:  # the disk takes half, then is full
            return real_write(fd, bytes(data)[: max(1, len(data) // 2)])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", short_then_full)
    with pytest.raises(OSError) as info:
        st.update("client", "acme", add_tag("x" * 5000))
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert path.read_bytes() == old
    assert listing(root / "clients") == ["acme.yaml"]


def test_enospc_on_create_leaves_nothing(root, st, monkeypatch):
    st.config
    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError):
        st.create("client", {"name": "Acme"})
    monkeypatch.undo()
    assert listing(root / "clients") == []


def test_lock_is_released_after_a_failed_write(root, monkeypatch):
    put(root, "clients", "acme", OLD)
    s = warm(root)
    with monkeypatch.context() as mp:
        Faults(mp, 1)
        with pytest.raises(OSError):
            s.update("client", "acme", add_tag("a"))
    s.update("client", "acme", add_tag("b"))  # would wait for the lock if it were still held
    assert s.get("client", "acme")["tags"] == ["vip", "b"]


# ------------------------------------------------------------- symbolic links

@pytest.fixture
def outside(tmp_path) -> Path:
    o = tmp_path / "outside"
    o.mkdir()
    (o / "secret.yaml").write_text("name: Secret Corp\nnotes: do not touch\n")
    (o / "inner.yaml").write_text("name: Inner\n")
    return o


def test_symlinked_record_is_not_listed_read_or_written(root, st, outside):
    clients = root / "clients"
    clients.mkdir(exist_ok=True)
    (clients / "evil.yaml").symlink_to(outside / "secret.yaml")
    (clients / "rel.yaml").symlink_to(Path("..") / ".." / "outside" / "secret.yaml")
    (clients / "sub").symlink_to(outside, target_is_directory=True)
    put(root, "clients", "real", "name: Real\n")
    before = tree(outside)

    assert st.ids("client") == ["real"]
    recs, problems = st.load("client")
    assert [r["id"] for r in recs] == ["real"] and problems == []
    for rid in ("evil", "rel", "secret", "inner"):
        assert st.find_file("client", rid) is None
        with pytest.raises(NotFoundError):
            st.get("client", rid)
        with pytest.raises(NotFoundError):
            st.update("client", rid, add_tag("x"))
        with pytest.raises(NotFoundError):
            st.delete("client", rid)
    for ref in ("evil", "Secret Corp", "Inner", "sub"):
        with pytest.raises(NotFoundError):
            st.resolve("client", ref)
    # a create under the link's name neither writes through it nor replaces it
    with pytest.raises(CrmError):
        st.create("client", {"name": "Evil"}, rid="evil")
    assert (clients / "evil.yaml").is_symlink()
    assert os.readlink(clients / "evil.yaml") == str(outside / "secret.yaml")
    assert tree(outside) == before


def test_symlinked_type_folder_is_refused(root, outside):
    clients = root / "clients"
    if clients.exists():
        clients.rmdir()
    clients.symlink_to(outside, target_is_directory=True)
    before = tree(outside)
    st = Store(root)
    try:
        ids = st.ids("client")
    except CrmError:
        ids = []
    assert ids == []
    with pytest.raises(CrmError):
        st.create("client", {"name": "Acme"})
    with pytest.raises(CrmError):
        st.get("client", "secret")
    with pytest.raises(CrmError):
        st.update("client", "secret", add_tag("x"))
    assert tree(outside) == before


def test_symlinked_crm_folder_is_not_written_through(root, outside):
    crm = root / ".crm"
    if crm.exists():
        for p in crm.iterdir():
            p.unlink()
        crm.rmdir()
    crm.symlink_to(outside, target_is_directory=True)
    before = tree(outside)
    st = Store(root)
    try:
        st.create("client", {"name": "Acme"})
    except (CrmError, OSError):
        pass
    assert tree(outside) == before, "the lock file was created outside the data folder"


def test_symlinked_lock_file_is_not_written_through(root, outside):
    (root / ".crm").mkdir(exist_ok=True)
    lock = root / ".crm" / "lock"
    if lock.exists():
        lock.unlink()
    lock.symlink_to(outside / "secret.yaml")
    before = tree(outside)
    try:
        Store(root).create("client", {"name": "Acme"})
    except (CrmError, OSError):
        pass
    assert tree(outside) == before


# ------------------------------------------------------------- not records

NOT_RECORDS = [".acme.yaml", ".acme.yaml.k3j2x9.tmp", ".x.yaml.tmp", "x.yaml~", "x.swp", ".x.yaml.swp",
               "x.yaml.swp", "x.yaml.swo", "#x.yaml#", "x.yaml.orig", "x.yaml.bak", "x.yaml.rej", "x.yml",
               "x.YAML", "x.json", "x", "4913", "x.yaml.tmp", "x.yaml.lock", "README", "x.yaml.1"]


def test_temp_backup_and_dotfiles_are_not_records(root, st):
    clients = root / "clients"
    for name in NOT_RECORDS:
        (clients / name).write_text("name: Ghost\n")
    (clients / ".#x.yaml").symlink_to("user@host.1234")  # an Emacs lock
    (clients / ".git").mkdir()
    (clients / ".git" / "g.yaml").write_text("name: Ghost\n")
    (clients / ".hidden").mkdir()
    (clients / ".hidden" / "h.yaml").write_text("name: Ghost\n")
    put(root, "clients", "real", "name: Real\n")
    put(root, "clients", "2026/nested", "name: Nested\n")  # a record in a subfolder is one

    assert sorted(st.ids("client")) == ["nested", "real"]
    recs, problems = st.load("client")
    assert sorted(r["name"] for r in recs) == ["Nested", "Real"]
    assert problems == []
    with pytest.raises(NotFoundError):
        st.resolve("client", "Ghost")
    for rid in ("acme", "x", "g", "h"):
        with pytest.raises(NotFoundError):
            st.get("client", rid)
    assert st.get("client", "nested")["name"] == "Nested"


def test_leftover_temp_file_does_not_block_a_write(root, st):
    put(root, "clients", "acme", OLD)
    stale = root / "clients" / ".acme.yaml.abcdef.tmp"
    stale.write_text("name: half writ")
    st.update("client", "acme", add_tag("n"))
    assert st.get("client", "acme")["tags"] == ["vip", "n"]
    assert stale.read_text() == "name: half writ"


# ------------------------------------------------------------- never clobber

def test_create_with_an_existing_id_is_refused(root, st):
    path = put(root, "clients", "acme-1234", OLD)
    with pytest.raises(CrmError) as info:
        st.create("client", {"name": "Acme"}, rid="acme-1234")
    assert "exists" in info.value.message
    assert path.read_text() == OLD
    assert listing(root / "clients") == ["acme-1234.yaml"]


def test_create_picks_another_id_on_collision(root, st, monkeypatch):
    path = put(root, "clients", "acme-aaaa", OLD)
    ids = iter(["acme-aaaa", "acme-aaaa", "acme-bbbb"])
    monkeypatch.setattr(store_mod, "new_id", lambda *a, **k: next(ids))
    rid = st.create("client", {"name": "Acme"})
    assert rid == "acme-bbbb"
    assert path.read_text() == OLD
    assert st.get("client", "acme-bbbb")["name"] == "Acme"
    assert listing(root / "clients") == ["acme-aaaa.yaml", "acme-bbbb.yaml"]


def test_create_does_not_clobber_a_record_in_a_subfolder(root, st):
    path = put(root, "clients", "2026/acme-1234", OLD)
    with pytest.raises(CrmError):
        st.create("client", {"name": "Acme"}, rid="acme-1234")
    assert path.read_text() == OLD
    assert not (root / "clients" / "acme-1234.yaml").exists()


def test_atomic_write_exclusive_never_clobbers(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_bytes(b"old\n")
    with pytest.raises(FileExistsError):
        atomic_write(path, b"new\n", exclusive=True)
    assert path.read_bytes() == b"old\n"
    assert listing(tmp_path) == ["a.yaml"]


# ------------------------------------------------------------- bad ids

BAD_IDS = ["..", ".", "../zzevil", "../../zzevil", "zz/evil", "zzdir/../evil", "/tmp/zzevil", "/zzevil",
           "ZZevil", "zzEvil", "zz evil", " zzevil", "zzevil ", "zzevil\n", "zzevil\x00", "-zzevil",
           ".zzevil", "_zzevil", "zz\\evil", "~zzevil", "zzevil.yaml/..", "zz" + "e" * 80, "zzév", "zzevil/",
           "zzevil\r", "zzevil\t", "zz\u2028evil"]


def test_bad_ids_are_refused_before_any_path_is_built(root, monkeypatch):
    put(root, "clients", "real", "name: Real\n")
    st = Store(root)
    st.config  # read crm.yaml before spying
    before = tree(root.parent)
    touched: list[str] = []

    def spy(real):
        def f(p, *a, **k):
            touched.append(os.fsdecode(p) if isinstance(p, (str, bytes, os.PathLike)) else str(p))
            return real(p, *a, **k)
        return f

    for name in ("open", "lstat", "stat", "scandir", "unlink", "mkdir"):
        monkeypatch.setattr(os, name, spy(getattr(os, name)))
    for bad in BAD_IDS:
        for call in (lambda: st.path_for("client", bad),
                     lambda: st.find_file("client", bad),
                     lambda: st.get("client", bad),
                     lambda: st.update("client", bad, add_tag("x")),
                     lambda: st.delete("client", bad),
                     lambda: st.create("client", {"name": "Evil"}, rid=bad)):
            with pytest.raises(CrmError) as info:
                call()
            assert not isinstance(info.value, NotFoundError), (bad, info.value.message)
            assert "valid" in info.value.message, (bad, info.value.message)
        with pytest.raises(CrmError):
            st.resolve("client", bad)
    monkeypatch.undo()
    leaked = [p for p in touched if "zz" in p.lower()]
    assert leaked == []

    def records(t):  # .crm/ (lock, caches) is derived and may change
        return {k: v for k, v in t.items() if not k.startswith("crm/.crm")}
    assert records(tree(root.parent)) == records(before)


def test_empty_id_is_refused(root, st):
    for call in (lambda: st.path_for("client", ""), lambda: st.get("client", ""),
                 lambda: st.update("client", "", add_tag("x")), lambda: st.delete("client", "")):
        with pytest.raises(CrmError):
            call()
    with pytest.raises(CrmError):
        st.resolve("client", "")
    assert listing(root / "clients") == []


def test_good_ids_are_accepted(root, st):
    for rid in ("a", "0", "acme-x3k9", "a.b_c-d", "a" * 80, "ivan.petrov_2"):
        st.create("client", {"name": "Ok"}, rid=rid)
        assert st.get("client", rid)["name"] == "Ok"


# ------------------------------------------------------------- updates

@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o664])
def test_update_keeps_the_file_mode(root, st, mode):
    path = put(root, "clients", "acme", OLD)
    os.chmod(path, mode)
    st.update("client", "acme", add_tag("n"))
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert st.get("client", "acme")["tags"] == ["vip", "n"]


def test_create_uses_the_umask(root, st):
    old = os.umask(0o027)
    try:
        rid = st.create("client", {"name": "Acme"})
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(root / "clients" / f"{rid}.yaml").st_mode) == 0o640


def test_update_keeps_the_hand_edited_rest(root, st):
    text = OLD.replace("\n", "\r\n")
    path = put(root, "clients", "acme", "\ufeff" + text)
    st.update("client", "acme", add_tag("new"))
    out = path.read_bytes().decode("utf-8")
    assert out == "\ufeff" + text.replace("- vip\r\n", "- vip\r\n- new\r\n")


@pytest.mark.parametrize("bad", [
    "name: Acme\n<<<<<<< HEAD\ntags: [a]\n=======\ntags: [b]\n>>>>>>> x\n",
    "name: Acme\nname: Other\n",
    "name: Acme\nbirthday: 2024-02-30\n",
    "name: Acme\ntags: !!python/object/apply:os.system ['true']\n",
    "- not a mapping\n",
    "",
    b"name: Acme\nnotes: caf\xe9\n",
])
def test_update_refuses_a_file_it_cannot_read(root, st, bad):
    path = put(root, "clients", "acme", bad)
    before = path.read_bytes()
    with pytest.raises(DataError) as info:
        st.update("client", "acme", add_tag("n"))
    assert info.value.path == "clients/acme.yaml"
    assert path.read_bytes() == before
    assert listing(root / "clients") == ["acme.yaml"]


@pytest.mark.parametrize("hand_edit", ["# a comment added by hand meanwhile\n",
                                       "owner_note: a key added by hand meanwhile\n"])
def test_update_refuses_when_the_file_changed_meanwhile(root, st, hand_edit):
    path = put(root, "clients", "acme", OLD)
    hand = OLD + hand_edit

    def change(rec):
        path.write_text(hand)  # a hand edit lands between read and write
        rec["tags"] = [*rec["tags"], "n"]
        return rec

    with pytest.raises(CrmError):
        st.update("client", "acme", change)
    assert path.read_text() == hand
    assert listing(root / "clients") == ["acme.yaml"]


def test_delete_removes_only_the_record(root, st):
    put(root, "clients", "acme", OLD)
    put(root, "clients", "other", "name: Other\n")
    st.delete("client", "acme")
    assert listing(root / "clients") == ["other.yaml"]
