"""crm import / crm export: records in and out as CSV, JSON, YAML and vCard."""

import sys
from typing import List, Optional

import typer

from crmcli.cli import common

TYPES = "client, deal, activity, stakeholder or competitor"


def import_(
    kind: str = typer.Argument(..., metavar="TYPE", help=f"what the file holds: {TYPES}"),
    file: str = typer.Argument(..., metavar="FILE", help="the file to read (- for stdin)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be created or updated; write nothing."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", metavar="FORMAT",
                                      help="csv, json or vcard (default: from the file name or its content)."),
    maps: Optional[List[str]] = typer.Option(None, "--map", metavar="COLUMN=FIELD",
                                             help="read a CSV column into a field (repeatable); FIELD - skips it"),
):
    """Import records from CSV, JSON or vCard: all or nothing.

    The whole file is checked first; one bad row and nothing is written (each
    problem named FILE:LINE). A row updates the record with its id, else the
    client with one of its e-mails, else the record with its exact name; the
    rest are created. Importing the same file twice changes nothing.
    """
    from crmcli import exchange
    from crmcli.errors import CrmError, UsageError
    kind = _kind(kind)
    if fmt is not None:
        common.check_format(fmt, exchange.IMPORT_FORMATS)
    try:
        mapping = exchange.parse_maps(maps)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    data, shown = _read_input(file)
    st = common.store()
    fmt = fmt or exchange.guess_format(file, data[:4096].decode("utf-8", "replace").lstrip("\ufeff"))
    if fmt == "vcard" and kind != "client":
        raise UsageError("vCard files hold clients: crm import client FILE.vcf")
    if mapping and fmt != "csv":
        raise UsageError("--map is for CSV files")
    bad = exchange.check_maps(kind, mapping)
    if bad:
        raise CrmError(bad)
    rows, problems = exchange.read_rows(data, fmt, kind, shown, mapping)
    with (_nothing() if dry_run else st.locked()):
        snap = exchange.Snapshot.load(st, kind, common.today())
        actions, more = exchange.plan_import(kind, rows, snap, shown)
        problems += more
        errors = [p for p in problems if p.severity == "error"]
        for p in problems:
            sys.stderr.write(f"{'error' if p.severity == 'error' else 'warning'}: {p.render()}\n")
        if errors:
            raise CrmError(f"{len(errors)} problem{'s' if len(errors) > 1 else ''} in {shown}; nothing was written",
                           hint="fix the file and run the import again (--dry-run shows what it would do)")
        if not dry_run:
            try:
                exchange.apply_actions(st, actions)
            except CrmError as exc:
                written = len(st.writes)
                exc.hint = (f"{written} record(s) were written before this; each is whole, and running the "
                            "import again updates them instead of adding them twice")
                raise
    _report(actions, shown, dry_run)


def _report(actions, shown: str, dry_run: bool) -> None:
    words = {"create": "would create" if dry_run else "created",
             "update": "would update" if dry_run else "updated", "unchanged": "unchanged"}
    lines = []
    counts = {"create": 0, "update": 0, "unchanged": 0}
    for a in actions:
        counts[a.verb] += 1
        if a.verb == "unchanged":
            continue
        text = f"{words[a.verb]} {a.kind} {a.rid}"
        if a.title:
            text += f": {a.title}"
        if a.verb == "update":
            text += f" ({', '.join(a.changed())})"
        if a.note:
            text += f" [{a.note}]"
        lines.append(text + "\n")
    common.out("".join(lines))
    if dry_run:
        common.note(f"{shown}: {counts['create']} to create, {counts['update']} to update, "
                    f"{counts['unchanged']} unchanged; dry run, nothing was written")
    else:
        common.note(f"{shown}: {counts['create']} created, {counts['update']} updated, "
                    f"{counts['unchanged']} unchanged")


def _kind(word: str) -> str:
    from crmcli import exchange
    from crmcli.errors import UsageError
    kind = exchange.kind_of(word)
    if kind is None:
        raise UsageError(f"TYPE: {word!r} is not one of: {TYPES}")
    return kind


def _read_input(file: str) -> tuple[bytes, str]:
    from crmcli.errors import CrmError
    if file == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    try:
        with open(file, "rb") as fh:
            return fh.read(), file
    except FileNotFoundError:
        raise CrmError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise CrmError(f"{file}: is a folder, not a file") from None
    except OSError as exc:
        raise CrmError(f"{file}: cannot read: {exc.strerror}") from None


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def export(
    kind: str = typer.Argument(..., metavar="TYPE", help=f"what to export: {TYPES}"),
    fmt: str = typer.Option("csv", "--format", "-f", metavar="FORMAT",
                            help="csv, json, yaml or vcard (clients only)."),
    out_file: Optional[str] = typer.Option(None, "--out", "-o", metavar="FILE",
                                           help="write to FILE instead of stdout"),
):
    """Export every record of a type: CSV (safe to open in a spreadsheet), JSON,
    YAML (the objects of `list --format json`) or vCard 3.0 (clients)."""
    from crmcli import exchange, render
    from crmcli.errors import UsageError
    kind = _kind(kind)
    common.check_format(fmt, exchange.EXPORT_FORMATS)
    if fmt == "vcard" and kind != "client":
        raise UsageError("--format vcard is for clients")
    st = common.store()
    records, problems = st.load(kind)
    derived = None
    if kind == "client" and fmt != "vcard":
        from crmcli.cli.client import statuses
        status_of, more = statuses(st, common.today())
        problems = problems + more
        derived = {"status": {r["id"]: status_of(r["id"]) for r in records}}
    if fmt == "csv":
        text = exchange.records_to_csv(kind, records, st.config, derived)
    elif fmt == "vcard":
        text = exchange.clients_to_vcard(records)
    else:
        objs = exchange.records_to_objects(records, derived)
        text = render.to_json(objs) if fmt == "json" else render.to_yaml(objs)
    if out_file and out_file != "-":
        _write_out(st, out_file, text)
    else:
        common.out(text)
    if common.warn_problems(problems):
        raise typer.Exit(1)


def _write_out(st, out_file: str, text: str) -> None:
    from pathlib import Path

    from crmcli.errors import CrmError
    from crmcli.schema import FOLDERS
    from crmcli.store import atomic_write
    target = Path(out_file).absolute()
    root = Path(st.root).absolute()
    for folder in (*FOLDERS.values(), ".crm"):
        if target.is_relative_to(root / folder):
            raise CrmError(f"--out: {out_file} is inside the data folder's {folder}/; write the export elsewhere")
    if not target.parent.is_dir():
        raise CrmError(f"--out: folder {target.parent} does not exist")
    try:
        atomic_write(target, text.encode("utf-8"))
    except OSError as exc:
        raise CrmError(f"--out: cannot write {out_file}: {exc.strerror}") from None


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command("export")(export)
