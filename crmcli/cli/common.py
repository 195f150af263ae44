"""What every command shares: the folder, today, output, name checks."""

import os
import sys
from dataclasses import dataclass
from datetime import date

import typer

from crmcli.errors import CrmError, UsageError


@dataclass
class State:
    dir: str | None = None
    today_text: str | None = None
    no_commit: bool = False
    _store: object = None
    # a few words a command adds to its git commit message ("-> won")
    commit_detail: str | None = None


STATE = State()

FORMAT_HELP = "Output format: table, json, csv or yaml."
FormatOpt = typer.Option("table", "--format", "-f", help=FORMAT_HELP, metavar="FORMAT")
IdsOpt = typer.Option(False, "--ids", help="Print only the ids, one a line (for xargs).")


def store():
    """The data folder, opened once per command."""
    if STATE._store is None:
        from crmcli.store import Store, find_root
        STATE._store = Store(find_root(STATE.dir))
    return STATE._store


def today() -> date:
    text = STATE.today_text or os.environ.get("CRM_TODAY")
    if not text:
        return date.today()
    return parse_date_arg(text, "--today")


def parse_date_arg(text: str, option: str) -> date:
    from crmcli.schema import FieldValueError, parse_date
    try:
        return parse_date(text)
    except FieldValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def check_format(fmt: str, allowed=("table", "json", "csv", "yaml")) -> str:
    if fmt not in allowed:
        raise UsageError(f"--format: {fmt!r} is not one of: {', '.join(allowed)}")
    return fmt


def out(text: str) -> None:
    if text:
        sys.stdout.write(text)


def note(text: str) -> None:
    """A message for the person at the terminal (stderr)."""
    sys.stderr.write(text + "\n")


def warn_problems(problems) -> bool:
    """Name every invalid file on stderr; True when there were errors."""
    errors = [p for p in problems if p.severity == "error"]
    for p in errors:
        sys.stderr.write(f"error: {p.render()}\n")
    return bool(errors)


def emit(data, fmt: str, headers: list[str] | None = None, rows: list[list] | None = None,
         csv_objects: list[dict] | None = None) -> None:
    """Print ``data`` (a JSON-ready object) in ``fmt``; ``headers``/``rows``
    give the table (and the CSV unless ``csv_objects`` is given)."""
    from crmcli import render
    if fmt == "json":
        out(render.to_json(data))
    elif fmt == "yaml":
        out(render.to_yaml(data))
    elif fmt == "csv":
        if csv_objects is not None:
            out(render.objects_to_csv(csv_objects))
        else:
            out(render.to_csv(headers or [], rows or []))
    else:
        out(render.table(headers or [], rows or []))


# ---------------------------------------------------------------- names
def check_owner(value: str | None, option: str = "--owner") -> str | None:
    if value is None:
        return None
    owners = store().config.owners
    if value not in owners:
        known = ", ".join(sorted(owners)) or "none: add owners to crm.yaml"
        raise CrmError(f"{option}: unknown owner {value!r} (known: {known})")
    return value


def check_stage(value: str, option: str = "--stage") -> str:
    cfg = store().config
    if value not in cfg.stages:
        raise CrmError(f"{option}: unknown stage {value!r} (stages: {', '.join(cfg.stages)})")
    return value


def check_activity_type(value: str, option: str = "--type") -> str:
    cfg = store().config
    if value not in cfg.activity_types:
        raise CrmError(f"{option}: unknown activity type {value!r} (types: {', '.join(cfg.activity_types)})")
    return value


def check_currency(value: str | None) -> str | None:
    if value is None:
        return None
    cfg = store().config
    if value not in cfg.currencies():
        raise CrmError(f"--currency: {value!r} has no rate in crm.yaml (known: {', '.join(sorted(cfg.currencies()))})",
                       hint="add it under rates: in crm.yaml")
    return value


def resolve(kind: str, ref: str | None) -> str | None:
    if ref is None:
        return None
    return store().resolve(kind, ref)


def print_id_note(kind: str, rid: str, what: str) -> None:
    """Tell a person at a terminal what changed; silent in scripts."""
    if sys.stderr.isatty():
        note(f"{what} {kind} {rid}")


def after_command(command_path: str) -> None:
    """Called once a command has succeeded: in a git folder, commit what it
    wrote as one commit (contract section 9)."""
    st = STATE._store
    if st is None or not st.writes or STATE.no_commit:
        return
    from crmcli.store import work_tree
    if work_tree(st.root) is None:  # a plain folder: no git, not even its import
        return
    from crmcli import gitops
    gitops.autocommit(st, command_path, STATE.commit_detail)
