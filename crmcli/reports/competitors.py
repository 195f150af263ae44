"""``crm report competitors``: who else serves our clients and how we fare (contract §5)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from crmcli.config import Config
from crmcli.reports.common import (
    FACT_FIELDS, Dataset, Filters, check_filters, deal_facts, deals_of, fmt_group, fmt_rate, format_pairs,
    format_table, in_window, iso, ratio, rows_csv,
)

COLUMNS = ("competitor", "name", "clients", "deals_contested", "lost_to", "won_against",
           "win_rate")


# what the report reads of each deal: it reads them as columns, with the
# dates the index keeps (records.derived), not every deal's history
DEAL_FIELDS = FACT_FIELDS + ("competitors", "lost_to")
AS_COLUMNS = {"deal": DEAL_FIELDS}

@dataclass(frozen=True)
class CompetitorsSpec:
    today: date
    date_from: date | None = None   # deals by created date
    date_to: date | None = None
    owner: str | None = None
    source: str | None = None
    tag: str | None = None


def contested_by(deal: dict) -> list[str]:
    """The competitors on a deal: its ``competitors`` plus ``lost_to``, once each."""
    names = list(deal.get("competitors") or [])
    if deal.get("lost_to"):
        names.append(deal["lost_to"])
    return list(dict.fromkeys(names))


def competitors_report(data: Dataset, cfg: Config, spec: CompetitorsSpec) -> dict:
    check_filters(data, cfg, spec)
    filters = Filters(spec.owner, spec.source, spec.tag)
    names = {c.get("id"): c.get("name") for c in data.competitors}
    stats: dict = {}

    def stat(cid):
        return stats.setdefault(cid, {"clients": 0, "deals": 0, "lost_to": 0, "won": 0, "lost": 0})

    for cid in names:
        stat(cid)
    for client in data.clients:
        if filters.client(client):
            for cid in dict.fromkeys(client.get("competitors") or []):
                stat(cid)["clients"] += 1
    contested = won = lost = lost_to = 0
    # the deals contested_by names anyone: no other deal counts here
    deals = deals_of(data)
    rivalled = [d for d in deals if d.get("competitors") or d.get("lost_to")]
    windowed = spec.date_from is not None or spec.date_to is not None
    for f in deal_facts(data, cfg, filters, deals=rivalled):
        if windowed and not in_window(f.created, spec.date_from, spec.date_to):
            continue
        contested += 1
        won += int(f.won)
        lost += int(f.lost)
        lost_to += int(f.lost and bool(f.deal.get("lost_to")))
        for cid in contested_by(f.deal):
            s = stat(cid)
            s["deals"] += 1
            s["won"] += int(f.won)
            s["lost"] += int(f.lost)
            s["lost_to"] += int(f.lost and f.deal.get("lost_to") == cid)

    rows = [{"competitor": cid, "name": names.get(cid), "clients": s["clients"],
             "deals_contested": s["deals"], "lost_to": s["lost_to"], "won_against": s["won"],
             "win_rate": ratio(s["won"], s["won"] + s["lost"])}
            for cid, s in stats.items()]
    rows.sort(key=lambda r: (-r["deals_contested"], -r["clients"], r["competitor"]))
    return {
        "from": iso(spec.date_from), "to": iso(spec.date_to), "rows": rows,
        "deals_contested": contested, "won_against": won, "lost_to": lost_to,
        "win_rate": ratio(won, won + lost),
    }


def render_table(result: dict, unicode: bool = True) -> str:
    headers = ["competitor", "name", "clients", "contested", "lost to", "won against", "win rate"]
    body = [[fmt_group(r["competitor"]), r["name"] or "", str(r["clients"]),
             str(r["deals_contested"]), str(r["lost_to"]), str(r["won_against"]),
             fmt_rate(r["win_rate"], unicode)] for r in result["rows"]]
    text = format_table(headers, body, "llrrrrr", unicode)
    pairs = [("deals contested", str(result["deals_contested"])),
             ("won against / lost to a competitor", f"{result['won_against']} / {result['lost_to']}"),
             ("win rate when contested", fmt_rate(result["win_rate"], unicode))]
    return text + "\n\n" + format_pairs(pairs)


def csv_rows(result: dict) -> tuple[list[str], list[list]]:
    return rows_csv(result, list(COLUMNS))
