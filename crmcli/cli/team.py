"""crm sync and crm history: the folder shared through git (contract section 9)."""

from typing import Optional

import typer

from crmcli.cli import common


def sync():
    """Share the folder: pull the team's commits (rebase), run crm check, push yours."""
    from crmcli import gitops
    from crmcli.cli import check as check_command
    from crmcli.errors import CrmError

    st = common.store()
    root = st.root
    top = gitops.require_repo(root)
    busy = gitops.operation_in_progress(root)
    if busy:
        raise CrmError(f"{busy} is in progress in this repository; crm sync leaves it alone",
                       hint="finish it or undo it (git status says how), then crm sync")
    up = gitops.upstream(root)
    dirty = gitops.uncommitted(root, top)
    if dirty:
        shown = ", ".join(dirty[:8]) + (f" and {len(dirty) - 8} more" if len(dirty) > 8 else "")
        raise CrmError(f"uncommitted changes: {shown}; nothing was synced",
                       hint="commit them first (git add -A && git commit -m 'what changed'), "
                            "or put them aside with git stash")
    with st.locked():
        result = gitops.pull(root, up)
    common.STATE._store = None  # the pull may have changed crm.yaml: read the folder afresh
    try:
        check_command.check(strict=False)
    except typer.Exit as exc:
        if exc.exit_code:
            raise CrmError(f"not pushed: crm check found errors (above) after pulling from {up.name}",
                           hint="fix them, commit, and run crm sync again") from None
    pushed = gitops.push(root, up)
    if result.pulled or pushed:
        parts = []
        if result.pulled:
            parts.append(f"pulled {result.pulled} commit(s) changing {len(result.files)} file(s)")
        if pushed:
            parts.append(f"pushed {pushed} commit(s)")
        common.note(f"synced with {up.name}: " + ", ".join(parts))
    else:
        common.note(f"already in sync with {up.name}")


def history(ref: str = typer.Argument(..., metavar="ID", help="record id, id prefix or exact name"),
            kind: Optional[str] = typer.Option(None, "--type", metavar="KIND",
                                               help="client, deal, activity, stakeholder or competitor"),
            fmt: str = common.FormatOpt):
    """A record's changes from git, newest first: date, author, message (renames followed)."""
    from crmcli import gitops
    common.check_format(fmt)
    st = common.store()
    gitops.require_repo(st.root)
    rel = _locate(st, ref, kind)
    entries = gitops.file_log(st.root, rel)
    if not entries:
        common.note(f"no commit has {rel} yet")
    if gitops.is_modified(st.root, rel):
        common.note(f"note: {rel} has changes that are not committed yet")
    rows = [[e["date"][:16].replace("T", " "), e["author"], e["commit"][:8], e["message"]] for e in entries]
    common.emit(entries, fmt, ["date", "author", "commit", "message"], rows, csv_objects=entries)


def _locate(st, ref: str, kind: str | None) -> str:
    """The record's file (relative to the folder): by id, prefix or name among
    every kind (or ``--type``), else a removed record's last path in git."""
    from crmcli import gitops
    from crmcli.errors import AmbiguousError, CrmError, NotFoundError
    from crmcli.schema import FOLDERS, ID_RE, KINDS
    if kind is not None and kind not in KINDS:
        raise CrmError(f"--type: {kind!r} is not one of: {', '.join(KINDS)}")
    kinds = [kind] if kind else list(KINDS)
    hits, ambiguous = [], None
    for k in kinds:
        try:
            hits.append((k, st.resolve(k, ref)))
        except AmbiguousError as exc:
            ambiguous = ambiguous or exc
        except NotFoundError:
            pass
    exact = [h for h in hits if h[1] == ref]
    if len(exact) == 1:
        hits = exact
    if len(hits) > 1:
        raise AmbiguousError(f"{ref!r} matches several records: " + ", ".join(f"{k} {r}" for k, r in hits),
                             hint="say which with --type KIND")
    if hits:
        k, rid = hits[0]
        return st.rel(st.find_file(k, rid))
    if ambiguous is not None:
        raise ambiguous
    if ID_RE.match(ref):
        removed = gitops.find_removed(st.root, ref, [FOLDERS[k] for k in kinds])
        if removed:
            return removed
    what = kind or "record"
    raise NotFoundError(f"no {what} matches {ref!r} (by id, id prefix or name), now or in git")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
    app.command("history")(history)
