"""crm check: every problem of the whole folder at once."""

import os

import typer

from crmcli.cli import common


def check(strict: bool = typer.Option(False, "--strict", help="Treat warnings (unknown keys ...) as errors.")):
    """Validate the whole folder: prints path:line: message for each problem, exit 1 on errors."""
    from crmcli.errors import Problem
    from crmcli.schema import FOLDERS, KINDS
    from crmcli.validate import check_records
    st = common.store()
    cfg = st.config
    problems: list[Problem] = list(st.config_problems)
    # references are checked against the file names, so one type at a time
    # is in memory (not the whole folder)
    known, entries = st.entries_many(KINDS)
    for kind in KINDS:
        items = []
        for rel, rec, probs in entries(kind):
            problems.extend(probs)
            if rec is not None:  # fields that did read are still cross-checked
                items.append((rec, LazyLines(st, rel), rel))
        problems.extend(check_records({kind: items}, cfg, known))
        problems.extend(_strays(st.root / FOLDERS[kind], st))
        del items
    problems.sort(key=lambda p: (p.path, p.line or 0))
    errors = warnings = 0
    for p in problems:
        is_error = p.severity == "error" or strict
        errors += is_error
        warnings += not is_error
        common.note(f"{'error' if is_error else 'warning'}: {p.render()}")
    if errors:
        common.note(f"{errors} error(s), {warnings} warning(s)")
    if errors:
        raise typer.Exit(1)


class LazyLines:
    """A file's line map, read only when a problem has to name a line."""

    def __init__(self, st, rel):
        self.st, self.rel, self._lines = st, rel, None

    def get(self, key, default=None):
        if self._lines is None:
            self._lines = self.st.lines_of(self.rel)
        return self._lines.get(key, default)


def _strays(top, st):
    """Files a person should know about: symbolic links and leftover temp files."""
    from crmcli.errors import Problem
    out = []
    stack = [str(top)]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except (FileNotFoundError, NotADirectoryError):
            continue
        with it:
            for entry in it:
                name = entry.name
                if entry.is_symlink():
                    out.append(Problem(st.rel(entry.path), None, "symbolic link: not followed, not read",
                                       severity="warning"))
                elif name.startswith("."):
                    if name.endswith(".tmp") and entry.is_file(follow_symlinks=False):
                        out.append(Problem(st.rel(entry.path), None, "a temporary file left by an interrupted "
                                           "write; safe to delete", severity="warning"))
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return out
