"""crm competitor add/list/show/edit/rm."""

import inspect
from typing import Optional

import typer

from crmcli.cli import common, records

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)
KIND = "competitor"


def _add(name: str, **kw):
    rec = {"name": records.clean_text(name, False, "NAME")}
    records.apply_options(KIND, rec, kw, edit=False)
    common.out(common.store().create(KIND, rec) + "\n")


app.command("add")(records.with_signature(
    _add,
    [inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                       default=typer.Argument(..., metavar="NAME"), annotation=str)]
    + records.field_params(KIND, ("name",), edit=False),
    "Add a competitor; prints its id."))


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
