"""``crm report funnel``: how deals move through the pipeline (contract §5)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crmcli.config import Config
from crmcli.reports import pictures
from crmcli.reports.common import (
    FACT_FIELDS, LOST, WON, Dataset, DealFacts, Filters, check_filters, csv_cell, deal_facts, fmt_money,
    fmt_num, fmt_rate, format_pairs, format_table, in_window, iso, median, money, ratio,
)


@dataclass(frozen=True)
class FunnelSpec:
    today: date
    date_from: date | None = None   # on the deal's created date
    date_to: date | None = None
    owner: str | None = None
    source: str | None = None
    tag: str | None = None


def stage_positions(cfg: Config) -> dict[str, int]:
    """Each pipeline stage's index (the first, should a stage be listed twice)."""
    positions: dict[str, int] = {}
    for i, stage in enumerate(cfg.pipeline):
        positions.setdefault(stage, i)
    return positions


def walk_stages(facts: DealFacts, cfg: Config, positions: dict[str, int],
                days_at: list[list[int]]) -> int:
    """The index in the pipeline of the furthest stage the deal reached.

    On the way, the days between each entry into a pipeline stage and the entry
    that followed it are added to ``days_at[the stage's index]``.

    A won deal reached every stage; a lost deal, the furthest pipeline stage it
    entered before its (last) entry into the lost stage; an open deal, the
    furthest pipeline stage in its history or its current stage.  A deal that
    never entered a pipeline stage is counted at the first one: every deal in
    scope is in the funnel.
    """
    lost_stage = cfg.lost_stage
    furthest = 0
    before_lost = None   # the furthest before the latest entry into the lost stage
    at = since = None    # the index of the stage last entered, and when
    for stage, day in facts.entries:
        if at is not None:
            days_at[at].append((day - since).days)
        if stage == lost_stage:
            before_lost = furthest
        at, since = positions.get(stage), day
        if at is not None and at > furthest:
            furthest = at
    if facts.outcome == WON:
        return len(cfg.pipeline) - 1
    if facts.outcome == LOST:
        return furthest if before_lost is None else before_lost
    at = positions.get(facts.deal.get("stage"))
    return furthest if at is None or at < furthest else at


# what the report reads of each deal: it reads them as columns and makes
# records of just these fields (at 10,000 clients half the time of loading
# whole deals); deal_facts and the filters read no other field.  The stages
# each deal entered and its dates come worked out by the index
# (records.derived), not from its history
DEAL_FIELDS = FACT_FIELDS + ("@entries", "lost_reason")
AS_COLUMNS = {"deal": DEAL_FIELDS}


def funnel_report(data: Dataset, cfg: Config, spec: FunnelSpec) -> dict:
    check_filters(data, cfg, spec)
    filters = Filters(spec.owner, spec.source, spec.tag)
    date_from, date_to, today = spec.date_from, spec.date_to, spec.today
    windowed = date_from is not None or date_to is not None
    pipeline = cfg.pipeline
    positions = stage_positions(cfg)

    deals = opened = won = lost = known_won = 0
    won_amount, lost_amount = Decimal(0), Decimal(0)   # of the deals whose value is known
    at_furthest = [0] * len(pipeline)   # deals whose furthest stage is each stage
    days_at: list[list[int]] = [[] for _ in pipeline]   # see walk_stages
    cycles = []
    reasons: Counter = Counter()
    for f in deal_facts(data, cfg, filters):
        if windowed and not in_window(f.created, date_from, date_to):
            continue
        deals += 1
        at_furthest[walk_stages(f, cfg, positions, days_at)] += 1
        if f.outcome == WON:
            won += 1
            value = f.value(today)
            if value is not None:
                won_amount += value
                known_won += 1
            if f.won_on is not None and f.created is not None:
                cycles.append((f.won_on - f.created).days)
        elif f.outcome == LOST:
            lost += 1
            value = f.value(today)
            if value is not None:
                lost_amount += value
            reason = f.deal.get("lost_reason")
            if reason:
                reasons[reason] += 1
        else:
            opened += 1

    reached = [sum(at_furthest[i:]) for i in range(len(pipeline))]
    stages = []
    for i, stage in enumerate(pipeline):
        conversion = ratio(reached[i + 1], reached[i]) if i + 1 < len(pipeline) else None
        stages.append({"stage": stage, "reached": reached[i], "conversion": conversion,
                       "median_days": median(days_at[positions[stage]])})

    avg_won = won_amount / known_won if known_won else None
    win_rate = Decimal(won) / (won + lost) if won or lost else None
    cycle_days = median(cycles)

    velocity = None
    if win_rate is not None and avg_won is not None and cycle_days:
        velocity = money(opened * win_rate * avg_won / Decimal(str(cycle_days)))

    lost_reasons = [{"reason": r, "deals": n}
                    for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]

    return {
        "from": iso(date_from), "to": iso(date_to), "currency": cfg.currency,
        "deals": deals, "stages": stages,
        "open": opened, "won": won, "lost": lost,
        "win_rate": ratio(won, won + lost),
        "won_amount": money(won_amount), "avg_won_amount": money(avg_won),
        "lost_amount": money(lost_amount), "cycle_days": cycle_days, "velocity": velocity,
        "lost_reasons": lost_reasons,
    }


def render_table(result: dict, unicode: bool = True) -> str:
    stages = result["stages"]
    top = max((s["reached"] for s in stages), default=0)
    rows = [[s["stage"], str(s["reached"]), pictures.bar(s["reached"], top, 30, unicode),
             fmt_rate(s["conversion"], unicode), fmt_num(s["median_days"], unicode)]
            for s in stages]
    table = format_table(["stage", "reached", "", "conversion", "median days"], rows,
                         "lrlrr", unicode)
    cur = result["currency"]
    window = ""
    if result["from"] or result["to"]:
        window = f"{result['from'] or '…'} .. {result['to'] or '…'}"
    pairs = [("deals", str(result["deals"]) + (f"  (created {window})" if window else "")),
             ("open / won / lost", f"{result['open']} / {result['won']} / {result['lost']}"),
             ("win rate", fmt_rate(result["win_rate"], unicode)),
             (f"won amount, {cur}", fmt_money(result["won_amount"], unicode)),
             (f"average won, {cur}", fmt_money(result["avg_won_amount"], unicode)),
             (f"lost amount, {cur}", fmt_money(result["lost_amount"], unicode)),
             ("cycle, days", fmt_num(result["cycle_days"], unicode)),
             (f"velocity, {cur}/day", fmt_money(result["velocity"], unicode))]
    text = table + "\n\n" + format_pairs(pairs)
    if result["lost_reasons"]:
        text += "\n\nlost reasons\n" + format_table(
            ["reason", "deals"], [[r["reason"], str(r["deals"])] for r in result["lost_reasons"]],
            "lr", unicode)
    return text


def csv_rows(result: dict) -> tuple[list[str], list[list]]:
    headers = ["stage", "reached", "conversion", "median_days"]
    return headers, [[csv_cell(s[h]) for h in headers] for s in result["stages"]]
