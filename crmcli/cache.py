"""A derived index of the records, in the folder's ignored ``.crm/``.

One file per record type holds, for every record file, its stat key
(mtime in ns, size, inode) and what reading it gave: the typed record and its
problems.  Every use checks every file's stat against it, so a change made by
the tool, by hand or by ``git pull`` is seen; only the files whose key changed
are parsed again.  The files stay the source of truth: deleting ``.crm/`` is
always safe, and an index that cannot be read is rebuilt.

The stat calls run in one thread (threads measured slower here); a cold
build (no index, or many files changed) parses in worker processes on every
core, with a progress bar on a terminal.  Keys, short text, dates and amounts
are shared objects in the pickle, so it loads fast and small.

The index is a pickle because it holds dates and decimals that must load fast.
It lives next to the records, is never committed (``.crm/`` is ignored), and
is written and read only by crm, with the same trust as the records beside it.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

FORMAT = 3
RACY_NS = 2_000_000_000  # files changed this close to the index's build are re-read next time
PARALLEL_PARSE_MIN = 2000


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
            gc.enable()


def _stat_many(paths: list[str]) -> list[tuple[int, int, int] | None]:
    """The stat key of every file, in one thread: measured here, threads made
    it slower (0.65 s against 0.35 s for 100,000 files), since the Python
    work around each call holds the GIL longer than the call releases it."""
    out = []
    lstat = os.lstat
    for p in paths:
        try:
            st = lstat(p)
        except OSError:
            out.append(None)
            continue
        out.append((st.st_mtime_ns, st.st_size, st.st_ino))
    return out


def _parse_chunk(args):
    """Worker: parse a chunk of files of one kind (a separate process)."""
    root, kind, items = args
    from crmcli.store import Store
    st = Store(Path(root))
    out = []
    for rid, path in items:
        rec, _, problems = st.read_file(kind, rid, Path(path))
        out.append((rec, problems))
    return out


class Index:
    def __init__(self, store):
        self.store = store
        self.dir = store.root / ".crm"

    def _file(self, kind: str) -> Path:
        return self.dir / f"index-{kind}.pickle"

    def _refs_file(self, kind: str) -> Path:
        return self.dir / f"refs-{kind}.pickle"

    def related(self, kind: str, client: str, deals: set[str] = frozenset()):
        """(records, problems) of one kind that refer to ``client`` (or to one
        of ``deals``), reading only those files: a small side index maps each
        file's stat key to the client and deal it names, so the cost is one
        stat per file of the kind, not one parse."""
        store = self.store
        config_key = self._config_key()
        refs = {}
        try:
            with open(self._refs_file(kind), "rb") as fh:
                data = pickle.load(fh)
            if data.get("format") == FORMAT and data.get("config") == config_key:
                refs = data["refs"]
        except Exception:  # noqa: BLE001 - no side index yet
            pass
        if not refs:  # build it (and the index) once
            refs = self._write_refs(kind, config_key, self._entries(kind))
        files = store.scan(kind)
        keys = _stat_many([p for _, p in files])
        records, problems = [], []
        for (rid, path), key in zip(files, keys):
            if key is None:
                continue
            hit = refs.get(path)
            if hit is not None and hit[0] == key and hit[1] != client and hit[2] not in deals:
                continue
            rec, _, probs = store.read_file(kind, rid, Path(path))
            errors = [p for p in probs if p.severity == "error"]
            if rec is None or errors:
                problems.extend(errors)
                continue
            if rec.get("client") == client or rec.get("deal") in deals:
                records.append(rec)
        records.sort(key=lambda r: r["id"])
        return records, problems

    def _config_key(self):
        st = os.stat(self.store.root / "crm.yaml")
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _read(self, kind: str, config_key) -> dict:
        try:
            with open(self._file(kind), "rb") as fh:
                data = pickle.load(fh)
            if data.get("format") == FORMAT and data.get("config") == config_key:
                return data["files"]
        except Exception:  # noqa: BLE001 - a damaged or foreign index is rebuilt
            pass
        return {}

    def load(self, kind: str):
        """(records, problems) of one kind, through the index."""
        from crmcli.store import valid_records
        with _no_gc():
            return valid_records((rec, probs) for _, rec, probs in self._entries(kind).values())

    def entries(self, kind: str) -> dict:
        """{path: (stat key, record or None, every problem)} of one kind."""
        with _no_gc():
            return self._entries(kind)

    def _entries(self, kind: str) -> dict:
        store = self.store
        config_key = self._config_key()
        cached = self._read(kind, config_key)
        files = store.scan(kind)
        paths = [p for _, p in files]
        keys = _stat_many(paths)
        started = time.time_ns()
        result: dict = {}
        stale: list[tuple[str, str, tuple]] = []
        for (rid, _), path, key in zip(files, paths, keys):
            if key is None:
                continue
            hit = cached.get(path)
            if hit is not None and hit[0] == key:
                result[path] = hit
            else:
                stale.append((rid, path, key))
        changed = bool(stale) or len(result) != len(cached)
        if stale:
            parsed = self._parse(kind, stale)
            for (rid, path, key), (rec, problems) in zip(stale, parsed):
                result[path] = (key, rec, problems)
        if changed:
            self._write(kind, config_key, result, started)
        return result

    def _parse(self, kind: str, stale):
        store = self.store
        show = sys.stderr.isatty() and len(stale) > 500
        if len(stale) >= PARALLEL_PARSE_MIN and (os.cpu_count() or 1) > 1:
            from concurrent.futures import ProcessPoolExecutor
            workers = min(os.cpu_count() or 1, 8)
            size = max(500, len(stale) // (workers * 8))
            chunks = [stale[i:i + size] for i in range(0, len(stale), size)]
            out = []
            t0 = time.monotonic()
            with ProcessPoolExecutor(workers) as pool:
                for part in pool.map(_parse_chunk, [(str(store.root), kind, [(r, p) for r, p, _ in c])
                                                    for c in chunks]):
                    out.extend(part)
                    if show and time.monotonic() - t0 > 1:
                        _progress(kind, len(out), len(stale))
            if show:
                sys.stderr.write("\r\x1b[K")
            return out
        out = []
        t0 = time.monotonic()
        for i, (rid, path, _) in enumerate(stale):
            rec, _, problems = store.read_file(kind, rid, Path(path))
            out.append((rec, problems))
            if show and i % 500 == 0 and time.monotonic() - t0 > 1:
                _progress(kind, i, len(stale))
        if show:
            sys.stderr.write("\r\x1b[K")
        return out

    def _write(self, kind: str, config_key, result: dict, started: int) -> None:
        # a file changed within the clock's resolution of this moment may
        # change again with the same stat; keep it out so it is read again
        horizon = started - RACY_NS
        memo: dict = {}
        files = {p: (v[0], _shared(v[1], memo), v[2]) for p, v in result.items() if v[0][0] < horizon}
        memo.clear()
        with contextlib.suppress(OSError):
            if self.store.derived_dir() is None:
                return
            tmp = self.dir / f".index-{kind}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                pickle.dump({"format": FORMAT, "config": config_key, "files": files}, fh,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._file(kind))
        if kind in ("deal", "activity"):
            self._write_refs(kind, config_key, files)

    def _write_refs(self, kind: str, config_key, files: dict) -> dict:
        """The side index of ``related``: each file's stat key, client and deal."""
        refs = {p: (v[0], (v[1] or {}).get("client"), (v[1] or {}).get("deal")) for p, v in files.items()}
        with contextlib.suppress(OSError):
            if self.store.derived_dir() is None:
                return refs
            tmp = self.dir / f".refs-{kind}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                pickle.dump({"format": FORMAT, "config": config_key, "refs": refs}, fh,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._refs_file(kind))
        return refs


def _shared(value, memo: dict):
    """Make equal short texts, dates and amounts one object everywhere, in
    place (no copy of the records), so the pickle holds and loading builds
    each distinct value once.  Keys are interned by the reader already."""
    if isinstance(value, dict):
        for k, v in value.items():
            nv = _shared(v, memo)
            if nv is not v:
                value[k] = nv
        return value
    if isinstance(value, list):
        for i, v in enumerate(value):
            nv = _shared(v, memo)
            if nv is not v:
                value[i] = nv
        return value
    if isinstance(value, str):
        return memo.setdefault(value, value) if len(value) <= 40 else value
    if isinstance(value, (date, Decimal)):
        return memo.setdefault((type(value), value), value)
    return value


def _progress(kind: str, done: int, total: int) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\rreading {kind} files [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()
