"""What every report shares: the dataset, the facts derived from a deal, the
filters, periods, rounding, and a plain text table.

Everything here is pure: records and settings in, plain data out.  Nothing
reads the disk or the clock; ``today`` is always an argument.
"""
from __future__ import annotations

import statistics
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from crmcli.config import Config
from crmcli.errors import CrmError
from crmcli.money import rate_on, round_money, round_rate

OPEN, WON, LOST = "open", "won", "lost"
PERIODS = ("month", "quarter", "year")


from crmcli.records import Dataset  # noqa: E402,F401 - the store's shape, re-exported for reports


# --- small conversions -------------------------------------------------------

def as_date(value) -> date | None:
    """A date from a date or a date-time (or None)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    return value


def iso(value) -> str | None:
    value = as_date(value)
    return value.isoformat() if value is not None else None


def ratio(num, den) -> float | None:
    """num / den as a fraction rounded to 4 places; None when den is 0 or unknown."""
    if num is None or den is None or den == 0:
        return None
    return round_rate(Decimal(num) / Decimal(den))


def money(value) -> float | None:
    return round_money(value)


def money_ratio(num, den) -> float | None:
    """Money divided by a count or by money, rounded to 2 places; None when undefined."""
    if num is None or den is None or den == 0:
        return None
    return round_money(Decimal(num) / Decimal(den))


def median(values) -> float | None:
    values = list(values)
    if not values:
        return None
    return float(statistics.median(values))


def number(value):
    """A Decimal quantity for JSON: an int when whole, else a float."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def jsonable(value):
    """A scalar made JSON-ready: dates as ISO text, Decimals as numbers."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return number(value)
    return value


# --- deals -------------------------------------------------------------------

def stage_entries(deal: dict) -> list[tuple[str, date]]:
    """The stages a deal entered, in order, with their dates.

    A deal with no history is taken to have entered its ``stage`` on ``created``.
    """
    history = deal.get("history") or []
    if history:
        out = []
        for h in history:
            stage, day = h.get("stage"), h.get("date")
            if stage is None or day is None:
                continue
            out.append((stage, day if type(day) is date else as_date(day)))
        return out
    stage, created = deal.get("stage"), as_date(deal.get("created"))
    if stage is not None and created is not None:
        return [(stage, created)]
    return []


def deal_created(deal: dict, entries=None) -> date | None:
    """``created``, or the date of the first history entry."""
    created = as_date(deal.get("created"))
    if created is not None:
        return created
    entries = stage_entries(deal) if entries is None else entries
    return entries[0][1] if entries else None


def deal_outcome(deal: dict, cfg: Config) -> str:
    """``won``, ``lost`` or ``open``, by the deal's current stage."""
    stage = deal.get("stage")
    if stage == cfg.won_stage:
        return WON
    if stage == cfg.lost_stage:
        return LOST
    return OPEN


def last_entry(deal: dict, stages, entries=None) -> date | None:
    """The date of the deal's last entry into one of ``stages``."""
    found = None
    for stage, day in (stage_entries(deal) if entries is None else entries):
        if stage in stages:
            found = day
    return found


def close_date(deal: dict, cfg: Config, entries=None) -> date | None:
    """The date of the last entry into the won or lost stage; None for open deals.

    A closed deal whose history never entered a closing stage (``crm check``
    reports it) falls back to its last history entry, then to ``created``.
    """
    if deal_outcome(deal, cfg) == OPEN:
        return None
    entries = stage_entries(deal) if entries is None else entries
    day = last_entry(deal, (cfg.won_stage, cfg.lost_stage), entries)
    if day is None:
        day = entries[-1][1] if entries else as_date(deal.get("created"))
    return day


def deal_amount(deal: dict) -> Decimal | None:
    """``amount``, or quantity × unit_price, in the deal's own currency."""
    amount = deal.get("amount")
    if amount is not None:
        return Decimal(amount)
    qty, price = deal.get("quantity"), deal.get("unit_price")
    if qty is not None and price is not None:
        return Decimal(qty) * Decimal(price)
    return None


def convert(amount: Decimal | None, currency: str | None, day: date, cfg: Config) -> Decimal | None:
    """An amount in the base currency at the rate in force on ``day``; None if unknown."""
    if amount is None:
        return None
    rate = rate_on(cfg.rates, currency or cfg.currency, day, cfg.currency)
    if rate is None:
        return None
    return Decimal(amount) * rate


def deal_source(deal: dict, client: dict | None) -> str | None:
    """The deal's own ``source``, else its client's."""
    if deal.get("source") is not None:
        return deal["source"]
    return client.get("source") if client else None


def deal_owner(deal: dict, client: dict | None) -> str | None:
    """The deal's own ``owner``, else its client's."""
    if deal.get("owner") is not None:
        return deal["owner"]
    return client.get("owner") if client else None


@dataclass
class DealFacts:
    """One deal with the figures every report derives from it."""

    deal: dict
    client: dict | None
    outcome: str
    created: date | None
    closed: date | None
    amount: Decimal | None   # in the deal's currency
    currency: str
    owner: str | None
    source: str | None
    tags: list[str]
    entries: list = None  # (stage, date) of every stage entered, in order

    @property
    def id(self) -> str:
        return self.deal.get("id")

    @property
    def won(self) -> bool:
        return self.outcome == WON

    @property
    def lost(self) -> bool:
        return self.outcome == LOST

    @property
    def open(self) -> bool:
        return self.outcome == OPEN

    def value(self, cfg: Config, today: date) -> Decimal | None:
        """The amount in the base currency on the close date (open deals: today)."""
        return convert(self.amount, self.currency, self.closed or today, cfg)

    def value_today(self, cfg: Config, today: date) -> Decimal | None:
        """The amount in the base currency at today's rate (constant rates)."""
        return convert(self.amount, self.currency, today, cfg)


def deal_facts(data: Dataset, cfg: Config) -> list[DealFacts]:
    clients = clients_by_id(data)
    out = []
    for deal in data.deals:
        client = clients.get(deal.get("client"))
        entries = stage_entries(deal)
        out.append(DealFacts(
            deal=deal, client=client, outcome=deal_outcome(deal, cfg),
            created=deal_created(deal, entries), closed=close_date(deal, cfg, entries), entries=entries,
            amount=deal_amount(deal), currency=deal.get("currency") or cfg.currency,
            owner=deal_owner(deal, client), source=deal_source(deal, client),
            tags=list((client or {}).get("tags") or []),
        ))
    return out


def total(values) -> Decimal:
    """The sum of the known values (unknown amounts add nothing)."""
    return sum((v for v in values if v is not None), Decimal(0))


# --- clients -----------------------------------------------------------------

def clients_by_id(data: Dataset) -> dict[str, dict]:
    return {c.get("id"): c for c in data.clients}


def deals_by_client(data: Dataset) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for deal in data.deals:
        out.setdefault(deal.get("client"), []).append(deal)
    return out


def client_status(client: dict, deals_of_client: list[dict], cfg: Config, today: date) -> str:
    """``customer`` if the client has a won deal, ``former`` if its last won deal
    closed more than ``churn_after`` days before today, else ``prospect``
    (the rule of crmcli.query.client_status, from the client's deals)."""
    from crmcli.query import client_status as status_from_wins
    days = [close_date(d, cfg) for d in deals_of_client if deal_outcome(d, cfg) == WON]
    return status_from_wins([d for d in days if d is not None], cfg.churn_after, today)


# --- filters -----------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """``--owner``, ``--source``, ``--tag``: compose with AND; None means any."""

    owner: str | None = None
    source: str | None = None
    tag: str | None = None

    def deal(self, facts: DealFacts) -> bool:
        if self.owner is not None and facts.owner != self.owner:
            return False
        if self.source is not None and facts.source != self.source:
            return False
        if self.tag is not None and self.tag not in facts.tags:
            return False
        return True

    def client(self, client: dict) -> bool:
        if self.owner is not None and client.get("owner") != self.owner:
            return False
        if self.source is not None and client.get("source") != self.source:
            return False
        if self.tag is not None and self.tag not in (client.get("tags") or []):
            return False
        return True


def in_window(day: date | None, date_from: date | None, date_to: date | None) -> bool:
    """Is ``day`` within [date_from, date_to]?  An unknown day is only in an open window."""
    if date_from is None and date_to is None:
        return True
    if day is None:
        return False
    if date_from is not None and day < date_from:
        return False
    if date_to is not None and day > date_to:
        return False
    return True


def known_owners(data: Dataset, cfg: Config) -> set[str]:
    owners = set(cfg.owners)
    for rec in (*data.clients, *data.deals, *data.activities, *data.stakeholders):
        if rec.get("owner") is not None:
            owners.add(rec["owner"])
    return owners


def check_owner(data: Dataset, cfg: Config, owner: str | None) -> None:
    if owner is None:
        return
    owners = known_owners(data, cfg)
    if owner not in owners:
        listed = ", ".join(sorted(owners)) or "none are defined in crm.yaml"
        raise CrmError(f"unknown owner {owner!r} (owners: {listed})")


def check_window(date_from: date | None, date_to: date | None) -> None:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise CrmError(f"--from {date_from.isoformat()} is after --to {date_to.isoformat()}")


def check_choice(what: str, value, choices) -> None:
    if value not in choices:
        raise CrmError(f"{what} must be one of: {', '.join(choices)} (not {value!r})")


def check_filters(data: Dataset, cfg: Config, spec) -> None:
    """Validate whichever of owner / date_from / date_to the spec carries."""
    check_owner(data, cfg, getattr(spec, "owner", None))
    check_window(getattr(spec, "date_from", None), getattr(spec, "date_to", None))


# --- periods -----------------------------------------------------------------

def period_index(day: date, period: str) -> int:
    if period == "month":
        return day.year * 12 + day.month - 1
    if period == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    return day.year


def period_label(index: int, period: str) -> str:
    if period == "month":
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    if period == "quarter":
        return f"{index // 4:04d}-Q{index % 4 + 1}"
    return f"{index:04d}"


# --- text output -------------------------------------------------------------

def text_width(text: str) -> int:
    """Columns a string takes on a terminal (wide East Asian characters count 2)."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return width


def pad(text: str, width: int, align: str) -> str:
    gap = " " * max(width - text_width(text), 0)
    return gap + text if align == "r" else text + gap


def format_table(headers: list[str], rows: list[list[str]], align: str | None = None,
                 unicode: bool = True) -> str:
    """A plain aligned table: a header, a rule, the rows; columns two spaces apart.

    ``align`` has one letter per column, ``l`` or ``r``.
    """
    align = align or "l" * len(headers)
    widths = [text_width(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], text_width(cell))
    rule = "─" if unicode else "-"
    lines = ["  ".join(pad(h, widths[i], align[i]) for i, h in enumerate(headers)),
             "  ".join(rule * w for w in widths)]
    for row in rows:
        lines.append("  ".join(pad(cell, widths[i], align[i]) for i, cell in enumerate(row)))
    return "\n".join(line.rstrip() for line in lines)


def format_pairs(pairs: list[tuple[str, str]]) -> str:
    """``label  value`` lines, labels padded to one width."""
    if not pairs:
        return ""
    width = max(text_width(k) for k, _ in pairs)
    return "\n".join(f"{pad(k, width, 'l')}  {v}".rstrip() for k, v in pairs)


def none_text(unicode: bool) -> str:
    return "—" if unicode else "-"


def fmt_money(value, unicode: bool = True) -> str:
    return none_text(unicode) if value is None else f"{value:,.2f}"


def fmt_rate(value, unicode: bool = True) -> str:
    """A fraction as a percentage with one decimal: 0.375 -> 37.5%."""
    return none_text(unicode) if value is None else f"{value * 100:.1f}%"


def fmt_num(value, unicode: bool = True) -> str:
    if value is None:
        return none_text(unicode)
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def fmt_group(value, unicode: bool = True) -> str:
    """A group's name for a table: missing shows as ``(none)``."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def csv_cell(value):
    """A value for a CSV cell: None as empty, lists joined by ``;``."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


def rows_csv(result: dict, headers: list[str]) -> tuple[list[str], list[list]]:
    """CSV headers and rows of a ``{"rows": [...]}`` report."""
    rows = result.get("rows") or []
    return list(headers), [[csv_cell(row.get(h)) for h in headers] for row in rows]
