"""crm competitor add/list/show/edit/rm."""

from typing import Optional

import typer

from crmcli.cli import common, records

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)
KIND = "competitor"


app.command("add")(records.make_named_add(KIND))


@app.command("list")
def list_(sort: Optional[str] = typer.Option(None, "--sort", metavar="FIELD"),
          fmt: str = common.FormatOpt, ids: bool = common.IdsOpt):
    """List competitors."""
    common.check_format(fmt)
    recs, problems = common.store().load(KIND)
    records.list_records(KIND, recs, fmt, ids, sort=sort)
    if common.warn_problems(problems):
        raise typer.Exit(1)


@app.command("show")
def show(ref: str = typer.Argument(..., metavar="ID", help="competitor id, id prefix or exact name"),
         fmt: str = common.FormatOpt):
    """One competitor."""
    records.show_record(KIND, ref, fmt)


app.command("edit")(records.make_edit(KIND))
app.command("rm")(records.make_rm(KIND))
