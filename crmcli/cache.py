"""A derived index of the records, in the folder's ignored ``.crm/``.

Per record type, ``.crm/index-<type>.bin`` holds the type's folder listing
(the names, and each folder's mtime and inode when it was listed), every
listed file's stat key (mtime in ns, size, inode, packed in one byte string)
and what reading it gave: the typed record and its problems.  The files stay
the source of truth: every use checks every file against the index, so a
change made by the tool, by hand or by ``git pull`` is seen, and only files
whose key changed are parsed again.  Deleting ``.crm/`` is always safe; an
index that cannot be read is rebuilt; a change of crm.yaml invalidates it.

How a command that reads many records goes (figures in docs/performance.md):

1. For each type it reads the index's header.  If every folder still has
   the mtime and inode it had when listed, the names are the index's (adding,
   removing or renaming an entry changes its folder's mtime); otherwise the
   folders are listed again (``os.listdir``).
2. The files of all the types are stat'ed (``lstat(name, dir_fd=...)``) in
   forked processes, one per core, each comparing its share with the index
   and parsing the files it finds changed.  Threads were measured slower
   (the Python work around each call holds the GIL); ``git diff-files``,
   which stats every file too, took longer than this.
3. Meanwhile this process loads the index as if it were current: records
   are stored as tuples of values grouped by key order ("shapes"), so a
   record is one ``dict(zip(shape, values))``, taken in id order.  The same
   rows are stored field by field too: a command that walks every activity
   for a few fields (``remind``, ``report managers``) loads those columns
   only, and builds no dict per record.  A command may also work its answer
   out meanwhile, on the index as it is (``Store.answer``): the stat decides
   whether it stands or is worked out again.
4. When the stat processes report no change, that is the answer.  Otherwise
   the rows that changed are dropped and the new records put in, and a new
   generation of the index is written: unchanged rows keep their place (the
   pieces that hold them are copied as bytes), the new records go in new
   pieces after them (the rows no longer used are listed in the header);
   when those pass a tenth of the others (they are still unpickled), the
   index is written afresh -- a large one after the command's output is
   out, by a process of its own (``DETACH_MIN``, ``Index.compact``).

A file or folder whose mtime is not before the file system's clock, read
from ``.crm/clock`` as it is touched before anything is listed, may change
again within the clock's resolution and keep its stat (git's "racily clean"
rule): it is stored with a key that matches nothing, and read again next
time.  Index files are written to a temporary name and renamed into place,
so concurrent ``crm`` processes never see a torn one; what a killed writer
left is removed by the next (``_sweep``).

The index is a pickle because it holds dates and decimals that must load
fast.  It lives next to the records, is never committed (``.crm/`` is
ignored), and is written and read only by crm, with the same trust as the
records beside it.
"""
from __future__ import annotations

import bisect
import contextlib
import mmap
import os
import pickle
import stat as _stat
import sys
import time
from array import array
from itertools import compress, repeat
from operator import itemgetter, lt
from struct import iter_unpack
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from crmcli.store import _by_id, _by_place, valid_records

FORMAT = 14
MAGIC = b"crm-index\x00\x04\n"
RACY_NS = 2_000_000_000       # without a clock file: files changed this close to a stat are read again
PARALLEL_STAT_MIN = 20_000    # fewer files than this are stat'ed in this process
PARALLEL_PARSE_MIN = 2000     # fewer stale files than this are parsed in this process
COMPACT_MIN = 2000            # rows no longer used that are kept (or a tenth) before a fresh write
NO_KEY = (-1, -1, -1)         # a listed name that is not a record file
NO_KEY_BYTES = array("q", NO_KEY).tobytes()
RACY_KEY = (-2, -2, -2)       # a record file changed too recently to trust: matches no stat
ROWS_PER_PIECE = 20_000       # records per pickle in the index
CHILD_PARSE_MAX = 20_000      # a stat process parses the changed files it finds, up to this many
EARLY_CHUNK = 4096            # a stat process says it found a change after at most this many files
INSERT_MAX = 1000             # files added or changed (with some removed) put into the order by id one by one
COPY_CHUNK = 8 << 20          # bytes of the old index copied at a time into a new generation
DETACH_MIN = 20_000           # an index this large is written afresh after the command, in a process of its own
_DEFERRED: set = set()        # the kinds whose fresh write waits until this process's command is done


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

def listing(top: str, horizon: int) -> tuple[list[tuple[str, list[str]]], list[tuple]]:
    """``(groups, stamps)`` of the folders under ``top``: ``groups`` holds
    ``(subfolder, names)`` (subfolder '' for ``top`` itself, else
    ``'2024/'``-style) with the ``*.yaml`` names that may be records;
    ``stamps`` holds ``(subfolder, mtime_ns, inode)`` of each folder, taken
    before it was read (mtime -1 when it is not before ``horizon``: not to be
    trusted, see ``Index._horizon``).  Dotfiles are never records; whether a name is a
    regular file (not a link, not a folder) is told by the stat that follows;
    a folder named ``*.yaml`` is not looked into."""
    groups: list[tuple[str, list[str]]] = []
    stamps: list[tuple] = []
    stack = [""]
    while stack:
        sub = stack.pop()
        folder = top + "/" + sub if sub else top
        try:
            st = os.lstat(folder)
            if not _stat.S_ISDIR(st.st_mode):
                continue
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        stamps.append((sub, st.st_mtime_ns if st.st_mtime_ns < horizon else -1, st.st_ino))
        # the *.yaml names picked in C (a million in 0.05 s, not 0.2 s)
        files = list(compress(names, map(str.endswith, names, repeat(".yaml"))))
        if any(map(str.startswith, files, repeat("."))):
            files = [name for name in files if name[0] != "."]
        if len(files) < len(names):  # other names: a subfolder is looked into
            for name in names:
                if name[0] == "." or name.endswith(".yaml"):
                    continue
                with contextlib.suppress(OSError):
                    if _stat.S_ISDIR(os.lstat(folder + "/" + name).st_mode):
                        stack.append(sub + name + "/")
        groups.append((sub, files))
    return groups, stamps


class _Names:
    """The names of one folder as the index lists them ("\0"-joined), split
    only as far as they are used: a stat process splits its own share
    (``cover``), from the nearer end; anything else splits them all."""

    __slots__ = ("joined", "n", "_all", "_part")

    def __init__(self, joined: str):
        self.joined = joined
        self.n = joined.count("\0") + 1 if joined else 0
        self._all: list | None = None
        self._part: tuple | None = None   # (start, the names from there)

    def __len__(self) -> int:
        return self.n

    def cover(self, lo: int, hi: int) -> None:
        """Have the names ``[lo, hi)`` at hand, splitting as few as may be."""
        part = self._part
        if self._all is not None or lo >= hi or \
                part is not None and part[0] <= lo and hi <= part[0] + len(part[1]):
            return
        if hi <= self.n - lo:   # nearer the start: split off the first hi names
            names = self.joined.split("\0", hi)
            if hi < self.n:
                names.pop()     # the rest, unsplit
            self._part = (0, names)
        else:                   # nearer the end: split off the last n - lo
            names = self.joined.rsplit("\0", self.n - lo)
            if lo > 0:
                del names[0]
            self._part = (lo, names)

    def _every(self) -> list:
        if self._all is None:
            self._all = self.joined.split("\0") if self.joined else []
            self._part = None
        return self._all

    def __getitem__(self, index):
        part = self._part
        if type(index) is slice and part is not None:
            lo, hi, step = index.indices(self.n)
            if step == 1 and part[0] <= lo and hi <= part[0] + len(part[1]):
                return part[1][lo - part[0]:hi - part[0]]
        return self._every()[index]

    def __iter__(self):
        return iter(self._every())


ALIGN_BLOCK = 1024    # names compared at a time by _aligned
ALIGN_GAPS = 64       # places where names were added or removed that _aligned follows
ALIGN_REACH = 32      # names looked ahead at each of them


def _aligned(old: list, new: list) -> list | None:
    """For each name of ``new``, its place in ``old`` (``len(old)`` for a
    name not there), when ``new`` is ``old`` with a few names added and
    removed and the others in the same order -- as listing a folder again
    after a file was added gives (the order of ``os.listdir`` is the
    folder's own, and it keeps that of the others).  Compared a block at a
    time in C: at 1,000,000 names a few ms, where a dict of the old names
    took 0.4 s.  None when the names differ in another way."""
    n_old, n = len(old), len(new)
    at: list[int] = []
    i = j = gaps = 0
    step = ALIGN_BLOCK
    while i < n_old and j < n:
        k = min(step, n_old - i, n - j)
        if new[j:j + k] == old[i:i + k]:
            at.extend(range(i, i + k))
            i += k
            j += k
            continue
        while new[j] == old[i]:   # up to the first name that differs
            at.append(i)
            i += 1
            j += 1
        gaps += 1
        if gaps > ALIGN_GAPS:
            return None
        # the fewest names added (a) and removed (b) after which the two
        # agree again (names are unique: one name alike is the same file)
        for span in range(1, 2 * ALIGN_REACH + 1):
            found = None
            for a in range(max(0, span - ALIGN_REACH), min(span, ALIGN_REACH) + 1):
                b = span - a
                if j + a >= n or i + b >= n_old:
                    if j + a >= n and i + b >= n_old:  # both end here
                        found = (a, b)
                        break
                    continue
                if new[j + a] == old[i + b]:
                    found = (a, b)
                    break
            if found is not None:
                break
        else:
            return None
        a, b = found
        at.extend([n_old] * a)   # added
        j += a
        i += b                   # removed
    at.extend([n_old] * (n - j))  # added at the end
    return at


def _differing(new: bytes, old: bytes, n: int, rows: list) -> list[int]:
    """The positions whose packed key (24 bytes each) differs between
    ``new`` and ``old``, compared a block at a time; their ``rows`` are set
    to -1."""
    out: list[int] = []
    step = 16 * 24
    for b in range(0, len(new), step):
        if new[b:b + step] != old[b:b + step]:
            for j in range(b // 24, min(n, (b + step) // 24)):
                if new[24 * j:24 * j + 24] != old[24 * j:24 * j + 24]:
                    rows[j] = -1
                    out.append(j)
    return out


def _joined(names) -> str:
    return names.joined if type(names) is _Names else "\0".join(names)


def _cover(groups, lo: int, hi: int) -> None:
    """Split the lazily split names (``_Names``) of the flattened ``[lo, hi)``."""
    pos = 0
    for _, names in groups:
        end = pos + len(names)
        if end > lo and pos < hi and type(names) is _Names:
            names.cover(max(lo - pos, 0), min(hi, end) - pos)
        pos = end


def _stamps_hold(top: str, stamps) -> bool:
    """Is every folder as it was when ``stamps`` were taken?  Adding,
    removing or renaming an entry changes its folder's mtime."""
    for sub, mtime, ino in stamps:
        if mtime == -1:
            return False
        try:
            st = os.lstat(top + "/" + sub if sub else top)
        except OSError:
            return False
        if st.st_mtime_ns != mtime or st.st_ino != ino:
            return False
    return True


def _statkeys():
    """The C helper that takes many stat keys in one call
    (``crmcli/_statkeys.c``), or None where it was not built or
    ``CRM_PURE_STAT=1`` asks for the Python loop (to compare the two)."""
    if os.environ.get("CRM_PURE_STAT") == "1":
        return None
    try:
        from crmcli._statkeys import keys
    except ImportError:
        return None
    return keys


def _stat_range(top: str, groups, start: int, stop: int) -> array:
    """Packed ``(mtime_ns, size, inode)`` of the flattened names
    ``[start, stop)``; ``NO_KEY`` for a name that is gone or is not a
    regular file."""
    out = array("q")
    put = out.extend
    lstat = os.lstat
    regular = _stat.S_ISREG
    fast = _statkeys()
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
            if fast is not None:
                out.frombytes(fast(fd, names[lo:hi]))
            else:
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


class _StatJob:
    """The stat keys of every listed name of several types.  Past
    ``PARALLEL_STAT_MIN`` names the work is split among forked processes,
    one per core, which run while this process goes on (it loads the index
    meanwhile); each sends back, per type, either "as in the index" or the
    keys, and the files it found changed already parsed.  Below it, or where
    fork fails, the keys are taken here."""

    def __init__(self, parts):
        # parts: (top, groups, index keys or None, parse or None) per type
        self.parts = parts
        self.sizes = [sum(len(n) for _, n in part[1]) for part in parts]
        self.children = []
        self.early = None   # a pipe: a stat process writes a byte in it when it finds a change
        total = sum(self.sizes)
        workers = min(os.cpu_count() or 1, 4)
        least = PARALLEL_STAT_MIN
        if os.environ.get("CRM_PARALLEL_STAT_MIN", "").isdigit():  # tests force the forked path
            least = int(os.environ["CRM_PARALLEL_STAT_MIN"])
        if total < least or workers < 2 or not hasattr(os, "fork"):
            return
        bounds = [total * i // workers for i in range(workers + 1)]
        try:
            self.early, early = os.pipe()
        except OSError:
            return
        for i in range(workers):
            try:
                r, w = os.pipe()
                pid = os.fork()
            except OSError:
                break
            if pid == 0:  # the child: stat its share, send it, leave at once
                code = 0
                try:
                    os.close(r)
                    os.close(self.early)
                    data = pickle.dumps(self._work(bounds[i], bounds[i + 1], True, early),
                                        protocol=pickle.HIGHEST_PROTOCOL)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(w, view):]
                except BaseException:  # noqa: BLE001 - the parent does it again
                    code = 1
                os._exit(code)
            os.close(w)
            self.children.append((pid, r, bounds[i], bounds[i + 1]))
        os.close(early)
        os.set_blocking(self.early, False)

    def changed(self) -> bool:
        """Has a stat process found a file changed yet?  (It does not wait.)"""
        if self.early is None:
            return False
        try:
            return os.read(self.early, 1) == b"!"
        except BlockingIOError:
            return False

    def _work(self, start: int, stop: int, parse: bool = False, early: int | None = None) -> list:
        """[(type, lo, hi, None if as in the index else keys bytes, parsed)]
        for the flattened range ``[start, stop)`` of all types; ``parsed``
        maps the path of each changed file to (key, record, problems).  The
        first change found is told at once through the pipe ``early``."""
        out = []
        pos = 0
        for t, ((top, groups, old, parse_fn), size) in enumerate(zip(self.parts, self.sizes)):
            lo, hi = max(start - pos, 0), min(stop - pos, size)
            pos += size
            if lo >= hi:
                continue
            if early is not None and old is None:  # new names: a change
                _tell(early)
                early = None
            _cover(groups, lo, hi)
            if early is None:
                keys = _stat_range(top, groups, lo, hi)
            else:  # a block at a time, to tell the first change as soon as it is seen
                keys = array("q")
                for a in range(lo, hi, EARLY_CHUNK):
                    b = min(hi, a + EARLY_CHUNK)
                    block = _stat_range(top, groups, a, b)
                    keys.extend(block)
                    if early is not None and block.tobytes() != old[24 * a:24 * b]:
                        _tell(early)
                        early = None
            raw = keys.tobytes()
            same = old is not None and old[24 * lo:24 * hi] == raw
            parsed: dict = {}
            if not same and old is not None and parse and parse_fn is not None:
                changed = []
                names = None
                step = 16 * 24
                for b in range(0, len(raw), step):
                    if raw[b:b + step] == old[24 * lo + b:24 * lo + b + step]:
                        continue
                    for j in range(b // 24, min(hi - lo, (b + step) // 24)):
                        key = tuple(keys[3 * j:3 * j + 3])
                        if key == NO_KEY or raw[24 * j:24 * j + 24] == old[24 * (lo + j):24 * (lo + j) + 24]:
                            continue
                        if names is None:
                            names = _names(groups, lo, hi)
                        changed.append((names[j], key))
                if len(changed) <= CHILD_PARSE_MAX:
                    for (path, key), (rec, problems) in zip(changed, parse_fn(top, [c[0] for c in changed])):
                        parsed[path] = (key, rec, problems)
            out.append((t, lo, hi, None if same else raw, parsed))
        return out

    def results(self) -> list[tuple[bool, array, dict]]:
        """Per type: (as in the index?, keys, files found changed and parsed)."""
        pieces: list = []
        covered = 0
        for pid, r, start, stop in self.children:
            with os.fdopen(r, "rb") as fh:
                data = fh.read()
            _, status = os.waitpid(pid, 0)
            try:
                part = pickle.loads(data) if status == 0 else None
            except Exception:  # noqa: BLE001 - a child that failed: done here
                part = None
            pieces.extend(part if part is not None else self._work(start, stop))
            covered = stop
        if self.early is not None:  # closed once every stat process is done with it
            os.close(self.early)
            self.early = None
        total = sum(self.sizes)
        if covered < total:
            pieces.extend(self._work(covered, total))
        out = []
        for t, part in enumerate(self.parts):
            old = part[2]
            mine = sorted((p for p in pieces if p[0] == t), key=lambda p: p[1])
            same = all(p[3] is None for p in mine)
            keys = array("q")
            if same and old is not None:
                keys.frombytes(old)
            else:
                keys.frombytes(b"".join(old[24 * p[1]:24 * p[2]] if p[3] is None else p[3] for p in mine))
            parsed: dict = {}
            for p in mine:
                parsed.update(p[4])
            out.append((same and old is not None, keys, parsed))
        return out


def _tell(fd: int) -> None:
    """Say "a change" in the pipe ``fd`` (a reader gone is no error)."""
    with contextlib.suppress(OSError):
        os.write(fd, b"!")


def _names(groups, lo: int, hi: int) -> list[str]:
    """The paths of the flattened names ``[lo, hi)``."""
    out: list[str] = []
    pos = 0
    for sub, names in groups:
        end = pos + len(names)
        if end > lo and pos < hi:
            out.extend(sub + name for name in names[max(lo - pos, 0):min(hi - pos, len(names))])
        pos = end
    return out


def _all_files(keys: array) -> bool:
    """Is every listed name a record file (no ``NO_KEY`` among the packed
    keys)?  Searched in the bytes: ``-1 in keys`` makes a number of each."""
    data = keys.tobytes()
    i = data.find(NO_KEY_BYTES)
    while i >= 0:
        if i % 24 == 0:
            return False
        i = data.find(NO_KEY_BYTES, i + 1)
    return True


def _flatten(groups, keys: array) -> tuple[list[str], array]:
    """Paths (relative to the type's folder) and keys of the regular files."""
    if _all_files(keys):  # the usual case: every listed name is a record file
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
    out = []
    memo: dict = {}  # equal values one object, so the parent unpickles each once
    for rid, path in items:
        rec, _, problems = st.read_file(kind, rid, path)
        out.append((_shared(rec, memo) if rec is not None else None, problems))
    return out


def _progress(kind: str, done: int, total: int) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\rreading {kind} files [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


# --- the index ------------------------------------------------------------------

class _State:
    """What one type's files hold now: for each current file (in listing
    order) its path, and where its record comes from: a row of the index
    (``rows[j]`` >= 0) or a freshly read entry (``extra[path]``).  ``clean``:
    the index as it is, every file unchanged."""

    __slots__ = ("paths", "rows", "extra", "header", "blob_reader", "records", "clean")

    def __init__(self, paths, rows, extra, header, blob_reader, records=None, clean=False):
        self.paths = paths
        self.rows = rows            # index row per current file, or -1
        self.extra = extra          # path -> (key, record or None, problems)
        self.header = header        # the index's header (or None)
        self.blob_reader = blob_reader
        self.records = records      # (records, problems) when already loaded
        self.clean = clean


class _Plan:
    """One type's index and listing, before its files are stat'ed."""

    __slots__ = ("kind", "top", "header", "reader", "groups", "stamps", "same_listing",
                 "horizon", "loaded", "fields")


def _records(state: _State, tags: list | None = None):
    """(records sorted by id, error problems) of a state: the records that
    read without an error, and the errors of the others.  With ``tags`` (a
    list), the index row of each record, and of each problem, are put there
    (for ``_patch``)."""
    records, problems = [], []
    header = state.header
    rows = header["order"] if state.clean else state.rows  # order: the live rows by id
    if header is not None and any(r >= 0 for r in rows):
        shapes, shape_of, values = state.blob_reader("records")
        bad = header["problems"]
        if tags is not None and not bad:  # the usual case, in one pass
            records = [dict(zip(shapes[shape_of[r]], values[r])) for r in rows]
            tags.extend((rows, []))
            return records, problems
        rec_rows, prob_rows = [], []
        for r in rows:
            if r < 0:
                continue
            vals = values[r]
            probs = bad.get(r)
            if probs is not None:
                errors = [p for p in probs if p.severity == "error"]
                if errors:
                    problems.extend(errors)
                    prob_rows.extend([r] * len(errors))
                    continue
            if vals is not None:
                records.append(dict(zip(shapes[shape_of[r]], vals)))
                rec_rows.append(r)
        if tags is not None:  # problems stay in row order here: _patch sorts them
            tags.extend((rec_rows, prob_rows))
            return records, problems
    if tags is not None:  # no row in the index
        tags.extend(([], []))
    more_recs, more_probs = valid_records((rec, ps) for _, rec, ps in state.extra.values())
    records.extend(more_recs)
    problems.extend(more_probs)
    if not state.clean:
        records.sort(key=_by_id)
    problems.sort(key=_by_place)
    return records, problems


def _patch(loaded, rows, extra):
    """(records, problems) from what was loaded of the index before the stat
    said which rows changed: the rows still used, and the new entries."""
    recs, probs, rec_rows, prob_rows, live = loaded
    gone = set(live).difference(rows)
    if gone:  # the rows not used any more
        recs = [rec for rec, r in zip(recs, rec_rows) if r not in gone]
        probs = [p for p, r in zip(probs, prob_rows) if r not in gone]
    else:
        recs, probs = list(recs), list(probs)
    more_recs, more_probs = valid_records((rec, ps) for _, rec, ps in extra.values())
    recs.extend(more_recs)
    probs.extend(more_probs)
    recs.sort(key=_by_id)
    probs.sort(key=_by_place)
    return recs, probs


def _drop(col: list, drop) -> None:
    """Take the items at the positions ``drop`` (in descending order) out of
    ``col``, each replaced by the last item: the order of columns is not
    kept, so this costs one move per item dropped, not a copy of the list."""
    for r in drop:
        last = col.pop()
        if r < len(col):
            col[r] = last


def _columns(state: _State, fields, tags: list | None = None, derive=None):
    """(Columns, error problems) of a state: like ``_records``, the fields
    of the records that read without an error, as columns (in no defined
    order), and the errors of the others.  The index's columns hold every
    row ever written to it: the rows no longer used (``header["dead"]``, or
    not in ``state.rows``) and those of files with errors are dropped.
    With ``tags``, what ``_patch_columns`` needs to drop more; ``derive``
    works out the derived fields of new records (``records.derived``)."""
    from crmcli.records import Columns
    names = tuple(dict.fromkeys(fields))
    header = state.header
    cols: dict = {name: [] for name in names}
    problems: list = []
    prob_rows: list = []
    n, drop = 0, []
    if header is not None and (state.clean or any(r >= 0 for r in state.rows)):
        n = header["rows"]
        shapes, shape_of = header["shapes"], header["shape_of"]
        if state.clean:
            gone = set(header["dead"])
        else:  # the rows of the files as they are now, and no other
            gone = set(range(n)).difference(state.rows)
        for r, probs in header["problems"].items():
            if r not in gone:
                errors = [p for p in probs if p.severity == "error"]
                if errors:
                    problems.extend(errors)
                    prob_rows.extend([r] * len(errors))
                    gone.add(r)
        if () in shapes:  # files that did not read (they have errors too)
            empty = shapes.index(())
            gone.update(r for r, s in enumerate(shape_of) if s == empty)
        drop = sorted(gone, reverse=True)
        for name in names:
            col = cols[name] = state.blob_reader.column(name)
            _drop(col, drop)
    if tags is not None:
        tags.extend(((n, drop), prob_rows))
    else:
        more_recs, more_probs = valid_records((rec, ps) for _, rec, ps in state.extra.values())
        more = Columns.of_records(more_recs, names, derive).cols
        for name in names:
            cols[name].extend(more[name])
        problems.extend(more_probs)
    problems.sort(key=_by_place)
    token = header.get("token") if header is not None and state.clean else None
    return Columns(cols, len(cols[names[0]]), token), problems


def _patch_columns(loaded, rows, extra, derive=None):
    """``_patch`` for what was loaded as columns (changed in place)."""
    from crmcli.records import Columns
    cols, probs, (n, drop), prob_rows, live = loaded
    cols = cols.cols
    gone = set(live).difference(rows)
    if gone:  # the rows not used any more: where are they in the columns?
        where = list(range(n))
        _drop(where, drop)
        at = sorted((i for i, r in enumerate(where) if r in gone), reverse=True)
        for col in cols.values():
            _drop(col, at)
        probs = [p for p, r in zip(probs, prob_rows) if r not in gone]
    else:
        probs = list(probs)
    more_recs, more_probs = valid_records((rec, ps) for _, rec, ps in extra.values())
    more = Columns.of_records(more_recs, list(cols), derive).cols
    for name, col in cols.items():
        col.extend(more[name])
    probs.extend(more_probs)
    probs.sort(key=_by_place)
    return Columns(cols, len(next(iter(cols.values())))), probs


class _Lazy:
    """A list worked out when first used (the paths or rows of a state that
    only ``entries`` and ``related`` walk)."""

    __slots__ = ("make", "_items")

    def __init__(self, make):
        self.make, self._items = make, None

    def _get(self):
        if self._items is None:
            self._items = self.make()
        return self._items

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())


class _Damaged(Exception):
    """A piece of an index file does not load: the index of that type is
    dropped and built again from the files."""


class _Blobs:
    """Reads the pickled pieces of an index file as they are asked for (a
    command that reads a few columns reads only those).  The file stays
    open: a newer index replaces it by a rename, never in place."""

    def __init__(self, header: dict, fh):
        self.header, self.fh, self.cache = header, fh, {}

    def read(self, off: int, length: int) -> bytes:
        return _pread(self.fh.fileno(), off, length)

    def _load(self, off: int, length: int) -> list:
        try:
            return _unpickle(self.fh.fileno(), off, length)
        except Exception as exc:  # noqa: BLE001 - any damage: built again
            raise _Damaged(f"{self.fh.name}: {exc}") from exc

    def column(self, name: str) -> list:
        """One field's value in every row of the index (None where the
        record has no such field, or there is no record): a new list."""
        col: list = []
        for n, places in self.header["cols"]:
            place = places.get(name)
            if place is None:
                col.extend([None] * n)
            else:
                col.extend(self._load(*place))
        return col

    def _concat(self, places) -> list:
        out: list = []
        for off, length in places:
            out.extend(self._load(off, length))
        return out

    def __call__(self, name):
        cache = self.cache
        if name not in cache:
            header = self.header
            if name == "records":
                cache[name] = (header["shapes"], header["shape_of"], self._concat(header["pieces"]))
            else:
                cache[name] = self._concat(header["refs"])
        return cache[name]


def _regular_rows(header) -> list:
    """The index row of each record file of the index's listing, in order."""
    rowmap = header["rowmap"]
    return [r for r in rowmap if r >= 0] if -1 in rowmap else list(rowmap)


class Index:
    def __init__(self, store):
        self.store = store
        self.dir = store.root / ".crm"
        self.ignored: set = set()   # kinds whose index proved damaged (see _Damaged)
        self.guessed: tuple | None = None   # (answer,) worked out while the stat ran: see load_many
        self.swept = False           # the leftovers of killed writers looked for (see _sweep)

    def _file(self, kind: str) -> Path:
        return self.dir / f"index-{kind}.bin"

    def _derive(self, kind: str):
        from crmcli.records import derived
        return derived(kind, self.store.config)

    def _config_key(self):
        st = os.stat(self.store.root / "crm.yaml")
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    # ------------------------------------------------------------ public
    def load(self, kind: str):
        """(records, problems) of one kind, through the index: the records
        that read without an error, sorted by id, and the errors of the others."""
        return self.load_many([kind])[kind]

    def load_many(self, kinds, columns=None, guess=None) -> dict:
        """{kind: (records, problems)} of several kinds at once: the stat
        calls of all of them run in other processes while this one loads
        the index, taking it to be current until they say otherwise.  The
        kinds in ``columns`` ({kind: fields}) come as (Columns, problems).

        ``guess``, a function of such a dict without side effects, is
        called meanwhile on the index as it is; when every file proves
        unchanged its result is ``self.guessed[0]`` (else that is None):
        a command's answer worked out while the files are checked."""
        columns = columns or {}
        with _no_gc():
            states = self._states(kinds, preload=True, columns=columns, guess=guess)
            if not all(state.clean for state in states):
                self.guessed = None
            out = {}
            for kind, state in zip(kinds, states):
                try:
                    if state.records is not None:
                        out[kind] = state.records
                    elif kind in columns:
                        out[kind] = _columns(state, columns[kind], derive=self._derive(kind))
                    else:
                        out[kind] = _records(state)
                except _Damaged:  # dropped: read from the files, and indexed again
                    self.guessed = None
                    self._drop_index(kind)
                    out[kind] = self.load_many([kind], {kind: columns[kind]} if kind in columns else None)[kind]
        import crmcli
        if crmcli.KEEP_ALIVE is not None:
            crmcli.KEEP_ALIVE.append(out)
        return out

    def entries(self, kind: str) -> list[tuple[str, dict | None, list]]:
        """(path relative to the folder, record or None, every problem) of
        every file of a kind, in listing order."""
        try:
            return self._entries(kind)
        except _Damaged:
            self._drop_index(kind)
            return self._entries(kind)

    def entries_many(self, kinds):
        """``(ids, entries)`` for every file of several kinds, stat'ed in one
        go: ``ids[kind]``, the ids of its files; ``entries(kind)``, what
        ``entries`` gives (so one kind's records at a time are in memory)."""
        with _no_gc():
            states = dict(zip(kinds, self._states(list(kinds))))
            ids = {kind: {path.rsplit("/", 1)[-1][:-5] for path in state.paths} for kind, state in states.items()}

        def entries(kind: str):
            try:
                return self._entries(kind, states.pop(kind))
            except _Damaged:
                self._drop_index(kind)
                return self._entries(kind)
        return ids, entries

    def _entries(self, kind: str, state: _State | None = None):
        from crmcli.schema import FOLDERS
        prefix = FOLDERS[kind] + "/"
        with _no_gc():
            if state is None:
                state = self._states([kind])[0]
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
        try:
            return self._related(kind, client, deals)
        except _Damaged:
            self._drop_index(kind)
            return self._related(kind, client, deals)

    def client_related(self, client: str):
        """(deals, activities) of ``client``: its deals, and the activities
        that name it or one of those deals (each a (records, problems) as
        ``related`` gives).  The files of both types are stat'ed in one go."""
        try:
            deal_state, act_state = self._states(["deal", "activity"])
            deals = self._related("deal", client, frozenset(), deal_state)
            return deals, self._related("activity", client, {d["id"] for d in deals[0]}, act_state)
        except _Damaged:
            deals = self.related("deal", client)
            return deals, self.related("activity", client, {d["id"] for d in deals[0]})

    def _related(self, kind: str, client: str, deals, state: _State | None = None):
        store = self.store
        if state is None:
            state = self._states([kind])[0]
        top = store.folder(kind)
        want: list[str] = []
        if state.header is not None:
            refs = None
            for path, r in zip(state.paths, state.rows):
                if r >= 0:
                    if refs is None:
                        refs = state.blob_reader("refs")
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
    def _horizon(self) -> int:
        """The file system's "now", before anything is listed or stat'ed: a
        file or folder whose mtime is not before it may change again within
        the clock's resolution and keep its stat, so it is stored with a key
        that matches nothing (git's "racily clean" rule).  Taken from the
        mtime of ``.crm/clock`` as it is touched, the clock file mtimes come
        from; where it cannot be touched, 2 s before this process's clock."""
        clock = self.dir / "clock"
        with contextlib.suppress(OSError):
            if self.store.derived_dir() is not None:
                try:
                    os.utime(clock)
                except FileNotFoundError:
                    os.close(os.open(clock, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644))
                st = os.lstat(clock)
                if _stat.S_ISREG(st.st_mode):
                    return st.st_mtime_ns
        return time.time_ns() - RACY_NS

    def _plan(self, kind: str, config_key, horizon: int) -> _Plan:
        p = _Plan()
        p.kind = kind
        p.top = os.fspath(self.store.folder(kind))
        p.header, p.reader = self._read_header(kind, config_key)
        p.horizon = horizon
        p.loaded = None
        p.fields = None
        header = p.header
        if header is not None and _stamps_hold(p.top, header["stamps"]):
            # no folder changed: the same names as when the index was written
            # (split where they are used: each stat process splits its share)
            p.groups = [(sub, _Names(names)) for sub, names in header["listing"]]
            p.stamps = header["stamps"]
            p.same_listing = True
        else:
            p.groups, p.stamps = listing(p.top, p.horizon)
            p.same_listing = header is not None and \
                [(sub, "\0".join(names)) for sub, names in p.groups] == header["listing"]
        return p

    def _states(self, kinds, preload: bool = False, columns=None, guess=None) -> list[_State]:
        """The state of each kind's files.  With ``preload``, the index is
        loaded while the stat runs (``_State.records``); with ``guess`` too,
        ``guess({kind: (records, problems)})`` is called on what was loaded
        before the stat is waited for (when every kind has an index and the
        same names), its result kept in ``self.guessed`` as ``(result,)``."""
        config_key = self._config_key()
        horizon = self._horizon()
        plans = [self._plan(kind, config_key, horizon) for kind in kinds]
        job = _StatJob([(p.top, p.groups, p.header["keys"] if p.same_listing else None,
                         self._parse_paths(p.kind)) for p in plans])
        if preload:  # while the stat runs elsewhere: load what the index holds
            for p in plans:
                p.fields = (columns or {}).get(p.kind)
                if p.same_listing:
                    tags: list = []
                    clean = _State(None, None, {}, p.header, p.reader, clean=True)
                    try:
                        if p.fields is None:
                            recs, probs = _records(clean, tags)
                        else:
                            recs, probs = _columns(clean, p.fields, tags)
                    except _Damaged:  # taken as no index: every file is read
                        self._drop_index(p.kind)
                        p.header = p.reader = None
                        p.same_listing = False
                        continue
                    p.loaded = (recs, probs, tags[0], tags[1], p.header["order"])
            # (not when a stat process has already found a change: it would be worked out twice)
            if guess is not None and all(p.loaded is not None for p in plans) and not job.changed():
                try:
                    self.guessed = (guess({p.kind: (p.loaded[0], sorted(p.loaded[1], key=_by_place))
                                           for p in plans}),)
                except Exception:  # noqa: BLE001 - worked out again on the files as they are
                    pass
        states = []
        for p, (same, keys, parsed) in zip(plans, job.results()):
            states.append(self._state(p, same and p.header is not None, keys, parsed, config_key))
        return states

    def _parse_paths(self, kind: str):
        """parse(top, paths) -> [(record, problems)], for a stat process."""
        store = self.store

        def parse(top, paths):
            return [store.read_file(kind, path.rsplit("/", 1)[-1][:-5], top + "/" + path)[::2]
                    for path in paths]
        return parse

    def _state(self, p: _Plan, same: bool, keys: array, parsed: dict, config_key) -> _State:
        kind, header, reader = p.kind, p.header, p.reader
        if same:
            if p.stamps != header["stamps"] and all(m != -1 for _, m, _ in p.stamps):
                # the folders' stamps were not to be trusted then, are now
                self._write(kind, config_key, p, keys, _flatten(p.groups, keys)[0], _regular_rows(header), {},
                            header, reader)
            records = None
            if p.loaded:
                records = (p.loaded[0], sorted(p.loaded[1], key=_by_place))
            return _State(_Lazy(lambda: _flatten(p.groups, keys)[0]), _Lazy(lambda: _regular_rows(header)),
                          {}, header, reader, records, clean=True)

        raw_keys = keys
        paths, keys = _flatten(p.groups, keys)
        n = len(paths)
        rows: list = [-1] * n
        missing: list = range(n)   # the files not found in the index as they are
        if header is not None:
            old_rows = _regular_rows(header)
            if p.same_listing and keys is raw_keys and len(old_rows) == n:
                old_paths, old_keys = paths, array("q", header["keys"])  # the same record files
            else:
                old_groups = [(sub, names.split("\0") if names else []) for sub, names in header["listing"]]
                old_paths, old_keys = _flatten(old_groups, array("q", header["keys"]))
            if old_paths is paths or old_paths == paths:
                # same files: compare the packed keys block by block, rows
                # only inside a block that differs
                rows = old_rows
                missing = _differing(keys.tobytes(), old_keys.tobytes(), n, rows)
            else:
                # files added or removed: each path's old key (if any) put in
                # the new order, then compared as above -- in C but for the
                # blocks that differ (at 1,000,000 files 0.3 s, not 1.2 s)
                n_old = len(old_paths)
                at = _aligned(old_paths, paths)
                if at is None:  # not a few names added or removed: by hash
                    at = list(map(dict(zip(old_paths, range(n_old))).get, paths, repeat(n_old)))
                old_slices = list(map(itemgetter(0), iter_unpack("24s", old_keys.tobytes())))
                old_slices.append(NO_KEY_BYTES)   # no old key: matches no stat
                old_bytes = b"".join(map(old_slices.__getitem__, at))
                old_rows.append(-1)
                rows = list(map(old_rows.__getitem__, at))
                missing = _differing(keys.tobytes(), old_bytes, n, rows)

        extra: dict = {}
        if missing:
            stale = [(paths[j], keys[3 * j:3 * j + 3]) for j in missing]
            todo = [(path, key) for path, key in stale
                    if path not in parsed or parsed[path][0] != tuple(key)]
            done = dict(zip([path for path, _ in todo], self._parse(kind, p.top, todo))) if todo else {}
            horizon = p.horizon
            memo: dict = {}
            for path, key in stale:
                rec, problems = done[path] if path in done else parsed[path][1:]
                if key[0] >= horizon:
                    key = array("q", RACY_KEY)  # read again next time
                extra[path] = (key, _shared(rec, memo) if rec is not None else None, problems)
        self._write(kind, config_key, p, raw_keys, paths, rows, extra, header, reader)
        state = _State(paths, rows, extra, header, reader)
        if p.loaded is not None and header is not None:
            if p.fields is None:
                state.records = _patch(p.loaded, rows, extra)
            else:
                state.records = _patch_columns(p.loaded, rows, extra, self._derive(kind))
        return state

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
    def _drop_index(self, kind: str) -> None:
        """Take a damaged index of ``kind`` as none: read the files, write it afresh."""
        self.ignored.add(kind)
        with contextlib.suppress(OSError):
            if self.store.derived_dir() is not None:
                os.unlink(self._file(kind))

    def _read_header(self, kind: str, config_key):
        """(header, blob reader) of the index, or (None, None)."""
        if kind in self.ignored:
            return None, None
        try:
            fh = open(self._file(kind), "rb", buffering=0)
        except OSError:
            return None, None
        try:
            start = fh.read(len(MAGIC) + 8)
            if start[:len(MAGIC)] != MAGIC:
                raise ValueError("not an index")
            where = int.from_bytes(start[len(MAGIC):], "big")
            size = os.fstat(fh.fileno()).st_size
            header = _unpickle(fh.fileno(), where, size - where)
            if header.get("format") != FORMAT or header.get("config") != config_key \
                    or header.get("end") != where:
                raise ValueError("another index")
        except Exception:  # noqa: BLE001 - a damaged or foreign index is rebuilt
            fh.close()
            return None, None
        return header, _Blobs(header, fh)

    def compact(self, kind: str) -> None:
        """Write the index of ``kind`` afresh from itself, without the rows
        no longer used: the fresh write a command leaves until its output is
        out (see ``_write``).  It only restates what the index says (the
        files are checked by the next command, as ever), and it does not
        replace an index that another process wrote meanwhile."""
        config_key = self._config_key()
        header, reader = self._read_header(kind, config_key)
        if header is None:
            return
        try:
            live = len(header["order"])
            if len(header["dead"]) <= max(COMPACT_MIN, live // 10):
                return  # done already (by another process, or a job queued twice)
            p = _Plan()
            p.kind, p.top, p.header, p.reader = kind, os.fspath(self.store.folder(kind)), header, reader
            p.horizon, p.loaded, p.fields, p.same_listing = None, None, None, True
            p.groups = [(sub, names.split("\0") if names else []) for sub, names in header["listing"]]
            p.stamps = header["stamps"]
            raw_keys = array("q", header["keys"])
            paths = _flatten(p.groups, raw_keys)[0]
            read_ino = os.fstat(reader.fh.fileno()).st_ino
            self._write(kind, config_key, p, raw_keys, paths, _regular_rows(header), {}, header, reader,
                        fresh=True, replaces=read_ino)
        finally:
            reader.fh.close()

    def _write(self, kind, config_key, p: _Plan, raw_keys, paths, rows, extra, header, reader,
               fresh: bool = False, replaces: int | None = None) -> None:
        """A new generation of the index: the rows still used keep their
        place, the new records go in new pieces after them (the old pieces
        are copied as bytes); when too many old rows are no longer used, or
        there is no index, every record is written afresh.

        A large index (``DETACH_MIN`` rows) is written afresh only after
        the command, in a process of its own (``crmcli.LATER``): the command
        writes its new generation as usual and leaves; past as many unused
        rows as used ones it is written afresh at once all the same."""
        derive = self._derive(kind)
        live = len(rows) - rows.count(-1)   # (a row is -1 or a row)
        dead = header["rows"] - live if header is not None else 0
        fresh = fresh or header is None or dead > max(COMPACT_MIN, (live + len(extra)) // 10)
        if fresh and header is not None and replaces is None:
            import crmcli
            size = live + len(extra)
            if crmcli.LATER is not None and size >= DETACH_MIN and dead <= size:
                fresh = False
                if kind not in _DEFERRED:
                    _DEFERRED.add(kind)
                    crmcli.LATER.append(lambda: self.compact(kind))
        if fresh:
            shapes, shape_of = [], array("H")
            old_problems: dict = {}
            total = 0
        else:
            shapes, shape_of = list(header["shapes"]), array("H", header["shape_of"])
            old_problems = header["problems"]
            total = header["rows"]
        if fresh and live:
            old_shapes, old_shape_of, old_values = reader("records")
            old_refs = reader("refs")
            old_problems_all = header["problems"]
        shape_index = {shape: i for i, shape in enumerate(shapes)}
        values: list = []           # of the rows written now
        refs: list = []
        problems: dict = {}

        def put(entry) -> int:
            """The row of a new entry (key, record or None, problems); -1 when
            the folder is too irregular to index (65,535 key orders)."""
            _, rec, probs = entry
            if rec is None:
                shape, vals, ref = (), None, (None, None)
            else:
                shape, vals = tuple(rec), tuple(rec.values())
                ref = (rec.get("client"), rec.get("deal"))
            return put_row(shape, vals, ref, probs)

        def put_row(shape, vals, ref, probs) -> int:
            s = shape_index.get(shape)
            if s is None:
                if len(shapes) >= 65535:
                    return -1
                s = shape_index[shape] = len(shapes)
                shapes.append(shape)
            row = total + len(values)
            shape_of.append(s)
            values.append(vals)
            refs.append(ref)
            if probs:
                problems[row] = probs
            return row

        def put_read():
            """(the listing's keys, the row of each file, the places of the
            files read afresh) with those put in as new rows, when every
            listed name is a record file; None for a folder too irregular
            to index (it is then read without one)."""
            listed, rowmap, read = array("q", raw_keys), array("q", rows), []
            for j in compress(range(len(rows)), map(lt, rows, repeat(0))):
                entry = extra[paths[j]]
                row = put(entry)
                if row < 0:
                    return None
                listed[3 * j:3 * j + 3] = array("q", entry[0])
                rowmap[j] = row
                read.append(j)
            return listed, rowmap, read

        old_rowmap = header["rowmap"] if header is not None else None
        every_file = _all_files(raw_keys)
        if not fresh and p.same_listing and len(rows) == len(old_rowmap) and every_file \
                and -1 not in old_rowmap:
            # the usual case: the same record files as the index's, some
            # changed in place; the rest of the header is the old one's
            done = put_read()
            if done is None:
                return
            listed, rowmap, read = done
            remap = {old_rowmap[j]: rowmap[j] for j in read}
            for r, probs in header["problems"].items():
                if r not in remap:
                    problems[r] = probs
            order = array("q", [remap.get(r, r) for r in header["order"]])
            dead = array("q", header["dead"])
            dead.extend(remap)
        elif not fresh and every_file and len(extra) <= INSERT_MAX:
            # files added or removed (a few): every listed name is a record
            # file, so the listing's keys are the files' keys; the rows kept
            # keep their place and their order by id, the new ones go in by id
            done = put_read()
            if done is None:
                return
            listed, rowmap, _ = done
            live = set(rowmap)
            for r, probs in old_problems.items():
                if r in live:
                    problems[r] = probs
            order = array("q", filter(live.__contains__, header["order"]))
            if values:
                at = dict(zip(rowmap, range(len(paths))))

                def id_of(row: int) -> tuple:  # (its id, its place): as the sort below orders them
                    j = at[row]
                    return paths[j].rsplit("/", 1)[-1][:-5], j
                for row in range(total, total + len(values)):
                    order.insert(bisect.bisect(order, id_of(row), key=id_of), row)
            dead = array("q", sorted(set(range(total)).difference(live)))
        else:
            listed = array("q")     # the keys of the whole listing (NO_KEY: no record file)
            rowmap = array("q")
            new_rows: list = []
            j = 0
            for i in range(0, len(raw_keys), 3):
                if raw_keys[i] == -1 and raw_keys[i + 1] == -1:
                    listed.extend(NO_KEY)
                    rowmap.append(-1)
                    continue
                path, r = paths[j], rows[j]
                j += 1
                if r >= 0 and not fresh:  # kept where it is
                    listed.extend(raw_keys[i:i + 3])
                    row = r
                    if r in old_problems:
                        problems[r] = old_problems[r]
                elif r >= 0:
                    listed.extend(raw_keys[i:i + 3])
                    row = put_row(old_shapes[old_shape_of[r]], old_values[r], old_refs[r],
                                  old_problems_all.get(r))
                else:
                    listed.extend(extra[path][0])
                    row = put(extra[path])
                if row < 0:
                    return  # a folder this irregular is read without an index
                rowmap.append(row)
                new_rows.append(row)
            ids = [path.rsplit("/", 1)[-1][:-5] for path in paths]
            order = array("q", (new_rows[k] for k in sorted(range(len(paths)), key=ids.__getitem__)))
            dead = array("q") if fresh else array("q", sorted(set(range(total)).difference(new_rows)))
        header_new = {"format": FORMAT, "config": config_key, "stamps": p.stamps,
                      # this generation, and no other: what a result worked out from
                      # it is kept with (``Columns.token``, ``Memo``)
                      "token": os.urandom(16).hex(),
                      "listing": [(sub, _joined(names)) for sub, names in p.groups],
                      "keys": listed.tobytes(), "rowmap": rowmap, "rows": total + len(values),
                      "shapes": shapes, "shape_of": shape_of, "problems": problems, "order": order,
                      "dead": dead,
                      "pieces": [] if fresh else list(header["pieces"]),
                      "refs": [] if fresh else list(header["refs"]),
                      "cols": [] if fresh else list(header["cols"])}

        def parts():
            if not fresh:  # the old pieces as they are, a few MiB at a time
                for off in range(len(MAGIC) + 8, header["end"], COPY_CHUNK):
                    yield "copy", reader.read(off, min(COPY_CHUNK, header["end"] - off))
            # the values in pieces, each written as it is made: the pickler's
            # memo of one piece stays small (one pickle of 100,000 records
            # peaked at 100 MB more)
            for i in range(0, len(values), ROWS_PER_PIECE):
                piece = values[i:i + ROWS_PER_PIECE]
                yield "pieces", pickle.dumps(piece, protocol=pickle.HIGHEST_PROTOCOL)
                yield "refs", pickle.dumps(refs[i:i + ROWS_PER_PIECE], protocol=pickle.HIGHEST_PROTOCOL)
                # the same rows field by field, for commands that read a few
                # fields of every record (``Index.load_many(columns=...)``)
                yield "cols", len(piece)
                for name, col in _piece_columns(shapes, shape_of[total + i:total + i + len(piece)], piece,
                                                derive):
                    yield ("col", name), pickle.dumps(col, protocol=pickle.HIGHEST_PROTOCOL)
        self._write_file(kind, parts(), header_new, replaces)

    def _write_file(self, kind: str, parts, header: dict, replaces: int | None = None) -> None:
        """An index file: the magic, where the header is, the pieces as they
        come (their places noted in the header), the header last."""
        def fill(fh):
            fh.write(MAGIC + bytes(8))
            pos = len(MAGIC) + 8
            for name, blob in parts:
                if name == "cols":  # the columns of the piece of ``blob`` rows follow
                    header["cols"].append((blob, {}))
                    continue
                fh.write(blob)
                if type(name) is tuple:  # ("col", field)
                    header["cols"][-1][1][name[1]] = (pos, len(blob))
                elif name != "copy":
                    header[name].append((pos, len(blob)))
                pos += len(blob)
            header["end"] = pos
            fh.write(pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL))
            fh.seek(len(MAGIC))
            fh.write(pos.to_bytes(8, "big"))
        self._atomic(self._file(kind), fill, replaces)

    def _atomic(self, target: Path, fill, replaces: int | None = None) -> None:
        """Write a derived file whole or not at all (never fsync'ed: it can be
        rebuilt); ``fill`` writes the content to the open file.  With
        ``replaces`` (an inode), only while ``target`` is still that file."""
        with contextlib.suppress(OSError):
            if self.store.derived_dir() is None:
                return
            if not self.swept:
                self.swept = True
                _sweep(target.parent)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            try:
                with open(tmp, "wb") as fh:
                    fill(fh)
                if replaces is not None and os.stat(target).st_ino != replaces:
                    os.unlink(tmp)  # another process wrote a newer one meanwhile
                    return
                os.replace(tmp, target)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


STALE_TMP_S = 3600    # a temporary index file untouched this long is a leftover whoever wrote it


def _sweep(folder: Path) -> None:
    """Remove the temporary index files (``.index-<type>.bin.<pid>.tmp``,
    and those of ``Memo``)
    that writers killed mid-way left in ``.crm/``: those whose process is
    gone, or that nobody has written for an hour (a process on another
    machine sharing the folder).  An index file can be hundreds of MB."""
    with contextlib.suppress(OSError):
        with os.scandir(folder) as it:
            for entry in it:
                name = entry.name
                if not (name.startswith((".index-", ".memo-")) and name.endswith(".tmp")):
                    continue
                pid = name[:-4].rsplit(".", 1)[-1]
                with contextlib.suppress(OSError, ValueError):
                    if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)) or \
                            time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_TMP_S:
                        os.unlink(entry.path)


def _alive(pid: int) -> bool:
    if os.name != "posix":  # (signal 0 is Ctrl-C on Windows): only the hour counts there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


def _unpickle(fd: int, off: int, length: int):
    """``pickle.loads`` of ``length`` bytes of a file at ``off``, read
    through a mapping of them, not copied into a bytes object first (the
    100,000-client activity index's header: 0.05 s instead of 0.09-0.16 s).
    The mapping is gone when this returns.  (An index file is only ever
    replaced by a rename, never cut short in place, as git does with the
    index it maps.)  Where mapping fails, they are read."""
    if length <= 0 or off < 0:
        raise EOFError("the index file is shorter than its header says")
    delta = off % mmap.ALLOCATIONGRANULARITY
    try:
        mm = mmap.mmap(fd, length + delta, access=mmap.ACCESS_READ, offset=off - delta)
    except (OSError, ValueError, OverflowError):  # past the end of the file, or no mapping here
        return pickle.loads(_pread(fd, off, length))
    try:
        with memoryview(mm) as whole, whole[delta:] as view:
            return pickle.loads(view)
    finally:
        mm.close()


def _pread(fd: int, off: int, length: int) -> bytes:
    """``length`` bytes of a file at ``off``; fewer is an error."""
    data = os.pread(fd, length, off)
    if len(data) < length:  # a large read may come in parts
        parts = [data]
        got = len(data)
        while got < length:
            more = os.pread(fd, length - got, off + got)
            if not more:
                raise EOFError("the index file is shorter than its header says")
            parts.append(more)
            got += len(more)
        data = b"".join(parts)
    return data


def _piece_columns(shapes, shape_of, values, derive=None):
    """[(field, [its value in each row, None where it has none])] of rows
    given as values in the key order ``shapes[shape_of[i]]``; with
    ``derive``, the derived fields of each record too (``records.derived``)."""
    n = len(values)
    cols: dict = {}
    by_shape: dict = {}
    for i, (s, vals) in enumerate(zip(shape_of, values)):
        if vals is not None:
            by_shape.setdefault(s, []).append(i)
            if derive is not None:
                for name, value in derive(dict(zip(shapes[s], vals))).items():
                    col = cols.get(name)
                    if col is None:
                        col = cols[name] = [None] * n
                    col[i] = value
    for s, rows in by_shape.items():
        for pos, name in enumerate(shapes[s]):
            col = cols.get(name)
            if col is None:
                col = cols[name] = [None] * n
            for i in rows:
                col[i] = values[i][pos]
    # equal values one object in each column, so each is unpickled once (the
    # rows of a piece may come from several parsing processes, each sharing
    # its own).  At 10,000 clients the columns remind reads loaded in 62 ms
    # instead of 70; the general _shared, recursing into lists, cost a fresh
    # write of 100,000 activities 0.3 s, this 0.1 s.
    memo: dict = {}
    share = memo.setdefault
    for name, col in cols.items():   # texts and dates, the values repeated most (a date equals no text)
        cols[name] = [share(v, v) if type(v) is str or type(v) is date else v for v in col]
    return list(cols.items())


def _shared(value, memo: dict):
    """Make equal short texts, dates, date-times and amounts one object
    everywhere in a record (a dict, or a list in it), in place, so the pickle
    holds and loading builds each distinct value once (an amount or a
    date-time costs a constructor call to unpickle).  Keys are interned by
    the reader already.  Amounts and date-times are matched by their text:
    Decimal("1.0") == Decimal("1"), yet they print apart."""
    share = memo.setdefault
    for k, v in (value.items() if type(value) is dict else enumerate(value)):
        t = type(v)
        if t is str:
            if len(v) <= 40:
                nv = share(v, v)
                if nv is not v:
                    value[k] = nv
        elif t is date:
            nv = share((date, v), v)
            if nv is not v:
                value[k] = nv
        elif t is Decimal or t is datetime:  # by their text: 1.0 and 1 stay apart
            nv = share((t, str(v)), v)
            if nv is not v:
                value[k] = nv
        elif t is list or t is dict:
            _shared(v, memo)
    return value


class Memo:
    """A result worked out from one generation of a type's index, kept in
    ``.crm/memo-<name>.bin`` for the next command (``remind`` keeps each
    client's last contact and the open tasks: at 100,000 clients, a pass
    over a million activities).  The file holds a small key, then the body.
    The key names the generation by the token of its header; a command uses
    the body only when the records it loaded are exactly that generation
    (``Columns.token``), so a memo can be stale or missing, never wrong.
    Like the index, it can be deleted at any time."""

    def __init__(self, store, name: str, kind: str):
        self.index, self.kind = Index(store), kind
        self.path = self.index.dir / f"memo-{name}.bin"

    def index_stamp(self):
        """The (inode, size, mtime) of the type's index file now, or None:
        while it is the one the memo was written beside, its token is
        the memo's (a cheap guess; the token decides)."""
        try:
            st = os.stat(self.index._file(self.kind))
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def key(self) -> dict | None:
        """The memo's key (its ``token``, ``stamp`` and what the writer put
        in), or None when there is none that this version can read."""
        try:
            with open(self.path, "rb") as fh:
                key = pickle.load(fh)
        except Exception:  # noqa: BLE001 - missing, torn or of another version: none
            return None
        return key if type(key) is dict and key.get("format") == (FORMAT, MEMO_FORMAT) else None

    def body(self, token: str):
        """The body, if the file still holds the memo of ``token``; else None."""
        try:
            with open(self.path, "rb") as fh:
                key = pickle.load(fh)
                if type(key) is not dict or key.get("token") != token:
                    return None
                return pickle.load(fh)
        except Exception:  # noqa: BLE001 - replaced or torn meanwhile: none
            return None

    def write(self, token: str, stamp, body, **key) -> None:
        """Keep ``body`` as worked out from the generation ``token`` (whose
        index file had ``stamp``), whole or not at all."""
        key = {**key, "format": (FORMAT, MEMO_FORMAT), "token": token, "stamp": stamp}

        def fill(fh):
            pickle.dump(key, fh, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(body, fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.index._atomic(self.path, fill)


MEMO_FORMAT = 1
