"""``crm report managers``: each owner's work and results (contract §5)."""
from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from datetime import date
from itertools import compress, repeat
from operator import eq

from crmcli.config import Config
from crmcli.money import RateTable
from crmcli.reports.common import (
    FACT_FIELDS, Dataset, Filters, amount_of, as_date, check_filters, fmt_group, fmt_money, fmt_num, fmt_rate,
    format_pairs, format_table, in_window, iso, median, money, ratio, rows_csv, total,
)

# what the report reads of each record: it reads them as columns (at
# 100,000 clients, building 1.4 million dicts took longer than the report)
CLIENT_FIELDS = ("id", "owner", "source", "tags")
DEAL_FIELDS = FACT_FIELDS
ACTIVITY_FIELDS = ("status", "owner", "date", "client", "deal")
AS_COLUMNS = {"client": CLIENT_FIELDS, "deal": DEAL_FIELDS, "activity": ACTIVITY_FIELDS}

COLUMNS = ("owner", "name", "manager", "team", "activities_done", "tasks_overdue", "open",
           "won", "lost", "win_rate", "revenue", "cycle_days")


@dataclass(frozen=True)
class ManagersSpec:
    today: date
    date_from: date | None = None   # activities by date, won/lost deals by close date
    date_to: date | None = None
    owner: str | None = None
    source: str | None = None
    tag: str | None = None


def team_of(owner: str, cfg: Config) -> list[str]:
    """Everyone who reports to ``owner``, directly or through others, sorted."""
    reports: dict[str, list[str]] = {}
    for oid, info in cfg.owners.items():
        if info.get("manager"):
            reports.setdefault(info["manager"], []).append(oid)
    seen: set[str] = set()
    todo = list(reports.get(owner, []))
    while todo:
        oid = todo.pop()
        if oid in seen or oid == owner:
            continue
        seen.add(oid)
        todo.extend(reports.get(oid, []))
    return sorted(seen)


def managers_report(data: Dataset, cfg: Config, spec: ManagersSpec) -> dict:
    check_filters(data, cfg, spec)
    filters = Filters(spec.owner, spec.source, spec.tag)
    today = spec.today
    cols = data.columns_of("client", CLIENT_FIELDS)
    client_owner = dict(zip(cols["id"], cols["owner"]))
    clients: dict = {}   # by id, as records, for --owner/--source/--tag
    if filters.any:
        clients = {cid: {"id": cid, "owner": o, "source": s, "tags": t}
                   for cid, o, s, t in zip(cols["id"], cols["owner"], cols["source"], cols["tags"])}
    deals = data.columns_of("deal", DEAL_FIELDS, cfg)
    deal_client = dict(zip(deals["id"], deals["client"]))

    def activity_client(cid, did):
        """The id of an activity's client: its own, or its deal's (None if unknown)."""
        if cid in client_owner:
            return cid
        cid = deal_client.get(did)
        return cid if cid in client_owner else None

    rows: dict = {}

    def row(owner):
        r = rows.get(owner)
        if r is None:
            r = rows[owner] = {"activities_done": 0, "tasks_overdue": 0, "open": 0,
                               "won": [], "lost": 0, "cycles": []}
        return r

    for oid in cfg.owners:
        if spec.owner in (None, oid):
            row(oid)

    client_filters = Filters(None, spec.source, spec.tag)
    windowed = spec.date_from is not None or spec.date_to is not None
    acts = data.columns_of("activity", ACTIVITY_FIELDS)
    statuses, owners, dates = acts["status"], acts["owner"], acts["date"]
    # who each activity counts for: its owner, else its client's (its own
    # client, else its deal's); False for one whose client is filtered out
    if client_filters.any:
        who = []
        for owner, cid, did in zip(owners, acts["client"], acts["deal"]):
            cid = activity_client(cid, did)
            passes = cid is not None and client_filters.client(clients[cid])
            who.append((owner or client_owner.get(cid)) if passes else False)
        owners = who
    else:  # the activities without an owner of their own are found by list.index (in C)
        owners = list(owners)
        a_client, a_deal = acts["client"], acts["deal"]
        for none in (None, ""):
            i = -1
            with contextlib.suppress(ValueError):
                while True:
                    i = owners.index(none, i + 1)
                    cid = a_client[i]
                    owners[i] = client_owner[cid] if cid in client_owner else \
                        client_owner.get(deal_client.get(a_deal[i]))
    done: Counter = Counter()      # owner -> activities done (in the window)
    overdue: Counter = Counter()   # owner -> planned activities dated before today
    is_done = {None, "done"}.__contains__
    if windowed:
        done.update(owner for status, owner, when in zip(statuses, owners, dates)
                    if is_done(status) and owner is not False
                    and in_window(as_date(when), spec.date_from, spec.date_to))
    else:  # counted in C: the owners of the activities done
        done.update(compress(owners, map(is_done, statuses)))
        done.pop(False, None)
    for i in compress(range(len(statuses)), map(eq, statuses, repeat("planned"))):
        owner = owners[i]
        if owner is not False:
            day = as_date(dates[i])
            if day is not None and day < today:
                overdue[owner] += 1
    if spec.owner is not None:
        done = Counter({spec.owner: done[spec.owner]} if spec.owner in done else {})
        overdue = Counter({spec.owner: overdue[spec.owner]} if spec.owner in overdue else {})
    for owner, n in done.items():
        row(owner)["activities_done"] += n
    for owner, n in overdue.items():
        row(owner)["tasks_overdue"] += n

    # the deals: as deal_facts gives them, from the columns
    rates = RateTable(cfg.rates, cfg.currency)
    won_stage, lost_stage = cfg.won_stage, cfg.lost_stage
    filtered = filters.any
    still_open: Counter = Counter()   # owner -> open deals
    for _, stage, created, closed, won_on, owner, cid, source, amount, qty, price, currency in zip(
            *(deals[f] for f in ("id", "stage", "@created", "@closed", "@won_on", "owner", "client", "source",
                                 "amount", "quantity", "unit_price", "currency"))):
        if filtered and not filters.deal({"owner": owner, "source": source}, clients.get(cid)):
            continue
        if owner is None:  # the deal's own owner, else its client's
            owner = client_owner.get(cid)
        if stage != won_stage and stage != lost_stage:
            still_open[owner] += 1
            continue
        if windowed and not in_window(closed, spec.date_from, spec.date_to):
            continue
        r = row(owner)
        if stage == lost_stage:
            r["lost"] += 1
        else:
            r["won"].append(rates.to_base(amount_of(amount, qty, price), currency, closed or today))
            if won_on is not None and created is not None:
                r["cycles"].append((won_on - created).days)

    for owner, n in still_open.items():
        row(owner)["open"] += n

    order = [o for o in cfg.owners if o in rows]
    order += sorted(o for o in rows if o is not None and o not in cfg.owners)
    order += [None] if None in rows else []
    out = []
    for oid in order:
        r = rows[oid]
        info = cfg.owners.get(oid, {}) if oid is not None else {}
        won = len(r["won"])
        out.append({
            "owner": oid, "name": info.get("name"), "manager": info.get("manager"),
            "team": team_of(oid, cfg) if oid is not None else [],
            "activities_done": r["activities_done"], "tasks_overdue": r["tasks_overdue"],
            "open": r["open"], "won": won, "lost": r["lost"],
            "win_rate": ratio(won, won + r["lost"]),
            "revenue": money(total(r["won"])), "cycle_days": median(r["cycles"]),
        })

    all_won = sum(r["won"] for r in out)
    all_lost = sum(r["lost"] for r in out)
    return {
        "from": iso(spec.date_from), "to": iso(spec.date_to), "currency": cfg.currency,
        "rows": out,
        "activities_done": sum(r["activities_done"] for r in out),
        "tasks_overdue": sum(r["tasks_overdue"] for r in out),
        "open": sum(r["open"] for r in out), "won": all_won, "lost": all_lost,
        "win_rate": ratio(all_won, all_won + all_lost),
        "revenue": money(total(v for r in rows.values() for v in r["won"])),
        "cycle_days": median(c for r in rows.values() for c in r["cycles"]),
    }


def render_table(result: dict, unicode: bool = True) -> str:
    cur = result["currency"]
    headers = ["owner", "name", "manager", "team", "done", "overdue", "open", "won", "lost",
               "win rate", f"revenue, {cur}", "cycle, days"]
    body = [[fmt_group(r["owner"]), r["name"] or "", r["manager"] or "", ", ".join(r["team"]),
             str(r["activities_done"]), str(r["tasks_overdue"]), str(r["open"]), str(r["won"]),
             str(r["lost"]), fmt_rate(r["win_rate"], unicode), fmt_money(r["revenue"], unicode),
             fmt_num(r["cycle_days"], unicode)] for r in result["rows"]]
    text = format_table(headers, body, "llllrrrrrrrr", unicode)
    pairs = [("activities done / tasks overdue", f"{result['activities_done']} / {result['tasks_overdue']}"),
             ("open / won / lost", f"{result['open']} / {result['won']} / {result['lost']}"),
             ("win rate", fmt_rate(result["win_rate"], unicode)),
             (f"revenue, {cur}", fmt_money(result["revenue"], unicode)),
             ("cycle, days", fmt_num(result["cycle_days"], unicode))]
    return text + "\n\n" + format_pairs(pairs)


def csv_rows(result: dict) -> tuple[list[str], list[list]]:
    return rows_csv(result, list(COLUMNS))
