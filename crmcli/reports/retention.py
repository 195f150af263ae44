"""``crm report retention``: cohorts, repeat sales and churn (contract §5)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from crmcli.config import Config
from crmcli.reports import pictures
from crmcli.reports.common import (
    FACT_FIELDS, PERIODS, WON, Dataset, Filters, check_choice, check_filters, csv_cell, deal_facts, fmt_money,
    fmt_rate, format_pairs, format_table, money, money_ratio, period_index, period_label, ratio,
    total,
)


# what the report reads of each deal: it reads them as columns, with the
# dates the index keeps (records.derived), not every deal's history
DEAL_FIELDS = FACT_FIELDS
AS_COLUMNS = {"deal": DEAL_FIELDS}

@dataclass(frozen=True)
class RetentionSpec:
    today: date
    period: str = "month"           # month | quarter | year
    owner: str | None = None
    source: str | None = None
    tag: str | None = None


def purchases(data: Dataset, cfg: Config, spec: RetentionSpec) -> dict[str, list[tuple[date, object]]]:
    """Per client id: its purchases as (date, value in base currency), oldest first.

    A purchase is a deal now in the won stage, dated by its last entry into it;
    a won deal with no date at all cannot be placed in a period and is left out.
    """
    filters = Filters(spec.owner, spec.source, spec.tag)
    out: dict[str, list] = {}
    for f in deal_facts(data, cfg, filters, outcomes=(WON,)):
        if f.won_on is None:
            continue
        out.setdefault(f.deal.get("client"), []).append((f.won_on, f.value(spec.today)))
    for items in out.values():
        items.sort(key=lambda item: item[0])
    return out


def retention_report(data: Dataset, cfg: Config, spec: RetentionSpec) -> dict:
    check_choice("--period", spec.period, PERIODS)
    check_filters(data, cfg, spec)
    bought = purchases(data, cfg, spec)
    period, today = spec.period, spec.today

    customers = len(bought)
    repeat = sum(1 for items in bought.values() if len(items) >= 2)
    churned_ids = [c for c, items in bought.items() if (today - items[-1][0]).days > cfg.churn_after]
    revenue = total(v for items in bought.values() for _, v in items)
    churned_revenue = total(v for c in churned_ids for _, v in bought[c])

    cohorts: dict[int, list[set[int]]] = {}
    for items in bought.values():
        periods = {period_index(day, period) for day, _ in items}
        cohorts.setdefault(min(periods), []).append(periods)
    now = period_index(today, period)
    rows = []
    for start in sorted(cohorts):
        members = cohorts[start]
        size = len(members)
        # k -> the members who bought in the k-th period after the cohort's first
        active = Counter(p - start for periods in members for p in periods)
        retention = [ratio(active[k], size) for k in range(max(now - start, 0) + 1)]
        rows.append({"cohort": period_label(start, period), "size": size, "retention": retention})

    return {
        "period": period, "currency": cfg.currency,
        "customers": customers, "repeat_customers": repeat,
        "repeat_rate": ratio(repeat, customers),
        "churned": len(churned_ids), "churn_rate": ratio(len(churned_ids), customers),
        "revenue": money(revenue), "churned_revenue": money(churned_revenue),
        "revenue_per_customer": money_ratio(revenue, customers),
        "cohorts": rows,
    }


def render_table(result: dict, unicode: bool = True) -> str:
    cohorts = result["cohorts"]
    span = max((len(c["retention"]) for c in cohorts), default=1)
    headers = ["cohort", "size"] + [f"+{k}" for k in range(span)]
    rows = []
    for c in cohorts:
        cells = [pictures.heat_cell(r, unicode) for r in c["retention"]]
        rows.append([c["cohort"], str(c["size"])] + cells + [""] * (span - len(cells)))
    table = format_table(headers, rows, "lr" + "r" * span, unicode)
    cur = result["currency"]
    pairs = [("customers", str(result["customers"])),
             ("repeat customers", f"{result['repeat_customers']}  ({fmt_rate(result['repeat_rate'], unicode)})"),
             ("churned", f"{result['churned']}  ({fmt_rate(result['churn_rate'], unicode)})"),
             (f"revenue, {cur}", fmt_money(result["revenue"], unicode)),
             (f"revenue per customer, {cur}", fmt_money(result["revenue_per_customer"], unicode)),
             (f"revenue of churned customers, {cur}", fmt_money(result["churned_revenue"], unicode))]
    return f"retention by {result['period']}, +k = periods after the first purchase\n" \
        + table + "\n\n" + format_pairs(pairs)


def csv_rows(result: dict) -> tuple[list[str], list[list]]:
    span = max((len(c["retention"]) for c in result["cohorts"]), default=1)
    headers = ["cohort", "size"] + [f"retention[{k}]" for k in range(span)]
    rows = []
    for c in result["cohorts"]:
        cells = [csv_cell(r) for r in c["retention"]]
        rows.append([c["cohort"], c["size"]] + cells + [""] * (span - len(cells)))
    return headers, rows
