"""``crm report sales``: won deals and revenue by period or by a parameter (contract §5)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from crmcli.config import Config
from crmcli.reports import pictures
from crmcli.reports.common import (
    FACT_FIELDS, WON, Dataset, DealFacts, Filters, check_choice, check_filters, deal_facts, fmt_group,
    fmt_money, format_pairs, format_table, in_window, iso, money, period_index, period_label,
    rows_csv, total,
)
from crmcli.errors import CrmError

SALES_BY = ("month", "quarter", "owner", "source", "product", "tag")
COLUMNS = ("won", "revenue", "revenue_constant")


# what the report reads of each deal: it reads them as columns, with the
# dates the index keeps (records.derived), not every deal's history
DEAL_FIELDS = FACT_FIELDS + ("product",)
AS_COLUMNS = {"deal": DEAL_FIELDS}

@dataclass(frozen=True)
class SalesSpec:
    today: date
    by: str = "month"               # month | quarter | owner | source | product | tag
    season: bool = False            # fold years onto months (quarters) of the year
    date_from: date | None = None   # on the close date
    date_to: date | None = None
    owner: str | None = None
    source: str | None = None
    tag: str | None = None


def check_spec(spec: SalesSpec) -> None:
    check_choice("--by", spec.by, SALES_BY)
    if spec.season and spec.by not in ("month", "quarter"):
        raise CrmError(f"--season folds dates onto the months of a year; use it with --by month "
                       f"or --by quarter, not --by {spec.by}")


def group_keys(f: DealFacts, spec: SalesSpec) -> list:
    """The groups a won deal counts in (a deal counts in each of its client's tags)."""
    by = spec.by
    if by in ("month", "quarter"):
        if spec.season:
            return [f"{f.closed.month:02d}" if by == "month" else f"Q{(f.closed.month - 1) // 3 + 1}"]
        return [period_index(f.closed, by)]
    if by == "owner":
        return [f.owner]
    if by == "source":
        return [f.source]
    if by == "product":
        return [f.deal.get("product")]
    return list(dict.fromkeys(f.tags)) or [None]


def ordered_groups(groups: dict, spec: SalesSpec) -> list:
    """Time groups in time order with empty periods filled in; others by revenue."""
    by = spec.by
    if by in ("month", "quarter"):
        if spec.season:
            keys = [f"{m:02d}" for m in range(1, 13)] if by == "month" else [f"Q{q}" for q in range(1, 5)]
            return keys
        first = period_index(spec.date_from, by) if spec.date_from else min(groups, default=None)
        last = period_index(spec.date_to, by) if spec.date_to else max(groups, default=None)
        if first is None or last is None:
            return sorted(groups)
        return list(range(first, last + 1))
    return sorted(groups, key=lambda k: (k is None, -groups[k]["revenue"], str(k)))


def sales_report(data: Dataset, cfg: Config, spec: SalesSpec) -> dict:
    check_spec(spec)
    check_filters(data, cfg, spec)
    filters = Filters(spec.owner, spec.source, spec.tag)
    today = spec.today
    windowed = spec.date_from is not None or spec.date_to is not None

    groups: dict = {}
    won = 0
    values, constants = [], []
    foreign = False
    for f in deal_facts(data, cfg, filters, outcomes=(WON,)):
        if f.closed is None or (windowed and not in_window(f.closed, spec.date_from, spec.date_to)):
            continue
        won += 1
        value, constant = f.value(today), f.value_today(today)
        values.append(value)
        constants.append(constant)
        foreign = foreign or f.currency != cfg.currency
        for key in group_keys(f, spec):
            g = groups.get(key)
            if g is None:
                g = groups[key] = {"won": 0, "values": [], "constants": []}
            g["won"] += 1
            g["values"].append(value)
            g["constants"].append(constant)
    for g in groups.values():
        g["revenue"] = total(g["values"])
        g["revenue_constant"] = total(g["constants"])

    rows = []
    time_group = spec.by in ("month", "quarter") and not spec.season
    for key in ordered_groups(groups, spec):
        g = groups.get(key, {"won": 0, "revenue": 0, "revenue_constant": 0})
        name = period_label(key, spec.by) if time_group else key
        rows.append({spec.by: name, "won": g["won"], "revenue": money(g["revenue"]),
                     "revenue_constant": money(g["revenue_constant"])})

    revenue = total(values)
    constant = total(constants)
    return {
        "by": spec.by, "season": spec.season, "from": iso(spec.date_from), "to": iso(spec.date_to),
        "currency": cfg.currency, "foreign_currency": foreign,
        "rows": rows,
        "won": won, "revenue": money(revenue), "revenue_constant": money(constant),
        "currency_effect": money(revenue - constant),
    }


def render_table(result: dict, unicode: bool = True) -> str:
    by, cur = result["by"], result["currency"]
    rows = result["rows"]
    top = max((r["revenue"] or 0 for r in rows), default=0)
    headers = [by, "won", f"revenue, {cur}", ""]
    align = "lrrl"
    if result["foreign_currency"]:
        headers.insert(3, "at today's rates")
        align = "lrrrl"
    body = []
    for r in rows:
        line = [fmt_group(r[by]), str(r["won"]), fmt_money(r["revenue"], unicode)]
        if result["foreign_currency"]:
            line.append(fmt_money(r["revenue_constant"], unicode))
        line.append(pictures.bar(r["revenue"], top, 30, unicode))
        body.append(line)
    text = format_table(headers, body, align, unicode)
    pairs = [("won deals", str(result["won"])), (f"revenue, {cur}", fmt_money(result["revenue"], unicode))]
    if result["foreign_currency"]:
        pairs += [(f"at today's rates, {cur}", fmt_money(result["revenue_constant"], unicode)),
                  (f"currency effect, {cur}", fmt_money(result["currency_effect"], unicode))]
    return text + "\n\n" + format_pairs(pairs)


def csv_rows(result: dict) -> tuple[list[str], list[list]]:
    return rows_csv(result, [result["by"], *COLUMNS])
