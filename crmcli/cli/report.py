"""crm report ...: the nine reports of contract section 5."""

import os
import sys
from typing import Optional

import typer

from crmcli.cli import common

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True,
                  help="Reports: funnel, retention, sales, managers, sources, competitors, segments, "
                       "prices, stakeholders.")

FromOpt = typer.Option(None, "--from", metavar="DATE", help="from this date (inclusive)")
ToOpt = typer.Option(None, "--to", metavar="DATE", help="to this date (inclusive)")
OwnerOpt = typer.Option(None, "--owner", help="only this owner's deals (the deal's owner, else its client's)")
SourceOpt = typer.Option(None, "--source", help="only this lead source (the deal's, else its client's)")
TagOpt = typer.Option(None, "--tag", help="only clients with this tag")


def register(root):
    root.add_typer(app, name="report")


# the record types each report reads; the others are not loaded
NEEDS = {
    "funnel": ("client", "deal"), "retention": ("client", "deal"), "sales": ("client", "deal"),
    "sources": ("client", "deal"), "segments": ("client", "deal"), "prices": ("client", "deal"),
    "competitors": ("client", "deal", "competitor"), "managers": ("client", "deal", "activity"),
    "stakeholders": ("stakeholder",),
}


# reports that read the clients only to filter deals by their client's owner,
# source or tags: without such a filter the clients are not loaded
CLIENTS_FOR_FILTERS = ("funnel", "retention", "prices")


def _kinds(name: str, spec_args: dict) -> tuple:
    kinds = NEEDS[name]
    if name in CLIENTS_FOR_FILTERS and not any(spec_args.get(k) for k in ("owner", "source", "tag")):
        kinds = tuple(k for k in kinds if k != "client")
    return kinds


def _run(name: str, fmt: str, **spec_args) -> None:
    """Load the folder once, build the report, print it in ``fmt``."""
    from crmcli import render
    from crmcli.reports import REPORTS
    common.check_format(fmt)
    mod = REPORTS[name]
    for key in ("date_from", "date_to"):
        if spec_args.get(key):
            spec_args[key] = common.parse_date_arg(spec_args[key], "--from" if key == "date_from" else "--to")
    spec_cls = next(getattr(mod, n) for n in dir(mod) if n.endswith("Spec") and n.lower() == f"{name}spec")
    spec = spec_cls(today=common.today(), **spec_args)
    st = common.store()
    cfg = st.config
    build = getattr(mod, f"{name}_report")

    def work(data, problems):  # no side effects: see Store.answer
        result = build(data, cfg, spec)
        if fmt == "json":
            return render.to_json(result), problems
        if fmt == "yaml":
            return render.to_yaml(result), problems
        if fmt == "csv":
            return render.to_csv(*mod.csv_rows(result)), problems
        text = mod.render_table(result, unicode=_unicode())
        return (text if text.endswith("\n") or not text else text + "\n"), problems

    # a report that walks every record of a type for a few fields names them (AS_COLUMNS)
    text, problems = st.answer(_kinds(name, spec_args), work, getattr(mod, "AS_COLUMNS", None))
    common.out(text)
    if common.warn_problems(problems):
        raise typer.Exit(1)


def _unicode() -> bool:
    """Block characters only for a person at a terminal that shows them."""
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    enc = (sys.stdout.encoding or "").lower()
    return "utf" in enc


@app.command("funnel")
def funnel(date_from: Optional[str] = FromOpt, date_to: Optional[str] = ToOpt, owner: Optional[str] = OwnerOpt,
           source: Optional[str] = SourceOpt, tag: Optional[str] = TagOpt, fmt: str = common.FormatOpt):
    """The sales funnel: reached, conversion and days per stage, win rate, cycle, velocity, lost reasons."""
    _run("funnel", fmt, date_from=date_from, date_to=date_to, owner=owner, source=source, tag=tag)


@app.command("retention")
def retention(period: str = typer.Option("month", "--period", help="month, quarter or year"),
              owner: Optional[str] = OwnerOpt, source: Optional[str] = SourceOpt, tag: Optional[str] = TagOpt,
              fmt: str = common.FormatOpt):
    """Cohorts by first purchase, the retention triangle, repeat rate, churn."""
    _run("retention", fmt, period=period, owner=owner, source=source, tag=tag)


@app.command("sales")
def sales(by: str = typer.Option("month", "--by", help="month, quarter, owner, source, product or tag"),
          season: bool = typer.Option(False, "--season", help="fold years onto the months (quarters) of the year"),
          date_from: Optional[str] = FromOpt, date_to: Optional[str] = ToOpt, owner: Optional[str] = OwnerOpt,
          source: Optional[str] = SourceOpt, tag: Optional[str] = TagOpt, fmt: str = common.FormatOpt):
    """Won deals and revenue by period or group, at historical and at today's rates."""
    _run("sales", fmt, by=by, season=season, date_from=date_from, date_to=date_to, owner=owner, source=source,
         tag=tag)


@app.command("managers")
def managers(date_from: Optional[str] = FromOpt, date_to: Optional[str] = ToOpt, owner: Optional[str] = OwnerOpt,
             source: Optional[str] = SourceOpt, tag: Optional[str] = TagOpt, fmt: str = common.FormatOpt):
    """Per owner: activities done, tasks overdue, deals, win rate, revenue, cycle, team."""
    _run("managers", fmt, date_from=date_from, date_to=date_to, owner=owner, source=source, tag=tag)


@app.command("sources")
def sources(date_from: Optional[str] = FromOpt, date_to: Optional[str] = ToOpt, owner: Optional[str] = OwnerOpt,
            source: Optional[str] = SourceOpt, tag: Optional[str] = TagOpt, fmt: str = common.FormatOpt):
    """Per lead source: clients, customers, conversion, revenue, cost, cost per customer, ROI."""
    _run("sources", fmt, date_from=date_from, date_to=date_to, owner=owner, source=source, tag=tag)


@app.command("competitors")
def competitors(date_from: Optional[str] = FromOpt, date_to: Optional[str] = ToOpt,
                owner: Optional[str] = OwnerOpt, source: Optional[str] = SourceOpt, tag: Optional[str] = TagOpt,
                fmt: str = common.FormatOpt):
    """Per competitor: clients also served, deals contested, lost to them, our win rate against them."""
    _run("competitors", fmt, date_from=date_from, date_to=date_to, owner=owner, source=source, tag=tag)


@app.command("segments")
def segments(by: str = typer.Option(..., "--by", metavar="FIELD",
                                    help="a field (kind, source, owner ...), tag, or a custom field"),
             date_from: Optional[str] = FromOpt, date_to: Optional[str] = ToOpt, owner: Optional[str] = OwnerOpt,
             source: Optional[str] = SourceOpt, tag: Optional[str] = TagOpt, fmt: str = common.FormatOpt):
    """Clients, customers and revenue per value of a field."""
    _run("segments", fmt, by=by, date_from=date_from, date_to=date_to, owner=owner, source=source, tag=tag)


@app.command("prices")
def prices(product: str = typer.Option(..., "--product", metavar="P", help="the product"),
           date_from: Optional[str] = FromOpt, date_to: Optional[str] = ToOpt, owner: Optional[str] = OwnerOpt,
           source: Optional[str] = SourceOpt, tag: Optional[str] = TagOpt, fmt: str = common.FormatOpt):
    """Per price level of a product: deals, quantity, revenue."""
    _run("prices", fmt, product=product, date_from=date_from, date_to=date_to, owner=owner, source=source,
         tag=tag)


@app.command("stakeholders")
def stakeholders(owner: Optional[str] = OwnerOpt,
                 status: Optional[str] = typer.Option(None, "--status", help="partner, client, moderator, lobbyist"),
                 group: Optional[str] = typer.Option(None, "--group"), fmt: str = common.FormatOpt):
    """Per stakeholder: status, goal, target date, actions planned/done/overdue, achieved or not."""
    _run("stakeholders", fmt, owner=owner, status=status, group=group)
