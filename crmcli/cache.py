"""A derived index of the records, in the folder's ignored ``.crm/``.

Per record type, ``.crm/index-<type>.bin`` holds every record file's path
(relative to the type's folder), its stat key (mtime in ns, size, inode,
packed in one byte string) and what reading it gave: the typed record and
its problems.  Every use lists the folder and stats every file against it,
so a change made by the tool, by hand or by ``git pull`` is seen; only files
whose key changed are parsed again.  The files stay the source of truth:
deleting ``.crm/`` is always safe, and an index that cannot be read is
rebuilt.

How the work is split, and why (figures in docs/performance.md):

* Listing is ``os.listdir`` per folder (names only); the stat calls use the
  folder's descriptor (``lstat(name, dir_fd=...)``) and, for large folders,
  run in forked worker processes on every core: threads were measured slower
  (the Python work around each call holds the GIL), processes halve it on two
  cores.  git's own index was measured too: ``git diff-files`` stats every
  file as well, and took longer here than the parallel stat.
* When the listing and the packed keys equal the index's byte for byte, no
  per-file work is done at all.
* Records are stored row-wise as tuples of values grouped by their key order
  ("shape"), so a record is rebuilt by one ``dict(zip(shape, values))`` with
  its keys in the order the file had them; equal short texts, dates and
  amounts are one shared object in the pickle.
* A few changed files go to a small overlay (``index-<type>.new``) instead of
  a rewrite of the whole index; when the overlay grows past a tenth of the
  rows the index is rewritten with it merged in.
* Files changed within 2 s of a stat are stored with a key that matches
  nothing, so an edit inside the clock's resolution is read again next time.
* Each file is written to a temporary name and renamed into place, so
  concurrent ``crm`` processes never see a torn index; an overlay names the
  index generation it applies to and is ignored by any other.

The index is a pickle because it holds dates and decimals that must load
fast.  It lives next to the records, is never committed (``.crm/`` is
ignored), and is written and read only by crm, with the same trust as the
records beside it.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import stat as _stat
import sys
import time
from array import array
from datetime import date
from pathlib import Path

FORMAT = 5
MAGIC = b"crm-index\x00\x04\n"
RACY_NS = 2_000_000_000       # files changed this close to a stat are read again next time
PARALLEL_STAT_MIN = 20_000    # fewer files than this are stat'ed in this process
PARALLEL_PARSE_MIN = 2000     # fewer stale files than this are parsed in this process
OVERLAY_MIN = 2000            # an overlay may hold this many rows, or a tenth of the index
NO_KEY = (-1, -1, -1)
ROWS_PER_PIECE = 20_000       # records per pickle in the index


@contextlib.contextmanager
def _no_gc():
    """The cycle collector off while many small objects are built (it would
    walk them again and again and find no cycles)."""
    import gc
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            # what was built stays: keep it out of later collections (a full
            # collection walking a million records found nothing and cost 0.15 s)
            gc.freeze()
            gc.enable()


# --- listing and stat ---------------------------------------------------------

def listing(top: str) -> list[tuple[str, list[str]]]:
    """``(subfolder, names)`` of every folder under ``top`` (subfolder '' for
    ``top`` itself, else ``'2024/'``-style): the ``*.yaml`` names that may be
    records.  Dotfiles are never records; whether a name is a regular file
    (not a link, not a folder) is told by the stat that follows."""
    groups: list[tuple[str, list[str]]] = []
    stack = [""]
    while stack:
        sub = stack.pop()
        folder = top + "/" + sub if sub else top
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        files = []
        for name in names:
            if name[0] == ".":
                continue
            if name.endswith(".yaml"):
                files.append(name)
                continue
            with contextlib.suppress(OSError):
                if _stat.S_ISDIR(os.lstat(folder + "/" + name).st_mode):
                    stack.append(sub + name + "/")
        groups.append((sub, files))
    return groups


def _stat_range(top: str, groups, start: int, stop: int) -> array:
    """Packed ``(mtime_ns, size, inode)`` of the flattened names
    ``[start, stop)``; ``NO_KEY`` for a name that is gone or is not a
    regular file."""
    out = array("q")
    put = out.extend
    lstat = os.lstat
    regular = _stat.S_ISREG
    pos = 0
    for sub, names in groups:
        end = pos + len(names)
        if end <= start or pos >= stop:
            pos = end
            continue
        lo, hi = max(start - pos, 0), min(stop - pos, len(names))
        try:
            fd = os.open(top + "/" + sub if sub else top, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            put(NO_KEY * (hi - lo))
            pos = end
            continue
        try:
            for name in names[lo:hi]:
                try:
                    st = lstat(name, dir_fd=fd)
                except OSError:
                    put(NO_KEY)
                    continue
                if regular(st.st_mode):
                    put((st.st_mtime_ns, st.st_size, st.st_ino))
                else:
                    put(NO_KEY)
        finally:
            os.close(fd)
        pos = end
    return out


def stat_all(top: str, groups) -> array:
    """The packed keys of every listed name, in listing order; large folders
    are split among forked processes, one per core."""
    total = sum(len(names) for _, names in groups)
    workers = min(os.cpu_count() or 1, 4)
    if total < PARALLEL_STAT_MIN or workers < 2 or not hasattr(os, "fork"):
        return _stat_range(top, groups, 0, total)
    bounds = [total * i // workers for i in range(workers + 1)]
    children = []
    try:
        for i in range(1, workers):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: stat its share, send it, leave at once
                code = 0
                try:
                    os.close(r)
                    data = _stat_range(top, groups, bounds[i], bounds[i + 1]).tobytes()
                    view = memoryview(data)
                    while view:
                        view = view[os.write(w, view):]
                except BaseException:  # noqa: BLE001 - the parent falls back
                    code = 1
                os._exit(code)
            os.close(w)
            children.append((pid, r, i))
    except OSError:
        pass  # no more processes: this one does the rest
    mine = _stat_range(top, groups, bounds[0], bounds[1])
    parts = [mine]
    done = 1
    for pid, r, i in children:
        with os.fdopen(r, "rb") as fh:
            data = fh.read()
        _, status = os.waitpid(pid, 0)
        part = array("q")
        part.frombytes(data[: len(data) - len(data) % 8])
        if status != 0 or len(part) != 3 * (bounds[i + 1] - bounds[i]) or i != done:
            part = _stat_range(top, groups, bounds[i], bounds[i + 1])
        parts.append(part)
        done = i + 1
    if done < workers:  # a fork failed: the rest here
        parts.append(_stat_range(top, groups, bounds[done], total))
    out = parts[0]
    for p in parts[1:]:
        out.extend(p)
    return out


def _flatten(groups, keys: array) -> tuple[list[str], array]:
    """Paths (relative to the type's folder) and keys of the regular files."""
    if -1 not in keys:  # the usual case: every listed name is a record file
        paths: list[str] = []
        for sub, names in groups:
            paths.extend(names if not sub else [sub + name for name in names])
        return paths, keys
    paths = []
    kept = array("q")
    i = 0
    for sub, names in groups:
        for name in names:
            if keys[i] != -1 or keys[i + 1] != -1:
                paths.append(sub + name)
                kept.extend(keys[i:i + 3])
            i += 3
    return paths, kept


# --- the parse ---------------------------------------------------------------

def _parse_chunk(args):
    """Worker: parse a chunk of files of one kind (a separate process)."""
    root, kind, items = args
    from crmcli.store import Store
    st = Store(Path(root))
    return [st.read_file(kind, rid, path)[::2] for rid, path in items]


def _progress(kind: str, done: int, total: int) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\rreading {kind} files [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


# --- the index ------------------------------------------------------------------

class _State:
    """What one type's files hold now: for each current file (in listing
    order) its path, and where its record comes from: a row of the index
    (``rows[j]`` >= 0) or a freshly read / overlay entry (``extra[path]``)."""

    __slots__ = ("paths", "rows", "extra", "header", "blob_reader")

    def __init__(self, paths, rows, extra, header, blob_reader):
        self.paths = paths
        self.rows = rows            # index row per current file, or -1
        self.extra = extra          # path -> (key, record or None, problems)
        self.header = header        # the index's header (or None)
        self.blob_reader = blob_reader


class Index:
    def __init__(self, store):
        self.store = store
        self.dir = store.root / ".crm"

    def _file(self, kind: str) -> Path:
        return self.dir / f"index-{kind}.bin"

    def _overlay_file(self, kind: str) -> Path:
        return self.dir / f"index-{kind}.new"

    def _config_key(self):
        st = os.stat(self.store.root / "crm.yaml")
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    # ------------------------------------------------------------ public
    def load(self, kind: str):
        """(records, problems) of one kind, through the index: the records
        that read without an error, sorted by id, and the errors of the others."""
        with _no_gc():
            state = self._state(kind)
            records, problems = [], []
            header = state.header
            rows = state.rows
            in_order = type(rows) is range and header is not None and "order" in header
            if in_order:  # the index as it is, its rows already sorted by id
                rows = header["order"]
            if header is not None and any(r >= 0 for r in rows):
                shapes, shape_of, values = state.blob_reader("records")
                bad = header["problems"]
                for r in rows:
                    if r < 0:
                        continue
                    vals = values[r]
                    probs = bad.get(r)
                    if probs is not None:
                        errors = [p for p in probs if p.severity == "error"]
                        if errors:
                            problems.extend(errors)
                            continue
                    if vals is not None:
                        records.append(dict(zip(shapes[shape_of[r]], vals)))
            for _, rec, probs in state.extra.values():
                errors = [p for p in probs if p.severity == "error"]
                if errors:
                    problems.extend(errors)
                elif rec is not None:
                    records.append(rec)
            if not in_order:
                records.sort(key=_by_id)
            problems.sort(key=_by_place)
            return records, problems

    def entries(self, kind: str) -> list[tuple[str, dict | None, list]]:
        """(path relative to the folder, record or None, every problem) of
        every file of a kind, in listing order."""
        from crmcli.schema import FOLDERS
        prefix = FOLDERS[kind] + "/"
        with _no_gc():
            state = self._state(kind)
            out = []
            loaded = None
            for path, r in zip(state.paths, state.rows):
                if r >= 0:
                    if loaded is None:
                        loaded = state.blob_reader("records")
                    shapes, shape_of, values = loaded
                    vals = values[r]
                    rec = None if vals is None else dict(zip(shapes[shape_of[r]], vals))
                    out.append((prefix + path, rec, list(state.header["problems"].get(r, ()))))
                else:
                    _, rec, probs = state.extra[path]
                    out.append((prefix + path, rec, probs))
            return out

    def related(self, kind: str, client: str, deals=frozenset()):
        """(records, problems) of one kind that refer to ``client`` (or to one
        of ``deals``): the index's (client, deal) of each row tells which files
        to read; only those are read (the files are the truth)."""
        store = self.store
        state = self._state(kind)
        top = store.folder(kind)
        want: list[str] = []
        if state.header is not None and any(r >= 0 for r in state.rows):
            refs = state.blob_reader("refs")
            for path, r in zip(state.paths, state.rows):
                if r >= 0:
                    cid, did = refs[r]
                    if cid == client or did in deals:
                        want.append(path)
        records, problems = [], []
        for path, entry in state.extra.items():
            rec = entry[1]
            if rec is not None and (rec.get("client") == client or rec.get("deal") in deals):
                want.append(path)
            elif rec is None or any(p.severity == "error" for p in entry[2]):
                want.append(path)  # read again below: a broken file is named
        for path in want:
            rid = path.rsplit("/", 1)[-1][:-5]
            rec, _, probs = store.read_file(kind, rid, top / path)
            errors = [p for p in probs if p.severity == "error"]
            if rec is None or errors:
                problems.extend(errors)
                continue
            if rec.get("client") == client or rec.get("deal") in deals:
                records.append(rec)
        records.sort(key=_by_id)
        return records, problems

    # ------------------------------------------------------------ the state
    def _state(self, kind: str) -> _State:
        store = self.store
        config_key = self._config_key()
        top = os.fspath(store.folder(kind))
        header, reader = self._read_header(kind, config_key)
        started = time.time_ns()
        groups = listing(top)
        paths, keys = _flatten(groups, stat_all(top, groups))
        n = len(paths)
        overlay = self._read_overlay(kind, header) if header is not None else {}
        if header is not None and not overlay and header["keys"] == keys.tobytes() \
                and header["paths"] == paths:
            return _State(paths, range(n), {}, header, reader)

        rows = [-1] * n
        if header is not None:
            old_keys = array("q")
            old_keys.frombytes(header["keys"])
            if header["paths"] == paths:
                # same files: compare the packed keys block by block, rows
                # only inside a block that differs
                rows = list(range(n))
                new_bytes, old_bytes = keys.tobytes(), header["keys"]
                step = 16 * 24
                for b in range(0, len(new_bytes), step):
                    if new_bytes[b:b + step] != old_bytes[b:b + step]:
                        for j in range(b // 24, min(n, (b + step) // 24)):
                            if keys[3 * j:3 * j + 3] != old_keys[3 * j:3 * j + 3]:
                                rows[j] = -1
            else:
                positions = {p: i for i, p in enumerate(header["paths"])}
                for j in range(n):
                    i = positions.get(paths[j], -1)
                    if i >= 0 and old_keys[3 * i:3 * i + 3] == keys[3 * j:3 * j + 3]:
                        rows[j] = i
        extra: dict = {}
        stale: list[tuple[str, array]] = []
        for j in range(n):
            if rows[j] >= 0:
                continue
            path = paths[j]
            key = keys[3 * j:3 * j + 3]
            hit = overlay.get(path)
            if hit is not None and hit[0] == key:
                extra[path] = hit
            else:
                stale.append((path, key))

        if stale:
            parsed = self._parse(kind, top, stale)
            horizon = started - RACY_NS
            memo: dict = {}
            for (path, key), (rec, problems) in zip(stale, parsed):
                if key[0] >= horizon:
                    key = array("q", NO_KEY)  # read again next time
                extra[path] = (key, _shared(rec, memo) if rec is not None else None, problems)

        changed = bool(stale) or len(extra) != len(overlay)
        if header is None or len(extra) > max(OVERLAY_MIN, (n - len(extra)) // 10):
            self._write_index(kind, config_key, paths, rows, extra, header, reader)
        elif changed:
            self._write_overlay(kind, header, extra)
        return _State(paths, rows, extra, header, reader)

    def _parse(self, kind: str, top: str, stale):
        store = self.store
        items = [(path.rsplit("/", 1)[-1][:-5], top + "/" + path) for path, _ in stale]
        show = sys.stderr.isatty() and len(items) > 500
        if len(items) >= PARALLEL_PARSE_MIN and (os.cpu_count() or 1) > 1:
            from concurrent.futures import ProcessPoolExecutor
            workers = min(os.cpu_count() or 1, 8)
            size = max(500, len(items) // (workers * 8))
            chunks = [items[i:i + size] for i in range(0, len(items), size)]
            out = []
            t0 = time.monotonic()
            with ProcessPoolExecutor(workers) as pool:
                for part in pool.map(_parse_chunk, [(str(store.root), kind, c) for c in chunks]):
                    out.extend(part)
                    if show and time.monotonic() - t0 > 1:
                        _progress(kind, len(out), len(items))
            if show:
                sys.stderr.write("\r\x1b[K")
            return out
        out = []
        t0 = time.monotonic()
        for i, (rid, path) in enumerate(items):
            rec, _, problems = store.read_file(kind, rid, path)
            out.append((rec, problems))
            if show and i % 500 == 0 and time.monotonic() - t0 > 1:
                _progress(kind, i, len(items))
        if show:
            sys.stderr.write("\r\x1b[K")
        return out

    # ------------------------------------------------------------ files
    def _read_header(self, kind: str, config_key):
        """(header, blob reader) of the index, or (None, None)."""
        try:
            fh = open(self._file(kind), "rb")
        except OSError:
            return None, None
        with fh:
            try:
                head = fh.read(len(MAGIC) + 8)
                if head[:len(MAGIC)] != MAGIC:
                    return None, None
                size = int.from_bytes(head[len(MAGIC):], "big")
                header = pickle.loads(fh.read(size))
                if header.get("format") != FORMAT or header.get("config") != config_key:
                    return None, None
                data = fh.read()
            except Exception:  # noqa: BLE001 - a damaged or foreign index is rebuilt
                return None, None
        cache: dict = {}

        def blob(name):
            off, length = header["blobs"][name]
            return pickle.loads(data[off:off + length])

        def reader(name):
            if name not in cache:
                if name == "records":
                    shapes, shape_of = blob("shapes")
                    values: list = []
                    i = 0
                    while f"values-{i}" in header["blobs"]:
                        values.extend(blob(f"values-{i}"))
                        i += 1
                    cache[name] = (shapes, shape_of, values)
                else:
                    cache[name] = blob(name)
            return cache[name]
        return header, reader

    def _read_overlay(self, kind: str, header) -> dict:
        try:
            with open(self._overlay_file(kind), "rb") as fh:
                data = pickle.load(fh)
            if data.get("token") == header["token"]:
                return data["entries"]
        except Exception:  # noqa: BLE001 - none yet, damaged or of another generation
            pass
        return {}

    def _write_overlay(self, kind: str, header, extra: dict) -> None:
        self._atomic(self._overlay_file(kind),
                     pickle.dumps({"token": header["token"], "entries": extra},
                                  protocol=pickle.HIGHEST_PROTOCOL))

    def _write_index(self, kind, config_key, paths, rows, extra, header, reader) -> None:
        """Rewrite the index from the current rows and the new entries."""
        if header is not None and any(r >= 0 for r in rows):
            shapes, shape_of, values = reader("records")
            refs = reader("refs")
            old_problems = header["problems"]
            old_keys = array("q")
            old_keys.frombytes(header["keys"])
        keys = array("q")
        new_shapes: list[tuple] = []
        shape_index: dict = {}
        new_shape_of = array("H")
        new_values: list = []
        new_refs: list = []
        problems: dict = {}
        for j, path in enumerate(paths):
            r = rows[j]
            if r >= 0:
                keys.extend(old_keys[3 * r:3 * r + 3])
                shape = shapes[shape_of[r]]
                vals = values[r]
                ref = refs[r]
                probs = old_problems.get(r)
            else:
                key, rec, probs = extra[path]
                keys.extend(key)
                if rec is None:
                    shape, vals, ref = (), None, (None, None)
                else:
                    shape, vals = tuple(rec), tuple(rec.values())
                    ref = (rec.get("client"), rec.get("deal"))
            s = shape_index.get(shape)
            if s is None:
                if len(new_shapes) >= 65535:
                    return  # a folder this irregular is read without an index
                s = shape_index[shape] = len(new_shapes)
                new_shapes.append(shape)
            new_shape_of.append(s)
            new_values.append(vals)
            new_refs.append(ref)
            if probs:
                problems[j] = probs
        # the values in pieces: the pickler's memo of one piece stays small
        # (one pickle of 100,000 records peaked at 100 MB more)
        blobs = {"shapes": pickle.dumps((new_shapes, new_shape_of), protocol=pickle.HIGHEST_PROTOCOL)}
        for i in range(0, len(new_values), ROWS_PER_PIECE):
            blobs[f"values-{i // ROWS_PER_PIECE}"] = pickle.dumps(new_values[i:i + ROWS_PER_PIECE],
                                                                  protocol=pickle.HIGHEST_PROTOCOL)
        del new_values
        blobs["refs"] = pickle.dumps(new_refs, protocol=pickle.HIGHEST_PROTOCOL)
        offsets, pos = {}, 0
        for name, blob in blobs.items():
            offsets[name] = (pos, len(blob))
            pos += len(blob)
        ids = [p.rsplit("/", 1)[-1][:-5] for p in paths]
        order = array("l" if len(paths) < 2**31 else "q", sorted(range(len(paths)), key=ids.__getitem__))
        head = pickle.dumps({"format": FORMAT, "config": config_key, "token": os.urandom(8).hex(),
                             "paths": paths, "keys": keys.tobytes(), "problems": problems, "order": order,
                             "blobs": offsets}, protocol=pickle.HIGHEST_PROTOCOL)
        self._atomic(self._file(kind), MAGIC, len(head).to_bytes(8, "big"), head, *blobs.values())
        with contextlib.suppress(OSError):
            os.unlink(self._overlay_file(kind))

    def _atomic(self, target: Path, *parts: bytes) -> None:
        """Write a derived file whole or not at all (never fsync'ed: it can be rebuilt)."""
        with contextlib.suppress(OSError):
            if self.store.derived_dir() is None:
                return
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            try:
                with open(tmp, "wb") as fh:
                    for part in parts:
                        fh.write(part)
                os.replace(tmp, target)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def _by_id(rec: dict) -> str:
    return rec["id"]


def _by_place(problem) -> tuple:
    return (problem.path, problem.line or 0)


def _shared(rec: dict, memo: dict) -> dict:
    """Make equal short texts and dates one object everywhere, in place (no
    copy of the records), so the pickle holds and loading builds each
    distinct value once.  Keys are interned by the reader already.  Amounts
    are not shared: Decimal("1.0") == Decimal("1"), yet they print apart."""
    share = memo.setdefault
    for k, v in rec.items():
        t = type(v)
        if t is str:
            if len(v) <= 40:
                nv = share(v, v)
                if nv is not v:
                    rec[k] = nv
        elif t is date:
            nv = share((date, v), v)
            if nv is not v:
                rec[k] = nv
        elif t is list:
            _shared_list(v, memo)
        elif t is dict:
            _shared(v, memo)
    return rec


def _shared_list(items: list, memo: dict) -> None:
    share = memo.setdefault
    for i, v in enumerate(items):
        t = type(v)
        if t is str:
            if len(v) <= 40:
                nv = share(v, v)
                if nv is not v:
                    items[i] = nv
        elif t is date:
            nv = share((date, v), v)
            if nv is not v:
                items[i] = nv
        elif t is dict:
            _shared(v, memo)
        elif t is list:
            _shared_list(v, memo)
