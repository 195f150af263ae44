"""crm activity add/list/show/edit/rm."""

from typing import List, Optional

import typer

from crmcli.cli import common, records

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)
KIND = "activity"


def _add(**kw):
    from crmcli.errors import CrmError
    rec: dict = {}
    records.apply_options(KIND, rec, kw, edit=False)
    if not any(rec.get(k) for k in ("client", "deal", "stakeholder")):
        raise CrmError("an activity needs at least one of --client, --deal, --stakeholder")
    rec.setdefault("type", "note")
    rec.setdefault("status", "done")
    records.check_activity_status(rec)
    rec.setdefault("date", common.today())
    common.out(common.store().create(KIND, rec) + "\n")


app.command("add")(records.with_signature(_add, records.field_params(KIND, (), edit=False),
                                          "Add an activity; prints its id (see also crm log)."))


def select_activities(st, client=None, type_=None, status=None, date_from=None, date_to=None, owner=None,
                      where=None):
    from crmcli.errors import CrmError
    from crmcli.query import matches
    from crmcli.schema import ACTIVITY_STATUSES
    if type_:
        common.check_activity_type(type_)
    if status and status not in ACTIVITY_STATUSES:
        raise CrmError(f"--status: {status!r} is not one of: {', '.join(ACTIVITY_STATUSES)}")
    common.check_owner(owner)
    lo = common.parse_date_arg(date_from, "--from") if date_from else None
    hi = common.parse_date_arg(date_to, "--to") if date_to else None
    cid = st.resolve("client", client) if client else None
    conds = records.parse_where(where)
    acts, problems = st.load(KIND)
    out = []
    for a in acts:
        day = a.get("date")
        day = day.date() if hasattr(day, "hour") else day
        if cid and a.get("client") != cid or type_ and a.get("type") != type_ \
                or status and a.get("status") != status or owner and a.get("owner") != owner:
            continue
        if lo and (day is None or day < lo) or hi and (day is None or day > hi):
            continue
        if any(not matches(a, f, v) for f, v in conds):
            continue
        out.append(a)
    out.sort(key=lambda a: (str(a.get("date") or ""), a["id"]))
    return out, problems


@app.command("list")
def list_(
    client: Optional[str] = typer.Option(None, "--client"),
    type_: Optional[str] = typer.Option(None, "--type"),
    status: Optional[str] = typer.Option(None, "--status"),
    date_from: Optional[str] = typer.Option(None, "--from", metavar="DATE", help="dated on or after"),
    date_to: Optional[str] = typer.Option(None, "--to", metavar="DATE", help="dated on or before"),
    owner: Optional[str] = typer.Option(None, "--owner"),
    where: Optional[List[str]] = typer.Option(None, "--where", metavar="FIELD=VALUE"),
    sort: Optional[str] = typer.Option(None, "--sort", metavar="FIELD"),
    fmt: str = common.FormatOpt,
    ids: bool = common.IdsOpt,
):
    """List activities (oldest first), filtered."""
    common.check_format(fmt)
    st = common.store()
    out, problems = select_activities(st, client, type_, status, date_from, date_to, owner, where)
    records.list_records(KIND, out, fmt, ids, sort=sort)
    if common.warn_problems(problems):
        raise typer.Exit(1)


@app.command("show")
def show(ref: str = typer.Argument(..., metavar="ID"), fmt: str = common.FormatOpt):
    """One activity."""
    records.show_record(KIND, ref, fmt)


app.command("edit")(records.make_edit(KIND))
app.command("rm")(records.make_rm(KIND))
