"""crm find: search every record, case- and normalisation-insensitive."""

import typer

from crmcli.cli import common


def find(text: str = typer.Argument(..., metavar="TEXT", help="what to look for (any case, ё = е)"),
         fmt: str = common.FormatOpt,
         ids: bool = common.IdsOpt):
    """Search all records for TEXT; prints type, id and title of each match."""
    from crmcli.ids import fold
    from crmcli.query import contains_text
    from crmcli.records import to_json
    from crmcli.schema import KINDS, TITLE_FIELD
    common.check_format(fmt)
    st = common.store()
    needle = fold(text.strip())
    if not needle:
        from crmcli.errors import UsageError
        raise UsageError("TEXT is empty")
    hits = []
    data, problems = st.load_all(KINDS)   # every type's files stat'ed in one go
    for kind in KINDS:
        recs = data.of(kind)
        for r in recs:
            if contains_text(r, needle):   # the id too
                hits.append((kind, r))
    if ids:
        common.out("".join(r["id"] + "\n" for _, r in hits))
    else:
        objs = [{"type": k, **to_json(r)} for k, r in hits]
        rows = [[k, r["id"], r.get(TITLE_FIELD[k]) or r.get("type")] for k, r in hits]
        common.emit(objs, fmt, headers=["type", "id", "title"], rows=rows,
                    csv_objects=[{"type": o["type"], "id": o["id"], "title": row[2]} for o, row in zip(objs, rows)])
    if common.warn_problems(problems):
        raise typer.Exit(1)
