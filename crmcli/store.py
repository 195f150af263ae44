"""The data folder: find it, list, read, create, update and delete records.

Every write is atomic (a temporary file in the same folder, fsynced, renamed
over) and happens under the folder's lock, so concurrent ``crm`` processes
never lose an update.  Nothing follows a symbolic link, and files or folders
whose names begin with ``.`` are never records.
"""
from __future__ import annotations

import contextlib
import errno
import operator
import os
import stat
import time
from pathlib import Path

from crmcli.config import Config, config_from_raw
from crmcli.errors import AmbiguousError, CrmError, DataError, LockError, NotFoundError, Problem
from crmcli.ids import check_id, fold, new_id
from crmcli.records import Dataset
from crmcli.schema import FOLDERS, KINDS, ORDER, TITLE_FIELD

CONFIG_NAME = "crm.yaml"
LOCK_TIMEOUT = float(os.environ.get("CRM_LOCK_TIMEOUT", "60"))


def find_root(explicit: str | None = None, cwd: str | None = None) -> Path:
    """``--dir`` > ``CRM_DIR`` > the nearest folder at or above cwd with crm.yaml."""
    chosen = explicit or os.environ.get("CRM_DIR")
    if chosen:
        root = Path(chosen).expanduser()
        if not (root / CONFIG_NAME).is_file():
            raise CrmError(f"{root} is not a crm data folder (no {CONFIG_NAME})",
                           hint=f"create one with: crm init {root}")
        return root.absolute()
    here = Path(cwd or os.getcwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise CrmError("no crm data folder here or above (no crm.yaml found)",
                   hint="create one with: crm init PATH, or point to one with --dir or CRM_DIR")


def work_tree(root) -> Path | None:
    """The top of the git work tree the folder is in, or None; found by
    looking for .git above it, so a plain folder starts no git process."""
    here = Path(os.path.abspath(root))
    for folder in (here, *here.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return None


def valid_records(read) -> tuple[list[dict], list[Problem]]:
    """From (record or None, problems) pairs: the records that read without
    an error, sorted by id, and the errors of the others."""
    records, problems = [], []
    for rec, probs in read:
        errors = [p for p in probs if p.severity == "error"] if probs else ()
        if errors:
            problems.extend(errors)
        elif rec is not None:
            records.append(rec)
    records.sort(key=_by_id)
    problems.sort(key=_by_place)
    return records, problems


def _dataset(kinds, columns, loaded) -> tuple[Dataset, list[Problem]]:
    """(Dataset, problems) of {kind: (records or Columns, problems)}."""
    data, problems = Dataset(), []
    for kind in kinds:
        recs, probs = loaded[kind]
        if kind in columns:
            data.columns[kind] = recs
        else:
            data.of(kind).extend(recs)
        problems.extend(probs)
    return data, problems


def _by_place(problem) -> tuple:
    return (problem.path, problem.line or 0)


_by_id = operator.itemgetter("id")


def _read_bytes(path) -> bytes:
    """At most 10 MiB + 1 bytes of a file (the reader refuses more), never
    through a symbolic link; plain reads of 64 KiB (a buffered read of the
    whole limit allocated 10 MiB per file)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        limit = 10 * 1024 * 1024 + 1
        chunks = []
        total = 0
        while total < limit:
            chunk = os.read(fd, min(65536, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, exclusive: bool = False, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically; with ``exclusive`` never clobber."""
    folder = path.parent
    fd, tmp = _temp_file(folder, path.name)
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            if mode is None:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _temp_file(folder: Path, name: str) -> tuple[int, str]:
    """A new private file ``.<name>.<random>.tmp`` beside the target (a dotfile,
    so never taken for a record), created exclusively."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")  # pragma: no cover


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._prefix = os.path.join(os.fspath(self.root), "")
        self._config: Config | None = None
        self.config_problems: list[Problem] = []
        self._lock_fd: int | None = None
        self._lock_depth = 0
        # what this process wrote: (action, kind, id, title, path); a git
        # folder commits them when the command ends (see crmcli.gitops)
        self.writes: list[tuple[str, str, str, str, Path]] = []

    # ------------------------------------------------------------ settings
    @property
    def config(self) -> Config:
        if self._config is None:
            raw, lines = self._config_raw()
            cfg, more = config_from_raw(raw, CONFIG_NAME, lines)
            self._config = cfg
            self.config_problems = more
        return self._config

    def _config_raw(self) -> tuple[dict | None, dict]:
        """crm.yaml as raw text values; a marshal copy in .crm/ keyed by the
        file's stat spares a single-record command the YAML import."""
        import marshal
        path = self.root / CONFIG_NAME
        st = os.stat(path)
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        cache = self.root / ".crm" / "config.cache"
        try:
            with open(cache, "rb") as fh:
                cached_key, raw, lines = marshal.load(fh)
            if tuple(cached_key) == key:
                return raw, lines
        except (OSError, ValueError, EOFError, TypeError):
            pass
        from crmcli.codec import read_yaml
        raw, lines, problems = read_yaml(_read_bytes(path), CONFIG_NAME)
        if raw is None and problems and "empty" not in problems[0].message:
            p = problems[0]
            raise DataError(p.message, p.path, p.line, p.hint)
        with contextlib.suppress(OSError, ValueError):
            if self.derived_dir() is None:
                return raw, lines
            tmp = cache.with_name(f".config.cache.{os.getpid()}")
            with open(tmp, "wb") as fh:
                marshal.dump((key, raw, lines), fh)
            os.replace(tmp, cache)
        return raw, lines

    def derived_dir(self) -> Path | None:
        """.crm/ (made if missing), or None when it is not a real folder."""
        d = self.root / ".crm"
        try:
            d.mkdir(exist_ok=True)
        except OSError:
            return None
        if d.is_symlink() or not d.is_dir():
            return None
        return d

    # ------------------------------------------------------------ paths
    def rel(self, path) -> str:
        """A path relative to the folder, as problems name it (plain string
        work: this runs once per record file in crm check)."""
        text = os.fspath(path)
        prefix = self._prefix
        if text.startswith(prefix):
            return text[len(prefix):].replace(os.sep, "/")
        try:
            return Path(text).relative_to(self.root).as_posix()
        except ValueError:
            return text

    def folder(self, kind: str) -> Path:
        folder = self.root / FOLDERS[kind]
        if folder.is_symlink():
            raise DataError(f"{FOLDERS[kind]}/ is a symbolic link; crm does not follow links out of the folder")
        return folder

    def path_for(self, kind: str, rid: str) -> Path:
        check_id(rid)
        return self.folder(kind) / f"{rid}.yaml"

    def scan(self, kind: str) -> list[tuple[str, str]]:
        """(id, path) of every record file of a kind, subfolders included;
        dotfiles, symbolic links and non-.yaml files are never records."""
        out: list[tuple[str, str]] = []
        stack = [str(self.folder(kind))]
        while stack:
            d = stack.pop()
            try:
                it = os.scandir(d)
            except (FileNotFoundError, NotADirectoryError):
                continue
            with it:
                for entry in it:
                    name = entry.name
                    if name[0] == "." or entry.is_symlink():
                        continue
                    if name.endswith(".yaml"):  # a folder named *.yaml is not looked into
                        if entry.is_file(follow_symlinks=False):
                            out.append((name[:-5], entry.path))
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        return out

    def iter_files(self, kind: str):
        """(id, Path) of every record file of a kind."""
        for rid, path in self.scan(kind):
            yield rid, Path(path)

    def ids(self, kind: str) -> list[str]:
        return [rid for rid, _ in self.iter_files(kind)]

    def find_file(self, kind: str, rid: str) -> Path | None:
        path = self.path_for(kind, rid)
        try:
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                return path
        except FileNotFoundError:
            pass
        top = self.folder(kind)
        if not top.is_dir():
            return None
        # a record may sit in a subfolder; only walk when there are subfolders
        for d in _subdirs(top):
            for rid2, p in _walk_named(d, f"{rid}.yaml"):
                return p
        return None

    # ------------------------------------------------------------ reading
    def read_file(self, kind: str, rid: str, path: Path) -> tuple[dict | None, dict, list[Problem]]:
        rel = self.rel(path)
        try:
            data = _read_bytes(path)
        except OSError as exc:
            return None, {}, [Problem(rel, None, f"cannot read: {exc.strerror}")]
        return self._typed(kind, rid, data, rel)

    def _typed(self, kind: str, rid: str, data: bytes, rel: str) -> tuple[dict | None, dict, list[Problem]]:
        from crmcli.codec import read_yaml
        from crmcli.records import type_record
        raw, lines, problems = read_yaml(data, rel)
        if raw is None:
            return None, {}, problems
        rec, more = type_record(kind, rid, raw, lines, self.config, rel)
        return rec, lines, problems + more

    def get(self, kind: str, rid: str) -> dict:
        """One record by exact id; a DataError when it cannot be read."""
        path = self.find_file(kind, rid)
        if path is None:
            raise NotFoundError(f"no {kind} with id {rid!r}")
        rec, _, problems = self.read_file(kind, rid, path)
        errors = [p for p in problems if p.severity == "error"]
        if rec is None or errors:
            p = errors[0]
            raise DataError(p.message, p.path, p.line, p.hint)
        return rec

    def load(self, kind: str) -> tuple[list[dict], list[Problem]]:
        """Every readable record of a kind, and the problems of the others.

        Goes through the derived index in .crm/ (crmcli.cache), which checks
        every file's stat and re-reads only what changed; CRM_NO_INDEX=1
        reads every file directly."""
        if not os.environ.get("CRM_NO_INDEX"):
            from crmcli.cache import Index
            return Index(self).load(kind)
        return self.load_direct(kind)

    def entries(self, kind: str) -> list[tuple[str, dict | None, list[Problem]]]:
        """(relative path, record or None, every problem incl. warnings) of
        every file of a kind, through the index (for crm check)."""
        if not os.environ.get("CRM_NO_INDEX"):
            from crmcli.cache import Index
            return Index(self).entries(kind)
        out = []
        for rid, path in self.iter_files(kind):
            rec, _, probs = self.read_file(kind, rid, path)
            out.append((self.rel(path), rec, probs))
        return out

    def entries_many(self, kinds):
        """``(ids, entries)``: the ids of every file of each of ``kinds``,
        and ``entries(kind)`` as ``entries`` gives it (for crm check: the
        files of every kind are stat'ed once, in one go)."""
        if not os.environ.get("CRM_NO_INDEX"):
            from crmcli.cache import Index
            return Index(self).entries_many(kinds)
        return {kind: {rid for rid, _ in self.scan(kind)} for kind in kinds}, self.entries

    def related(self, kind: str, client: str, deals: set[str] = frozenset()):
        """(records, problems) of a kind that name ``client`` or one of ``deals``."""
        if not os.environ.get("CRM_NO_INDEX"):
            from crmcli.cache import Index
            return Index(self).related(kind, client, deals)
        recs, problems = self.load_direct(kind)
        return [r for r in recs if r.get("client") == client or r.get("deal") in deals], problems

    def client_related(self, client: str):
        """(deals, activities) of ``client``, each (records, problems): its
        deals, and the activities that name it or one of those deals."""
        if not os.environ.get("CRM_NO_INDEX"):
            from crmcli.cache import Index
            return Index(self).client_related(client)
        deals = self.related("deal", client)
        return deals, self.related("activity", client, {d["id"] for d in deals[0]})

    def lines_of(self, rel: str) -> dict:
        """The key-path -> line map of one file (read when a problem needs it)."""
        from crmcli.codec import read_yaml
        try:
            _, lines, _ = read_yaml(_read_bytes(self.root / rel), rel)
        except OSError:
            return {}
        return lines

    def load_direct(self, kind: str) -> tuple[list[dict], list[Problem]]:
        return valid_records(self.read_file(kind, rid, path)[::2] for rid, path in self.iter_files(kind))

    def load_all(self, kinds=KINDS, columns=None) -> tuple[Dataset, list[Problem]]:
        """The records of ``kinds`` (default: all); the other lists stay empty.
        The kinds in ``columns`` ({kind: fields}) are loaded as ``Columns``
        of those fields (``data.columns[kind]``) instead of records."""
        columns = columns or {}
        if not os.environ.get("CRM_NO_INDEX"):
            from crmcli.cache import Index
            return _dataset(kinds, columns, Index(self).load_many(list(kinds), columns))
        return _dataset(kinds, columns, self._load_direct(kinds, columns))

    def answer(self, kinds, work, columns=None):
        """``work(data, problems)`` of the records of ``kinds`` (as
        ``load_all`` gives them).  Through the index it is worked out while
        the files are checked, on the index as it is, and again only when a
        file proves changed; so ``work`` must have no side effects."""
        columns = columns or {}
        if os.environ.get("CRM_NO_INDEX"):
            return work(*_dataset(kinds, columns, self._load_direct(kinds, columns)))
        from crmcli.cache import Index
        index = Index(self)
        loaded = index.load_many(list(kinds), columns,
                                 guess=lambda loaded: work(*_dataset(kinds, columns, loaded)))
        if index.guessed is not None:
            return index.guessed[0]
        return work(*_dataset(kinds, columns, loaded))

    def _load_direct(self, kinds, columns) -> dict:
        from crmcli.records import Columns
        loaded = {kind: self.load_direct(kind) for kind in kinds}
        from crmcli.records import derived
        for kind, fields in columns.items():
            if kind not in loaded:  # named for columns, not asked for this time
                continue
            recs, probs = loaded[kind]
            loaded[kind] = (Columns.of_records(recs, fields, derived(kind, self.config)), probs)
        return loaded

    # ------------------------------------------------------------ lookup
    def resolve(self, kind: str, ref: str) -> str:
        """An id from an exact id, a unique id prefix, or (clients, stakeholders,
        competitors) an exact name, case-insensitive."""
        if not ref or not ref.strip():
            raise CrmError(f"an empty {kind} id")
        from crmcli.schema import ID_RE
        if ID_RE.match(ref) and self.find_file(kind, ref) is not None:
            return ref
        if ID_RE.match(ref):
            matches = sorted(rid for rid in self.ids(kind) if rid.startswith(ref))
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise AmbiguousError(f"{kind} {ref!r} is ambiguous: it matches {', '.join(matches[:10])}"
                                     + (" ..." if len(matches) > 10 else ""))
        name_field = TITLE_FIELD[kind]
        if kind in ("client", "stakeholder", "competitor", "deal"):
            want = fold(ref.strip())
            hits = []
            for rid, path in self.iter_files(kind):
                rec, _, _ = self.read_file(kind, rid, path)
                if rec and isinstance(rec.get(name_field), str) and fold(rec[name_field].strip()) == want:
                    hits.append(rid)
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise AmbiguousError(f"{kind} name {ref!r} is ambiguous: it matches {', '.join(sorted(hits))}")
        if not ID_RE.match(ref):
            raise NotFoundError(f"no {kind} is named {ref!r}, and it is not a valid id either",
                                hint="ids use a-z, 0-9, '.', '_', '-'")
        raise NotFoundError(f"no {kind} matches {ref!r} (by id, id prefix or name)")

    # ------------------------------------------------------------ locking
    @contextlib.contextmanager
    def locked(self):
        import fcntl
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        crm_dir = self.derived_dir()
        if crm_dir is None:
            raise DataError(".crm is a symbolic link; crm keeps its lock and index only in a real .crm/ folder",
                            hint="remove the link (everything in .crm/ is derived and safe to delete)")
        fd = os.open(crm_dir / "lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        deadline = time.monotonic() + LOCK_TIMEOUT
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise LockError(f"another crm process has held the folder's lock for {LOCK_TIMEOUT:.0f} s; "
                                    "nothing was written", hint="retry in a moment")
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        self._lock_depth = 1
        try:
            yield
        finally:
            self._lock_depth = 0
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ------------------------------------------------------------ writing
    def create(self, kind: str, rec: dict, rid: str | None = None) -> str:
        """Write a new record canonically; never clobbers.  Returns its id."""
        from crmcli.codec import dump_mapping
        from crmcli.records import canonical
        folder = self.folder(kind)
        folder.mkdir(parents=True, exist_ok=True)
        # the canonical writer is property-tested to read back as written
        # (tests/test_codec_property.py), so a create needs no YAML parser
        text = dump_mapping(canonical(kind, rec)).encode("utf-8")
        title = rec.get(TITLE_FIELD[kind]) or kind
        if kind == "activity":
            title = f"{rec.get('type') or 'activity'} {rec.get('client') or rec.get('deal') or rec.get('stakeholder') or ''}"
        with self.locked():
            for _ in range(20):
                new = rid or new_id(str(title), fallback=kind)
                path = self.path_for(kind, new)
                # an id given by the caller may exist in a subfolder; a fresh
                # random one is not looked for there (that would read the
                # whole folder; crm check reports the one-in-a-million twin)
                if rid and self.find_file(kind, rid) is not None:
                    raise CrmError(f"a {kind} with id {rid!r} already exists")
                try:
                    atomic_write(path, text, exclusive=True)
                    self.writes.append(("add", kind, new, str(rec.get(TITLE_FIELD[kind]) or title), path))
                    return new
                except FileExistsError:
                    if rid:
                        raise CrmError(f"a {kind} with id {rid!r} already exists") from None
            raise CrmError("could not find a free id; try again")  # pragma: no cover

    def update(self, kind: str, rid: str, change) -> dict:
        """Read-modify-write one record under the lock.

        ``change(record) -> record`` gets the typed record and returns the
        wanted one; only what differs is written, the rest of the file is kept
        as its author wrote it.  A file that does not read cleanly is refused.
        """
        from crmcli.codec import edit_text
        from crmcli.records import canonical
        order = list(ORDER[kind])
        with self.locked():
            path = self.find_file(kind, rid)
            if path is None:
                raise NotFoundError(f"no {kind} with id {rid!r}")
            before = os.lstat(path)
            data = _read_bytes(path)  # read once: what is checked is what is edited
            rec, _, problems = self._typed(kind, rid, data, self.rel(path))
            errors = [p for p in problems if p.severity == "error"]
            if rec is None or errors:
                p = errors[0]
                raise DataError(p.message + " (nothing was written; fix the file first)", p.path, p.line, p.hint)
            wanted = change(dict(rec))
            if wanted == rec:
                return rec
            text = data.decode("utf-8")
            new_typed = canonical(kind, wanted)
            out = edit_text(text, lambda old: _keep_untouched(old, new_typed, rec, wanted), order)
            encoded = out.encode("utf-8")
            self._verify(kind, encoded, wanted)
            after = os.lstat(path)
            if (after.st_mtime_ns, after.st_size, after.st_ino) != (before.st_mtime_ns, before.st_size, before.st_ino):
                raise DataError("the file changed on disk while crm was editing it; nothing was written",
                                self.rel(path), hint="run the command again")
            atomic_write(path, encoded, mode=stat.S_IMODE(before.st_mode))
            self.writes.append(("edit", kind, rid, str(wanted.get(TITLE_FIELD[kind]) or rid), path))
            return wanted

    def delete(self, kind: str, rid: str, title: str | None = None) -> None:
        with self.locked():
            path = self.find_file(kind, rid)
            if path is None:
                raise NotFoundError(f"no {kind} with id {rid!r}")
            os.unlink(path)
            self.writes.append(("rm", kind, rid, title or rid, path))
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def _verify(self, kind: str, text: bytes, wanted: dict) -> None:
        """What the tool writes must read back as what it meant to write."""
        from crmcli.codec import read_yaml
        from crmcli.records import type_record
        raw, lines, problems = read_yaml(text, kind)
        back, more = (type_record(kind, wanted.get("id", "x"), raw, lines, self.config, kind)
                      if raw is not None else (None, []))
        if back is not None:
            back = _drop_empty({k: v for k, v in back.items() if k != "id"})
        want = _drop_empty({k: v for k, v in wanted.items() if k != "id"})
        if back != want:
            raise CrmError(f"internal error: the {kind} would not read back as written; nothing was written")


def _keep_untouched(old_raw: dict, new_typed: dict, old_rec: dict, new_rec: dict) -> dict:
    """The wanted mapping, where fields the command did not change keep their
    text exactly (``amount: 1500.0`` stays, not ``1500``)."""
    out = {}
    for key, value in new_typed.items():
        if key in old_raw and key in old_rec and key in new_rec and old_rec[key] == new_rec[key]:
            out[key] = old_raw[key]
        else:
            out[key] = value
    # keys the file has but the typed record dropped (e.g. an id: key) stay
    for key, value in old_raw.items():
        if key not in out and key not in old_rec:
            out[key] = value
    return out


def _drop_empty(value):
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def _subdirs(top: Path):
    with os.scandir(top) as it:
        for e in it:
            if not e.name.startswith(".") and e.is_dir(follow_symlinks=False):
                yield Path(e.path)


def _walk_named(top: Path, name: str):
    stack = [top]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                if e.name.startswith(".") or e.is_symlink():
                    continue
                if e.is_dir(follow_symlinks=False):
                    stack.append(Path(e.path))
                elif e.name == name and e.is_file(follow_symlinks=False):
                    yield e.name[:-5], Path(e.path)


GITIGNORE = ".crm/\n# temporary files of an interrupted write\n.*.tmp\n"


def init_folder(target: Path, name: str, git: bool = False) -> None:
    """Make a data folder; refuses an existing one (a crm.yaml, or any file)."""
    from crmcli.codec import plain_ok, double_quoted
    from crmcli.config import INIT_TEMPLATE
    if (target / CONFIG_NAME).exists():
        raise CrmError(f"{target} is already a crm data folder; nothing was changed")
    if target.exists() and (not target.is_dir() or any(p.name not in (".git",) for p in target.iterdir())):
        raise CrmError(f"{target} exists and is not empty; nothing was changed",
                       hint="choose a new or empty folder")
    target.mkdir(parents=True, exist_ok=True)
    for folder in FOLDERS.values():
        (target / folder).mkdir(exist_ok=True)
    (target / ".crm").mkdir(exist_ok=True)
    atomic_write(target / ".gitignore", GITIGNORE.encode())
    shown = name if plain_ok(name) else double_quoted(name)
    atomic_write(target / CONFIG_NAME, INIT_TEMPLATE.format(name=shown).encode("utf-8"), exclusive=True)
    if git:
        from crmcli import gitops
        gitops.init_repo(target)
