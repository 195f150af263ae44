"""crm client add/list/show/edit/rm."""

from typing import List, Optional

import typer

from crmcli.cli import common, records

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)
KIND = "client"


app.command("add")(records.make_named_add(KIND, lambda rec: rec.setdefault("created", common.today())))


def statuses(st, today):
    """(client id -> its status, the deal files' problems): the deals are
    read as three columns (``@won_day``: ``query.won_day``), not as records."""
    from crmcli.query import won_statuses
    fields = ("stage", "client", "@won_day")
    data, problems = st.load_all(("deal",), columns={"deal": fields})
    deals = data.columns_of("deal", fields, st.config)
    known = won_statuses(*(deals[f] for f in fields), st.config.won_stage, st.config.churn_after, today)
    return (lambda cid: known.get(cid, "prospect")), problems


@app.command("list")
def list_(
    tag: Optional[List[str]] = typer.Option(None, "--tag", help="with this tag (repeatable: all of them)"),
    owner: Optional[str] = typer.Option(None, "--owner", help="managed by this owner"),
    source: Optional[str] = typer.Option(None, "--source", help="from this lead source"),
    status: Optional[str] = typer.Option(None, "--status", help="prospect, customer or former"),
    where: Optional[List[str]] = typer.Option(None, "--where", metavar="FIELD=VALUE",
                                              help="field equals value (repeatable)"),
    sort: Optional[str] = typer.Option(None, "--sort", metavar="FIELD", help="sort by a field (-FIELD: descending)"),
    fmt: str = common.FormatOpt,
    ids: bool = common.IdsOpt,
):
    """List clients, filtered."""
    common.check_format(fmt)
    st = common.store()
    clients, problems = select_clients(st, tag, owner, source, status, where)
    status_of, more = statuses(st, common.today())
    records.list_records(KIND, clients, fmt, ids, lambda r, o: {**o, "status": status_of(r["id"])}, sort)
    if common.warn_problems(problems + more):
        raise typer.Exit(1)


def select_clients(st, tag=None, owner=None, source=None, status=None, where=None):
    """Clients matching the `client list` filters (shared with `crm mail`)."""
    from crmcli.errors import CrmError
    from crmcli.query import has_tag, matches
    if status is not None and status not in ("prospect", "customer", "former"):
        raise CrmError(f"--status: {status!r} is not one of: prospect, customer, former")
    if owner is not None:
        common.check_owner(owner)
    conds = records.parse_where(where)
    clients, problems = st.load(KIND)
    status_of = None
    if status is not None:
        status_of, more = statuses(st, common.today())
        problems = problems + more
    out = []
    for c in clients:
        if any(not has_tag(c, t) for t in tag or []):
            continue
        if owner is not None and c.get("owner") != owner:
            continue
        if source is not None and not matches(c, "source", source):
            continue
        if any(not matches(c, f, v) for f, v in conds):
            continue
        if status_of is not None and status_of(c["id"]) != status:
            continue
        out.append(c)
    return out, problems


@app.command("show")
def show(ref: str = typer.Argument(..., metavar="ID", help="client id, id prefix or exact name"),
         fmt: str = common.FormatOpt):
    """The client card: its fields, status, deals and history (newest first)."""
    common.check_format(fmt)
    st = common.store()
    rid = st.resolve(KIND, ref)
    rec = st.get(KIND, rid)
    card = client_card(st, rec, common.today())
    if fmt == "table":
        common.out(render_card(card))
    else:
        common.emit(card, fmt, csv_objects=[{k: v for k, v in card.items() if k not in ("deals", "activities")}])


def client_card(st, rec: dict, today) -> dict:
    """The client as JSON plus derived status, its deals and its activities."""
    from crmcli.query import client_status, won_dates
    from crmcli.records import to_json
    (mine, _), (acts, _) = st.client_related(rec["id"])
    won = won_dates(mine, st.config.won_stage).get(rec["id"])
    acts.sort(key=lambda a: (str(a.get("date") or ""), a["id"]), reverse=True)
    card = to_json(rec)
    card["status"] = client_status(won, st.config.churn_after, today)
    card["deals"] = [to_json(d) for d in sorted(mine, key=lambda d: str(d.get("created") or ""), reverse=True)]
    card["activities"] = [to_json(a) for a in acts]
    return card


def render_card(card: dict) -> str:
    from crmcli.render import table
    base = {k: v for k, v in card.items() if k not in ("deals", "activities")}
    text = records.card(base)
    if card["deals"]:
        text += "\nDeals\n" + table(["id", "title", "stage", "amount", "currency", "created"],
                                    [[d.get(k) for k in ("id", "title", "stage", "amount", "currency", "created")]
                                     for d in card["deals"]])
    if card["activities"]:
        text += "\nHistory (newest first)\n" + table(
            ["date", "type", "status", "owner", "comment"],
            [[a.get(k) for k in ("date", "type", "status", "owner", "comment")] for a in card["activities"]])
    return text


app.command("edit")(records.make_edit(KIND))
app.command("rm")(records.make_rm(KIND))
