"""crm log: record an activity of a client."""

from typing import Optional

import typer

from crmcli.cli import common, records


def log(client: str = typer.Argument(..., metavar="CLIENT", help="client id, id prefix or exact name"),
        type_: str = typer.Argument(..., metavar="TYPE", help="an activity type of crm.yaml (call, meeting ...)"),
        comment: Optional[str] = typer.Argument(None, metavar="[COMMENT]"),
        day: Optional[str] = typer.Option(None, "--date", metavar="DATE", help="when (default: today)"),
        deal: Optional[str] = typer.Option(None, "--deal", metavar="DEAL", help="the deal it concerns"),
        status: Optional[str] = typer.Option(None, "--status", help="done (default), planned, cancelled, open, resolved"),
        minutes: Optional[str] = typer.Option(None, "--minutes", metavar="N", help="time spent"),
        next_: Optional[str] = typer.Option(None, "--next", metavar="DATE", help="the next contact promised"),
        note: Optional[str] = typer.Option(None, "--note"),
        owner: Optional[str] = typer.Option(None, "--owner", help="who did it"),
        ):
    """Record an activity (default: done, today); prints its id."""
    from crmcli.schema import FIELDS
    f = FIELDS["activity"]
    st = common.store()
    rec = {"client": st.resolve("client", client),
           "type": records.cli_value("activity", f["type"], type_, "TYPE")}
    if deal:
        rec["deal"] = st.resolve("deal", deal)
    rec["status"] = records.cli_value("activity", f["status"], status, "--status") if status else "done"
    records.check_activity_status(rec)
    rec["date"] = records.cli_value("activity", f["date"], day, "--date") if day else common.today()
    if minutes is not None:
        rec["minutes"] = records.cli_value("activity", f["minutes"], minutes, "--minutes")
    if owner:
        rec["owner"] = common.check_owner(owner)
    if comment:
        rec["comment"] = records.clean_text(comment, True, "COMMENT")
    if note:
        rec["note"] = records.clean_text(note, True, "--note")
    if next_:
        rec["next"] = records.cli_value("activity", f["next"], next_, "--next")
    common.out(st.create("activity", rec) + "\n")
