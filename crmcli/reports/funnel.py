"""``crm report funnel``: how deals move through the pipeline (contract §5)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crmcli.config import Config
from crmcli.reports import pictures
from crmcli.reports.common import (
    Dataset, DealFacts, Filters, check_filters, csv_cell, deal_facts, fmt_money, fmt_num,
    fmt_rate, format_pairs, format_table, iso, last_entry, median, money,
    in_window, ratio, total,
)


@dataclass(frozen=True)
class FunnelSpec:
    today: date
    date_from: date | None = None   # on the deal's created date
    date_to: date | None = None
    owner: str | None = None
    source: str | None = None
    tag: str | None = None


def furthest_stage(facts: DealFacts, cfg: Config) -> int:
    """The index in the pipeline of the furthest stage the deal reached.

    A won deal reached every stage; a lost deal, the furthest pipeline stage it
    entered before its (last) entry into the lost stage; an open deal, the
    furthest pipeline stage in its history or its current stage.  A deal that
    never entered a pipeline stage is counted at the first one: every deal in
    scope is in the funnel.
    """
    pipeline = cfg.pipeline
    if facts.won:
        return len(pipeline) - 1
    entries = facts.entries
    if facts.lost:
        last_lost = max((i for i, (s, _) in enumerate(entries) if s == cfg.lost_stage), default=None)
        if last_lost is not None:
            entries = entries[:last_lost]
        stages = [s for s, _ in entries]
    else:
        stages = [s for s, _ in entries] + [facts.deal.get("stage")]
    reached = [pipeline.index(s) for s in stages if s in pipeline]
    return max(reached, default=0)


def stage_durations(facts: list[DealFacts], cfg: Config) -> dict[str, list[int]]:
    """Days between each entry into a stage and the entry that followed it."""
    out: dict[str, list[int]] = {s: [] for s in cfg.pipeline}
    for f in facts:
        entries = f.entries
        for (stage, day), (_, next_day) in zip(entries, entries[1:]):
            if stage in out:
                out[stage].append((next_day - day).days)
    return out


def funnel_report(data: Dataset, cfg: Config, spec: FunnelSpec) -> dict:
    check_filters(data, cfg, spec)
    filters = Filters(spec.owner, spec.source, spec.tag)
    facts = [f for f in deal_facts(data, cfg)
             if filters.deal(f) and in_window(f.created, spec.date_from, spec.date_to)]

    pipeline = cfg.pipeline
    reached = [0] * len(pipeline)
    for f in facts:
        for i in range(furthest_stage(f, cfg) + 1):
            reached[i] += 1
    durations = stage_durations(facts, cfg)
    stages = []
    for i, stage in enumerate(pipeline):
        conversion = ratio(reached[i + 1], reached[i]) if i + 1 < len(pipeline) else None
        stages.append({"stage": stage, "reached": reached[i], "conversion": conversion,
                       "median_days": median(durations[stage])})

    won = [f for f in facts if f.won]
    lost = [f for f in facts if f.lost]
    open_ = [f for f in facts if f.open]
    won_values = [f.value(cfg, spec.today) for f in won]
    won_amount = total(won_values)
    known_won = sum(1 for v in won_values if v is not None)
    avg_won = Decimal(won_amount) / known_won if known_won else None
    lost_amount = total(f.value(cfg, spec.today) for f in lost)
    win_rate = Decimal(len(won)) / (len(won) + len(lost)) if won or lost else None

    cycles = []
    for f in won:
        entered = last_entry(f.deal, (cfg.won_stage,)) or f.closed
        if entered is not None and f.created is not None:
            cycles.append((entered - f.created).days)
    cycle_days = median(cycles)

    velocity = None
    if win_rate is not None and avg_won is not None and cycle_days:
        velocity = money(len(open_) * win_rate * avg_won / Decimal(str(cycle_days)))

    reasons = Counter(f.deal.get("lost_reason") for f in lost if f.deal.get("lost_reason"))
    lost_reasons = [{"reason": r, "deals": n}
                    for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]

    return {
        "from": iso(spec.date_from), "to": iso(spec.date_to), "currency": cfg.currency,
        "deals": len(facts), "stages": stages,
        "open": len(open_), "won": len(won), "lost": len(lost),
        "win_rate": ratio(len(won), len(won) + len(lost)),
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
