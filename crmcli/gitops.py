"""git: the folder as a repository (contract section 9).

Every write by ``crm`` in a git folder becomes one commit whose message names
the record (:func:`autocommit`); ``crm sync`` pulls with rebase and pushes
(:func:`pull`, :func:`push`); ``crm history`` reads a record's log
(:func:`file_log`).  Only this module runs git.  A folder that is not inside a
git work tree is found out by looking for ``.git`` above it, without starting
a git process, so plain folders pay nothing.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from crmcli.errors import CrmError
from crmcli.store import work_tree as store_work_tree

# the identity of last resort, used only when git has none configured
FALLBACK_IDENTITY = ("-c", "user.name=crm", "-c", "user.email=crm@localhost")
# variables that would point git at another repository than the folder's own
_FOREIGN = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
            "GIT_PREFIX", "GIT_NAMESPACE")
_IDENTITY_TROUBLE = ("please tell me who you are", "unable to auto-detect email address",
                     "empty ident name", "name consists only of disallowed characters")
_NOTHING_TO_COMMIT = ("nothing to commit", "nothing added to commit", "no changes added to commit")
_RECORD_FOLDERS = ("clients", "deals", "activities", "stakeholders", "competitors")


class SyncConflict(CrmError):
    """``git pull --rebase`` stopped on files changed on both sides."""

    def __init__(self, message: str, files: list[str], hint: str | None = None):
        super().__init__(message, hint=hint)
        self.files = files


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
    # messages we read must be in English; character handling (hooks) stays the user's
    lc_all = env.pop("LC_ALL", None)
    if lc_all:
        for category in ("LC_CTYPE", "LC_COLLATE", "LC_TIME", "LC_NUMERIC"):
            env[category] = lc_all
    env["LC_MESSAGES"] = "C"
    env["LANGUAGE"] = "C"
    env["GIT_EDITOR"] = ":"      # never wait for an editor
    return env


def git(root: Path, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``git ARGS`` in ``root``; with ``check`` a failure is a CrmError."""
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, input=input,
                              encoding="utf-8", errors="replace", env=_env())
    except FileNotFoundError:
        raise CrmError("git is not installed (crm needs it for this)") from None
    if check and proc.returncode != 0:
        raise CrmError(f"git {args[0]} failed: {_said(proc)}")
    return proc


def _said(proc: subprocess.CompletedProcess) -> str:
    """What git said, on one line where it can be."""
    text = (proc.stderr or "").strip() or (proc.stdout or "").strip() or f"exit status {proc.returncode}"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("hint:")]
    return "; ".join(lines[:6]) or text


work_tree = store_work_tree  # the top of the folder's git work tree, or None


def require_repo(root: Path) -> Path:
    top = work_tree(root)
    if top is None:
        raise CrmError(f"{root} is not in a git repository",
                       hint="a new shared folder: crm init --git PATH; an existing one: "
                            "git init && git add -A && git commit -m 'crm data'")
    return top


def _rel(root: Path, path) -> str:
    p = Path(path)
    try:
        return p.absolute().relative_to(Path(root).absolute()).as_posix()
    except ValueError:
        return Path(os.path.relpath(p, root)).as_posix()


def _prefix(root: Path, top: Path) -> str:
    """The data folder's path inside the repository ("" at the top, else "crm/")."""
    try:
        rel = Path(root).resolve().relative_to(Path(top).resolve()).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel + "/"


# ------------------------------------------------------------------ commits
def commit(root: Path, paths: list[str], message: str) -> bool:
    """Stage exactly ``paths`` (removals included) and commit only them.

    Returns False when there was nothing to commit.  The user's own git
    identity is the author; git's lack of one falls back to crm.
    """
    paths = list(dict.fromkeys(paths))
    missing = [p for p in paths if not os.path.lexists(os.path.join(root, p))]
    if missing:
        # a removed file that git never knew needs no commit
        known = set(git(root, "--literal-pathspecs", "ls-files", "-z", "--", *missing).stdout.split("\0"))
        paths = [p for p in paths if p not in missing or p in known]
    if not paths:
        return False
    added = _retry_locked(root, "--literal-pathspecs", "add", "-A", "--", *paths, check=False)
    if added.returncode != 0:
        if _mentions(added, ("ignored by one of your .gitignore files",)):
            return False  # the repository above chose not to track this folder
        raise CrmError(f"git add failed: {_said(added)}")
    prefix = _prefix(root, work_tree(root) or root)
    ours = {prefix + p for p in paths}
    staged = {p for p in git(root, "diff", "--cached", "--name-only", "--no-renames", "-z").stdout.split("\0") if p}
    if not staged & ours:
        return False
    if staged <= ours:
        # the index holds nothing else: a plain commit is cheaper than --only
        args = ("commit", "-q", "-F", "-")
    else:
        # leave what the user staged alone; commit just the records crm wrote
        args = ("--literal-pathspecs", "commit", "-q", "--only", "-F", "-", "--", *paths)
    proc = _retry_locked(root, *args, check=False, input=message)
    if proc.returncode != 0 and _mentions(proc, _IDENTITY_TROUBLE):
        proc = _retry_locked(root, *FALLBACK_IDENTITY, *args, check=False, input=message)
    if proc.returncode != 0:
        if _mentions(proc, _NOTHING_TO_COMMIT):
            return False
        raise CrmError(f"git commit failed: {_said(proc)}")
    return True


def _mentions(proc, phrases) -> bool:
    text = f"{proc.stdout}\n{proc.stderr}".lower()
    return any(p in text for p in phrases)


def _retry_locked(root: Path, *args: str, check: bool = True, input: str | None = None):
    """git, retried for a few seconds while another git holds the index lock."""
    deadline = time.monotonic() + 5
    while True:
        proc = git(root, *args, check=False, input=input)
        if proc.returncode == 0 or "index.lock" not in (proc.stderr or "") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if check and proc.returncode != 0:
        raise CrmError(f"git {args[1] if args[0].startswith('--') else args[0]} failed: {_said(proc)}")
    return proc


def _one_line(text: str, limit: int = 100) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def commit_message(command_path: str, writes: list[tuple], detail: str | None = None) -> str:
    """``client add: ООО Ромашка (romashka-x3k9)``; several records: a summary
    line and one line per record in the body."""
    command = command_path.strip() or "crm"
    tail = f" {_one_line(detail)}" if detail else ""
    if len(writes) == 1:
        _action, _kind, rid, title, _path = writes[0]
        return f"{command}: {_record(rid, title)}{tail}\n"
    counts = {}
    for action, *_ in writes:
        counts[action] = counts.get(action, 0) + 1
    words = {"add": "added", "edit": "changed", "rm": "removed"}
    parts = ", ".join(f"{n} {words.get(a, a)}" for a, n in counts.items())
    lines = [f"{command}: {len(writes)} records ({parts}){tail}", ""]
    lines += [f"{kind} {action}: {_record(rid, title)}" for action, kind, rid, title, _path in writes]
    return "\n".join(lines) + "\n"


def _record(rid: str, title) -> str:
    title = _one_line(title or "")
    return f"{title} ({rid})" if title and title != rid else rid


def _merge_writes(writes) -> list[tuple]:
    """One entry per record: added-then-edited is an add, the last title wins."""
    merged: dict[tuple, list] = {}
    for action, kind, rid, title, path in writes:
        key = (kind, rid)
        if key not in merged:
            merged[key] = [action, kind, rid, title, path]
            continue
        entry = merged[key]
        if action == "rm":
            entry[0] = "rm"
            entry[4] = path
        elif entry[0] == "rm" and action == "add":
            entry[0] = "edit"
        if title and title != rid:
            entry[3] = title
    return [tuple(e) for e in merged.values()]


def autocommit(store, command_path: str, detail: str | None = None) -> bool:
    """Commit what the command wrote (``store.writes``) as one commit.

    Does nothing outside a git work tree or with crm.yaml ``git: {autocommit:
    false}``.  A commit that fails never loses data (the files are written):
    it is a warning on stderr.  Returns True when a commit was made.
    """
    writes = list(getattr(store, "writes", None) or [])
    if not writes:
        return False
    root = Path(store.root)
    if work_tree(root) is None:
        return False
    try:
        enabled = store.config.git.get("autocommit", True)
    except CrmError:
        enabled = True
    if not enabled:
        return False
    writes = _merge_writes(writes)
    paths = [_rel(root, w[4]) for w in writes]
    try:
        writes = [w if w[0] != "rm" or (w[3] and w[3] != w[2]) else (*w[:3], _old_title(root, w[1], rel), w[4])
                  for w, rel in zip(writes, paths)]
        with store.locked():
            return commit(root, paths, commit_message(command_path, writes, detail))
    except CrmError as exc:
        shown = ", ".join(paths[:3]) + (" ..." if len(paths) > 3 else "")
        sys.stderr.write(f"warning: the change is saved ({shown}) but was not committed to git: {exc.message}\n"
                         "hint: commit it yourself with git add and git commit\n")
        return False


def _old_title(root: Path, kind: str, rel: str) -> str | None:
    """The name a removed record had, read from the last commit."""
    from crmcli.codec import read_yaml
    from crmcli.schema import TITLE_FIELD
    proc = git(root, "show", f"HEAD:./{rel}", check=False)
    if proc.returncode != 0:
        return None
    try:
        raw, _lines, _problems = read_yaml(proc.stdout.encode("utf-8"), rel)
    except Exception:  # noqa: BLE001 - a title is a nicety, never a failure
        return None
    value = raw.get(TITLE_FIELD[kind]) if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def init_repo(root: Path) -> None:
    """``git init``, the derived .crm/ ignored, and a first commit."""
    ignore = Path(root) / ".gitignore"
    text = ignore.read_text(encoding="utf-8") if ignore.exists() else ""
    if ".crm/" not in text.split():
        from crmcli.store import atomic_write
        atomic_write(ignore, (text + ("" if not text or text.endswith("\n") else "\n") + ".crm/\n").encode())
    git(root, "init", "-q")
    git(root, "add", "-A")
    args = ("commit", "-q", "-m", "crm init")
    proc = git(root, *args, check=False)
    if proc.returncode != 0 and _mentions(proc, _IDENTITY_TROUBLE):
        proc = git(root, *FALLBACK_IDENTITY, *args, check=False)
    if proc.returncode != 0:
        raise CrmError(f"git commit failed: {_said(proc)}",
                       hint="the folder and its repository are made; commit them with git commit")


# ------------------------------------------------------------------ sync
@dataclass
class Upstream:
    branch: str
    remote: str
    merge: str          # refs/heads/main on the remote

    @property
    def name(self) -> str:
        short = self.merge[len("refs/heads/"):] if self.merge.startswith("refs/heads/") else self.merge
        return f"{self.remote}/{short}"


@dataclass
class SyncResult:
    pulled: int = 0
    pushed: int = 0
    upstream: str = ""
    files: list[str] = field(default_factory=list)


def upstream(root: Path) -> Upstream:
    proc = git(root, "symbolic-ref", "-q", "--short", "HEAD", check=False)
    branch = proc.stdout.strip()
    if proc.returncode != 0 or not branch:
        raise CrmError("HEAD is detached (not on a branch); crm sync needs a branch",
                       hint="switch to your branch: git switch main")
    remote = git(root, "config", f"branch.{branch}.remote", check=False).stdout.strip()
    merge = git(root, "config", f"branch.{branch}.merge", check=False).stdout.strip()
    if remote and merge:
        return Upstream(branch, remote, merge)
    remotes = git(root, "remote").stdout.split()
    if not remotes:
        raise CrmError("no git remote to sync with",
                       hint="add the team's shared repository and push once: "
                            f"git remote add origin URL && git push -u origin {branch}")
    raise CrmError(f"branch {branch} has no upstream branch to sync with",
                   hint=f"push it once with: git push -u {remotes[0]} {branch}")


def _git_path(root: Path, name: str) -> Path:
    return Path(root) / git(root, "rev-parse", "--git-path", name).stdout.strip()


def _rebase_dirs(root: Path) -> list[Path]:
    return [_git_path(root, "rebase-merge"), _git_path(root, "rebase-apply")]


def operation_in_progress(root: Path) -> str | None:
    git_dir = Path(root) / git(root, "rev-parse", "--git-dir").stdout.strip()
    for name, what in (("rebase-merge", "a rebase"), ("rebase-apply", "a rebase"),
                       ("MERGE_HEAD", "a merge"), ("CHERRY_PICK_HEAD", "a cherry-pick"),
                       ("REVERT_HEAD", "a revert")):
        if (git_dir / name).exists():
            return what
    return None


def uncommitted(root: Path, top: Path) -> list[str]:
    """Changes that stop a rebase (any tracked file) or would be left out of
    the sync (new record files), as paths relative to the data folder."""
    out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all").stdout.split("\0")
    found: list[str] = []
    i = 0
    while i < len(out):
        entry = out[i]
        i += 1
        if len(entry) < 4:
            continue
        xy, path = entry[:2], entry[3:]
        if xy[0] in "RC":
            i += 1  # the old name follows
        shown = Path(os.path.relpath(os.path.join(top, path), root)).as_posix()
        if xy == "??":
            first, name = shown.split("/", 1)[0], shown.rsplit("/", 1)[-1]
            record = first in _RECORD_FOLDERS and name.endswith(".yaml") and not name.startswith(".")
            if not (shown == "crm.yaml" or record):
                continue
        if xy == "!!":
            continue
        found.append(shown)
    return found


def pull(root: Path, up: Upstream) -> SyncResult:
    """``git pull --rebase`` (no autostash).  A rebase that stops is aborted,
    so nothing with conflict markers stays in the tree; SyncConflict names the
    files changed on both sides."""
    result = SyncResult(upstream=up.name)
    before = git(root, "rev-parse", "HEAD").stdout.strip()
    old_up = git(root, "rev-parse", "-q", "--verify", "@{upstream}", check=False).stdout.strip()
    proc = git(root, "-c", "rebase.autoStash=false", "pull", "--rebase", "--no-autostash", "--quiet",
               check=False)
    if proc.returncode != 0:
        conflicts = [p for p in git(root, "diff", "--name-only", "-z", "--diff-filter=U").stdout.split("\0") if p]
        stopped = any(d.exists() for d in _rebase_dirs(root))
        if stopped:
            abort = git(root, "rebase", "--abort", check=False)
            if abort.returncode != 0 or any(d.exists() for d in _rebase_dirs(root)):
                raise CrmError(f"git pull --rebase stopped and could not be undone: {_said(abort)}",
                               hint="look at git status; git rebase --abort puts things back")
        if conflicts:
            raise _conflict(root, before, conflicts)
        if stopped:
            raise CrmError(f"git pull --rebase stopped: {_said(proc)}; it was undone, nothing changed")
        raise CrmError(f"git pull failed: {_said(proc)}",
                       hint="check the remote with: git remote -v; git fetch")
    new_up = git(root, "rev-parse", "-q", "--verify", "@{upstream}", check=False).stdout.strip()
    if new_up and new_up != old_up:
        span = f"{old_up}..{new_up}" if old_up else new_up
        result.pulled = int(git(root, "rev-list", "--count", span).stdout.strip() or 0)
        result.files = sorted({p for p in git(root, "diff", "--name-only", "-z", before, "HEAD").stdout.split("\0")
                               if p})
    return result


def _conflict(root: Path, before: str, files: list[str]) -> SyncConflict:
    top = work_tree(root) or Path(root)
    prefix = _prefix(root, top)
    shown = [f[len(prefix):] if prefix and f.startswith(prefix) else f for f in files]
    lines = []
    for rel, path in list(zip(shown, files))[:10]:
        theirs = git(top, "log", "-1", "--format=%an, %ad: %s", "--date=short", "@{upstream}", "--not", before,
                     "--", path, check=False).stdout.strip()
        mine = git(top, "log", "-1", "--format=%s", before, "--not", "@{upstream}", "--", path,
                   check=False).stdout.strip()
        lines.append(f"  {rel}" + (f"\n    theirs: {theirs}" if theirs else "") + (f"\n    yours:  {mine}" if mine else ""))
    if len(files) > 10:
        lines.append(f"  ... and {len(files) - 10} more")
    message = ("sync stopped: the same lines were changed here and on the remote in:\n" + "\n".join(lines)
               + "\nnothing was changed: your commits are kept as they were, not pushed, and no file has"
                 " conflict markers")
    hint = ("to resolve: git pull --rebase; edit the named files to keep the right values and delete the"
            " <<<<<<< ======= >>>>>>> lines; crm check; git add the files; git rebase --continue; then crm sync"
            " (git rebase --abort gives up and puts everything back)")
    return SyncConflict(message, shown, hint)


def ahead(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "@{upstream}..HEAD").stdout.strip() or 0)


def push(root: Path, up: Upstream) -> int:
    """Push the commits the remote lacks; returns how many."""
    count = ahead(root)
    if not count:
        return 0
    proc = git(root, "push", "--quiet", up.remote, f"HEAD:{up.merge}", check=False)
    if proc.returncode != 0:
        if _mentions(proc, ("rejected", "fetch first", "non-fast-forward")):
            raise CrmError("push refused: the remote changed while crm was syncing; nothing is lost",
                           hint="run crm sync again")
        raise CrmError(f"git push failed: {_said(proc)}", hint="your commits are kept; run crm sync again later")
    return count


# ------------------------------------------------------------------ history
def file_log(root: Path, rel: str) -> list[dict]:
    """A file's commits, newest first, following renames: commit, date,
    author, email, message, path (relative to the data folder)."""
    top = work_tree(root) or Path(root)
    prefix = _prefix(root, top)
    proc = git(root, "log", "--follow", "--name-status", "--format=%x1e%H%x1f%aI%x1f%an%x1f%ae%x1f%s",
               "--", rel, check=False)
    if proc.returncode != 0:
        if _mentions(proc, ("does not have any commits", "bad default revision", "unknown revision")):
            return []
        raise CrmError(f"git log failed: {_said(proc)}")
    entries = []
    for chunk in proc.stdout.split("\x1e"):
        if not chunk.strip():
            continue
        head, _, rest = chunk.partition("\n")
        parts = head.split("\x1f")
        if len(parts) != 5:
            continue
        status, path = "M", rel
        for line in rest.splitlines():
            fields = line.split("\t")
            if len(fields) >= 2:
                status, path = fields[0], fields[-1]
                break
        if prefix and path.startswith(prefix):
            path = path[len(prefix):]
        commit_id, when, author, email, subject = parts
        entries.append({"commit": commit_id, "date": when, "author": author, "email": email,
                        "message": subject, "path": path})
        if status.startswith("C"):
            # --follow also finds "copies": short records look alike, but a
            # record that git calls a copy of another was born here
            break
    return entries


def find_removed(root: Path, rid: str, folders: list[str]) -> str | None:
    """The path a record no longer in the folder last had in git, if any."""
    specs = [f":(glob){f}/**/{rid}.yaml" for f in folders]
    proc = git(root, "log", "-1", "--format=", "--name-only", "--diff-filter=D", "--", *specs, check=False)
    if proc.returncode != 0:
        return None
    top = work_tree(root) or Path(root)
    prefix = _prefix(root, top)
    for name in proc.stdout.splitlines():
        name = name.strip()
        if name:
            return name[len(prefix):] if prefix and name.startswith(prefix) else name
    return None


def is_modified(root: Path, rel: str) -> bool:
    return bool(git(root, "--literal-pathspecs", "status", "--porcelain", "--", rel, check=False).stdout.strip())
