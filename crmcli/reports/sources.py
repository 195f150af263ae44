"""``crm report sources``: advertising effectiveness per lead source (contract §5)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crmcli.config import Config
from crmcli.reports.common import (
    FACT_FIELDS, WON, Dataset, Filters, as_date, check_filters, deal_facts, deals_of, fmt_group, fmt_money, fmt_rate,
    format_pairs, format_table, in_window, iso, money, money_ratio, ratio, rows_csv, total,
)

COLUMNS = ("source", "clients", "customers", "conversion", "revenue", "cost",
           "cost_per_lead", "cost_per_customer", "roi")
# what the report reads of each deal: it reads them as columns, with the
# dates the index keeps (records.derived), not every deal's history
DEAL_FIELDS = FACT_FIELDS
AS_COLUMNS = {"deal": DEAL_FIELDS}


@dataclass(frozen=True)
class SourcesSpec:
    today: date
    date_from: date | None = None   # clients by created date, revenue by close date
    date_to: date | None = None
    owner: str | None = None
    source: str | None = None       # show this source only
    tag: str | None = None


def roi(revenue: Decimal, cost: Decimal | None) -> float | None:
    if cost is None or cost == 0:
        return None
    return ratio(revenue - cost, cost)


def sources_report(data: Dataset, cfg: Config, spec: SourcesSpec) -> dict:
    check_filters(data, cfg, spec)
    filters = Filters(spec.owner, spec.source, spec.tag)
    deals = deals_of(data)
    buyers = {d.get("client") for d in deals if d.get("stage") == cfg.won_stage}
    windowed = spec.date_from is not None or spec.date_to is not None

    groups: dict = {}

    def group(name):
        g = groups.get(name)
        if g is None:
            g = groups[name] = {"clients": 0, "customers": 0, "values": []}
        return g

    for name in cfg.sources:
        if spec.source in (None, name):
            group(name)
    for client in data.clients:
        if not filters.client(client):
            continue
        if windowed and not in_window(as_date(client.get("created")), spec.date_from, spec.date_to):
            continue
        g = group(client.get("source"))
        g["clients"] += 1
        if client.get("id") in buyers:
            g["customers"] += 1
    for f in deal_facts(data, cfg, filters, outcomes=(WON,), deals=deals):
        if not windowed or in_window(f.closed, spec.date_from, spec.date_to):
            group(f.source)["values"].append(f.value(spec.today))

    order = [s for s in cfg.sources if s in groups]
    order += sorted(s for s in groups if s is not None and s not in cfg.sources)
    order += [None] if None in groups else []
    rows = []
    for name in order:
        g = groups[name]
        revenue = total(g["values"])
        cost = (cfg.sources.get(name) or {}).get("cost") if name is not None else None
        rows.append({
            "source": name, "clients": g["clients"], "customers": g["customers"],
            "conversion": ratio(g["customers"], g["clients"]),
            "revenue": money(revenue), "cost": money(cost),
            "cost_per_lead": money_ratio(cost, g["clients"]),
            "cost_per_customer": money_ratio(cost, g["customers"]),
            "roi": roi(revenue, cost),
        })

    clients = sum(r["clients"] for r in rows)
    customers = sum(r["customers"] for r in rows)
    revenue = total(v for g in groups.values() for v in g["values"])
    costs = [(cfg.sources.get(n) or {}).get("cost") for n in order if n is not None]
    cost = total(costs) if any(c is not None for c in costs) else None
    return {
        "from": iso(spec.date_from), "to": iso(spec.date_to), "currency": cfg.currency,
        "rows": rows,
        "clients": clients, "customers": customers, "conversion": ratio(customers, clients),
        "revenue": money(revenue), "cost": money(cost), "roi": roi(revenue, cost),
    }


def render_table(result: dict, unicode: bool = True) -> str:
    cur = result["currency"]
    headers = ["source", "clients", "customers", "conversion", f"revenue, {cur}", "cost",
               "per lead", "per customer", "ROI"]
    body = [[fmt_group(r["source"]), str(r["clients"]), str(r["customers"]),
             fmt_rate(r["conversion"], unicode), fmt_money(r["revenue"], unicode),
             fmt_money(r["cost"], unicode), fmt_money(r["cost_per_lead"], unicode),
             fmt_money(r["cost_per_customer"], unicode), fmt_rate(r["roi"], unicode)]
            for r in result["rows"]]
    text = format_table(headers, body, "lrrrrrrrr", unicode)
    pairs = [("clients / customers", f"{result['clients']} / {result['customers']}"),
             ("conversion", fmt_rate(result["conversion"], unicode)),
             (f"revenue, {cur}", fmt_money(result["revenue"], unicode)),
             (f"cost, {cur}", fmt_money(result["cost"], unicode)),
             ("ROI", fmt_rate(result["roi"], unicode))]
    return text + "\n\n" + format_pairs(pairs)


def csv_rows(result: dict) -> tuple[list[str], list[list]]:
    return rows_csv(result, list(COLUMNS))
