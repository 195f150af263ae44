"""crm deal add/move/list/show/edit/rm."""

import inspect
from typing import List, Optional

import typer

from crmcli.cli import common, records

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)
KIND = "deal"


def _add(client: str, title: str, **kw):
    from crmcli.errors import CrmError
    st = common.store()
    rec = {"title": records.clean_text(title, False, "TITLE"), "client": st.resolve("client", client)}
    records.apply_options(KIND, rec, kw, edit=False)
    cfg = st.config
    rec.setdefault("stage", cfg.pipeline[0])
    if rec["stage"] == cfg.lost_stage and not rec.get("lost_reason"):
        raise CrmError("a deal added as lost needs --lost-reason")
    if rec.get("amount") is None and rec.get("quantity") is not None and rec.get("unit_price") is not None:
        rec["amount"] = rec["quantity"] * rec["unit_price"]
    day = rec.get("created") or common.today()
    rec["created"] = day
    rec["history"] = [{"stage": rec["stage"], "date": day}]
    common.out(st.create(KIND, rec) + "\n")


app.command("add")(records.with_signature(
    _add,
    [inspect.Parameter("client", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                       default=typer.Argument(..., metavar="CLIENT", help="client id, id prefix or exact name"),
                       annotation=str),
     inspect.Parameter("title", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                       default=typer.Argument(..., metavar="TITLE"), annotation=str)]
    + records.field_params(KIND, ("title", "client"), edit=False),
    "Add a deal for a client (stage: the pipeline's first unless --stage); prints its id."))


@app.command("move")
def move(ref: str = typer.Argument(..., metavar="ID", help="deal id or id prefix"),
         stage: str = typer.Argument(..., metavar="STAGE"),
         day: Optional[str] = typer.Option(None, "--date", metavar="DATE", help="when (default: today)"),
         reason: Optional[str] = typer.Option(None, "--reason", help="why it was lost (required for the lost stage)"),
         lost_to: Optional[str] = typer.Option(None, "--lost-to", metavar="COMPETITOR",
                                               help="the competitor it was lost to")):
    """Move a deal to a stage; the move is appended to its dated history."""
    from crmcli.errors import CrmError
    st = common.store()
    cfg = st.config
    when = common.parse_date_arg(day, "--date") if day else common.today()
    rid = st.resolve(KIND, ref)
    common.check_stage(stage, "STAGE")
    if stage == cfg.lost_stage and not (reason and reason.strip()):
        raise CrmError(f"moving to {cfg.lost_stage!r} needs --reason", hint=f"crm deal move {rid} {stage} --reason price")
    if stage != cfg.lost_stage and (reason or lost_to):
        raise CrmError("--reason and --lost-to go with a move to the lost stage")
    comp = st.resolve("competitor", lost_to) if lost_to else None
    reason = records.clean_text(reason, False, "--reason") if reason else None

    def change(rec):
        hist = list(rec.get("history") or [])
        if not hist and rec.get("stage"):
            hist.append({"stage": rec["stage"], "date": rec.get("created") or when})
        if hist and when < hist[-1]["date"]:
            raise CrmError(f"--date {when} is before the deal's last move ({hist[-1]['date']})")
        if rec.get("stage") == stage:
            raise CrmError(f"deal {rid} is already in stage {stage!r}")
        hist.append({"stage": stage, "date": when})
        rec["history"] = hist
        rec["stage"] = stage
        if reason:
            rec["lost_reason"] = reason
        if comp:
            rec["lost_to"] = comp
        return rec
    st.update(KIND, rid, change)
    common.STATE.commit_detail = f"-> {stage}"
    common.print_id_note(KIND, rid, f"moved to {stage}:")


@app.command("list")
def list_(
    client: Optional[str] = typer.Option(None, "--client", help="of this client"),
    stage: Optional[str] = typer.Option(None, "--stage", help="in this stage"),
    open_: bool = typer.Option(False, "--open", help="open deals only (not won or lost)"),
    won: bool = typer.Option(False, "--won", help="won deals only"),
    lost: bool = typer.Option(False, "--lost", help="lost deals only"),
    owner: Optional[str] = typer.Option(None, "--owner"),
    source: Optional[str] = typer.Option(None, "--source"),
    tag: Optional[List[str]] = typer.Option(None, "--tag", help="whose client has this tag"),
    where: Optional[List[str]] = typer.Option(None, "--where", metavar="FIELD=VALUE"),
    sort: Optional[str] = typer.Option(None, "--sort", metavar="FIELD"),
    fmt: str = common.FormatOpt,
    ids: bool = common.IdsOpt,
):
    """List deals, filtered."""
    from crmcli.query import has_tag, matches
    common.check_format(fmt)
    st = common.store()
    cfg = st.config
    if stage:
        common.check_stage(stage)
    common.check_owner(owner)
    cid = st.resolve("client", client) if client else None
    conds = records.parse_where(where)
    deals, problems = st.load(KIND)
    clients = {}
    if tag or source:
        cl, more = st.load("client")
        clients = {c["id"]: c for c in cl}
        problems += more
    out = []
    for d in deals:
        s = d.get("stage")
        if cid and d.get("client") != cid or stage and s != stage or owner and d.get("owner") != owner:
            continue
        if open_ and s in (cfg.won_stage, cfg.lost_stage) or won and s != cfg.won_stage \
                or lost and s != cfg.lost_stage:
            continue
        if source and not matches(d if d.get("source") else clients.get(d.get("client"), {}), "source", source):
            continue
        if tag and any(not has_tag(clients.get(d.get("client"), {}), t) for t in tag):
            continue
        if any(not matches(d, f, v) for f, v in conds):
            continue
        out.append(d)
    records.list_records(KIND, out, fmt, ids, sort=sort)
    if common.warn_problems(problems):
        raise typer.Exit(1)


@app.command("show")
def show(ref: str = typer.Argument(..., metavar="ID", help="deal id, id prefix or exact title"),
         fmt: str = common.FormatOpt):
    """One deal with its history."""
    records.show_record(KIND, ref, fmt)


app.command("edit")(records.make_edit(KIND))
app.command("rm")(records.make_rm(KIND))
