"""crm stakeholder add/list/show/edit/rm/plan/fact: the stakeholder map."""

from typing import Optional

import typer

from crmcli.cli import common, records

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)
KIND = "stakeholder"


app.command("add")(records.make_named_add(KIND))


@app.command("list")
def list_(status: Optional[str] = typer.Option(None, "--status", help="partner, client, moderator or lobbyist"),
          owner: Optional[str] = typer.Option(None, "--owner"),
          group: Optional[str] = typer.Option(None, "--group"),
          sort: Optional[str] = typer.Option(None, "--sort", metavar="FIELD"),
          fmt: str = common.FormatOpt,
          ids: bool = common.IdsOpt):
    """List stakeholders."""
    from crmcli.errors import CrmError
    from crmcli.query import matches
    from crmcli.schema import STAKEHOLDER_STATUSES
    common.check_format(fmt)
    if status and status not in STAKEHOLDER_STATUSES:
        raise CrmError(f"--status: {status!r} is not one of: {', '.join(STAKEHOLDER_STATUSES)}")
    common.check_owner(owner)
    st = common.store()
    recs, problems = st.load(KIND)
    recs = [r for r in recs if (not status or r.get("status") == status) and (not owner or r.get("owner") == owner)
            and (not group or matches(r, "group", group))]
    records.list_records(KIND, recs, fmt, ids, sort=sort)
    if common.warn_problems(problems):
        raise typer.Exit(1)


@app.command("show")
def show(ref: str = typer.Argument(..., metavar="ID", help="stakeholder id, id prefix or exact name"),
         fmt: str = common.FormatOpt):
    """One stakeholder with its actions."""
    records.show_record(KIND, ref, fmt)


@app.command("plan")
def plan(ref: str = typer.Argument(..., metavar="ID"),
         name: str = typer.Argument(..., metavar="NAME", help="the action"),
         plan_date: str = typer.Option(..., "--plan", metavar="DATE", help="when it is planned"),
         responsible: Optional[str] = typer.Option(None, "--responsible", metavar="OWNER"),
         resource: Optional[str] = typer.Option(None, "--resource", help="what it takes (budget, people ...)")):
    """Plan an action with a stakeholder."""
    from crmcli.errors import CrmError
    st = common.store()
    rid = st.resolve(KIND, ref)
    when = common.parse_date_arg(plan_date, "--plan")
    name = records.clean_text(name, False, "NAME")
    resp = common.check_owner(responsible, "--responsible")
    res = records.clean_text(resource, False, "--resource") if resource else None

    def change(rec):
        actions = list(rec.get("actions") or [])
        if any(a["name"] == name for a in actions):
            raise CrmError(f"{rid} already has an action named {name!r}")
        act = {"name": name, "plan": when}
        if resp:
            act["responsible"] = resp
        if res:
            act["resource"] = res
        actions.append(act)
        rec["actions"] = actions
        return rec
    st.update(KIND, rid, change)


@app.command("fact")
def fact(ref: str = typer.Argument(..., metavar="ID"),
         name: str = typer.Argument(..., metavar="NAME", help="the action (its exact name or a unique prefix)"),
         day: Optional[str] = typer.Option(None, "--date", metavar="DATE", help="when it was done (default: today)")):
    """Record that a planned action was done."""
    from crmcli.errors import AmbiguousError, CrmError, NotFoundError
    from crmcli.ids import fold
    st = common.store()
    rid = st.resolve(KIND, ref)
    when = common.parse_date_arg(day, "--date") if day else common.today()

    def change(rec):
        actions = [dict(a) for a in rec.get("actions") or []]
        hits = [a for a in actions if a["name"] == name] or \
               [a for a in actions if fold(a["name"]).startswith(fold(name))]
        if not hits:
            raise NotFoundError(f"{rid} has no action {name!r}",
                                hint="actions: " + ", ".join(a["name"] for a in actions) if actions else None)
        if len(hits) > 1:
            raise AmbiguousError(f"{name!r} matches several actions: {', '.join(a['name'] for a in hits)}")
        if hits[0].get("fact"):
            raise CrmError(f"action {hits[0]['name']!r} already has a fact ({hits[0]['fact']})")
        hits[0]["fact"] = when
        rec["actions"] = actions
        return rec
    st.update(KIND, rid, change)


app.command("edit")(records.make_edit(KIND))
app.command("rm")(records.make_rm(KIND))
