"""crm task add/done/list: planned activities."""

from typing import Optional

import typer

from crmcli.cli import common, records

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)


@app.command("add")
def add(client: str = typer.Argument(..., metavar="CLIENT", help="client id, id prefix or exact name"),
        text: str = typer.Argument(..., metavar="TEXT", help="what is to be done"),
        due: str = typer.Option(..., "--due", metavar="DATE", help="when it is due"),
        owner: Optional[str] = typer.Option(None, "--owner", help="who must do it"),
        assigned_by: Optional[str] = typer.Option(None, "--assigned-by", metavar="OWNER", help="who set it"),
        deal: Optional[str] = typer.Option(None, "--deal", metavar="DEAL")):
    """Add a task (a planned activity); prints its id."""
    from crmcli.schema import FIELDS
    st = common.store()
    rec = {"client": st.resolve("client", client)}
    if deal:
        rec["deal"] = st.resolve("deal", deal)
    rec.update({"type": "task", "status": "planned",
                "date": records.cli_value("activity", FIELDS["activity"]["date"], due, "--due")})
    if owner:
        rec["owner"] = common.check_owner(owner)
    if assigned_by:
        rec["assigned_by"] = common.check_owner(assigned_by, "--assigned-by")
    rec["comment"] = records.clean_text(text, True, "TEXT")
    common.out(st.create("activity", rec) + "\n")


@app.command("done")
def done(ref: str = typer.Argument(..., metavar="ID", help="task id or id prefix"),
         day: Optional[str] = typer.Option(None, "--date", metavar="DATE", help="when it was done (default: keep the due date)")):
    """Mark a task done."""
    from crmcli.errors import CrmError
    st = common.store()
    rid = st.resolve("activity", ref)
    when = common.parse_date_arg(day, "--date") if day else None

    def change(rec):
        if rec.get("status") == "done":
            raise CrmError(f"{rid} is already done")
        rec["status"] = "done"
        if when:
            rec["date"] = when
        return rec
    st.update("activity", rid, change)
    common.print_id_note("task", rid, "done:")


@app.command("list")
def list_(owner: Optional[str] = typer.Option(None, "--owner", help="tasks of this owner"),
          client: Optional[str] = typer.Option(None, "--client"),
          all_: bool = typer.Option(False, "--all", help="done and cancelled tasks too"),
          fmt: str = common.FormatOpt,
          ids: bool = common.IdsOpt):
    """Planned activities, the earliest due first."""
    from crmcli.cli.activity import select_activities
    common.check_format(fmt)
    st = common.store()
    acts, problems = select_activities(st, client=client, owner=owner)
    acts = [a for a in acts if a.get("status") == "planned" or all_ and a.get("type") == "task"]
    records.list_records("activity", acts, fmt, ids)
    if common.warn_problems(problems):
        raise typer.Exit(1)
