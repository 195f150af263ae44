"""What every report shares: the dataset, the facts derived from a deal, the
filters, periods, rounding, and a plain text table.

Everything here is pure: records and settings in, plain data out.  Nothing
reads the disk or the clock; ``today`` is always an argument.
"""
from __future__ import annotations

import statistics
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from crmcli.config import Config
from crmcli.errors import CrmError
from crmcli.money import RateTable, rate_on, round_money, round_rate

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
#
# A report looks at every deal, so the facts of a deal are worked out once, in
# one pass over its history (``deal_stages``), and handed out one at a time by
# ``deal_facts``: a report adds them up as it goes instead of keeping tens of
# thousands of objects alive, which also spares Python's garbage collector.

OUTCOMES = (OPEN, WON, LOST)


def stage_entries(deal: dict) -> list[tuple[str, date]]:
    """The stages a deal entered, in order, with their dates.

    A deal with no history is taken to have entered its ``stage`` on ``created``.
    """
    return deal_stages(deal, None, None)[0]


def deal_stages(deal: dict, won_stage: str | None,
                lost_stage: str | None) -> tuple[list, date | None, date | None, date | None]:
    """``(entries, created, closed, won_on)`` of a deal, in one pass over its history.

    * entries: the stages the deal entered, in order, as (stage, date); a deal
      with no history is taken to have entered its ``stage`` on ``created``;
    * created: ``created``, or the date of the first entry;
    * closed: for a deal now in the won or lost stage, the date of its last
      entry into either; a closed deal whose history never entered a closing
      stage (``crm check`` reports it) falls back to its last entry, then to
      ``created``.  None for open deals;
    * won_on: for a deal now in the won stage, the date of its last entry into
      it, else ``closed``.  None for other deals.
    """
    stage = deal.get("stage")
    own_created = deal.get("created")
    history = deal.get("history")
    if own_created is not None and type(own_created) is not date:
        own_created = as_date(own_created)
    closed = won_on = None
    if history:
        entries = []
        for h in history:
            entered, day = h.get("stage"), h.get("date")
            if entered is None or day is None:
                continue
            if type(day) is not date:
                day = as_date(day)
            entries.append((entered, day))
            if entered == won_stage:
                closed = won_on = day
            elif entered == lost_stage:
                closed = day
    elif stage is not None and own_created is not None:
        entries = [(stage, own_created)]
        closed = won_on = own_created
    else:
        entries = []

    created = own_created
    if created is None and entries:
        created = entries[0][1]
    if stage is None or (stage != won_stage and stage != lost_stage):
        return entries, created, None, None
    if closed is None:
        closed = entries[-1][1] if entries else own_created
    if stage != won_stage:
        won_on = None
    elif won_on is None:
        won_on = closed
    return entries, created, closed, won_on


def deal_created(deal: dict) -> date | None:
    """``created``, or the date of the first history entry."""
    return deal_stages(deal, None, None)[1]


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


def close_date(deal: dict, cfg: Config) -> date | None:
    """The date of the last entry into the won or lost stage; None for open deals
    (see ``deal_stages``; a deal read as columns brings it as ``@closed``)."""
    if "@closed" in deal:
        return deal["@closed"]
    return deal_stages(deal, cfg.won_stage, cfg.lost_stage)[2]


def as_decimal(value) -> Decimal:
    """``Decimal(value)``, without a copy when it already is one."""
    return value if type(value) is Decimal else Decimal(value)


def deal_amount(deal: dict) -> Decimal | None:
    """``amount``, or quantity × unit_price, in the deal's own currency."""
    return amount_of(deal.get("amount"), deal.get("quantity"), deal.get("unit_price"))


def amount_of(amount, qty, price) -> Decimal | None:
    """``deal_amount`` of a deal's ``amount``, ``quantity`` and ``unit_price``."""
    if type(amount) is Decimal:
        return amount
    if amount is not None:
        return Decimal(amount)
    if qty is not None and price is not None:
        return as_decimal(qty) * as_decimal(price)
    return None


def convert(amount: Decimal | None, currency: str | None, day: date, cfg: Config) -> Decimal | None:
    """An amount in the base currency at the rate in force on ``day``; None if unknown."""
    if amount is None:
        return None
    rate = rate_on(cfg.rates, currency or cfg.currency, day, cfg.currency)
    if rate is None:
        return None
    return as_decimal(amount) * rate


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


class DealFacts:
    """One deal with the figures every report derives from it.

    The stage entries and dates are worked out when the facts are made; the
    client, owner, source, tags and values only when a report asks for them.
    """

    __slots__ = ("deal", "outcome", "entries", "created", "closed", "won_on", "clients", "rates")

    def __init__(self, deal: dict, outcome: str, entries: list, created: date | None,
                 closed: date | None, won_on: date | None, clients: dict, rates: RateTable):
        self.deal = deal
        self.outcome = outcome
        self.entries = entries    # (stage, date) of every stage entered, in order (None: not read)
        self.created = created
        self.closed = closed      # see deal_stages
        self.won_on = won_on      # see deal_stages
        self.clients = clients    # every client by id
        self.rates = rates

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

    @property
    def client(self) -> dict | None:
        """The deal's client record (None if it names no known client)."""
        return self.clients.get(self.deal.get("client"))

    @property
    def owner(self) -> str | None:
        """The deal's own ``owner``, else its client's."""
        return deal_owner(self.deal, self.client)

    @property
    def source(self) -> str | None:
        """The deal's own ``source``, else its client's."""
        return deal_source(self.deal, self.client)

    @property
    def tags(self) -> list[str]:
        """The client's tags (its own list: read it, do not change it)."""
        return (self.client or {}).get("tags") or []

    @property
    def amount(self) -> Decimal | None:
        """In the deal's own currency."""
        return deal_amount(self.deal)

    @property
    def currency(self) -> str:
        return self.deal.get("currency") or self.rates.base

    def value(self, today: date) -> Decimal | None:
        """The amount in the base currency on the close date (open deals: today)."""
        deal = self.deal
        return self.rates.to_base(deal_amount(deal), deal.get("currency"), self.closed or today)

    def value_today(self, today: date) -> Decimal | None:
        """The amount in the base currency at today's rate (constant rates)."""
        deal = self.deal
        return self.rates.to_base(deal_amount(deal), deal.get("currency"), today)


# what deal_facts and the deal filters read of a deal when deals are read as
# columns (AS_COLUMNS), with the dates the index works out (records.derived);
# a report names these and whatever else it reads of a deal
FACT_FIELDS = ("id", "stage", "client", "owner", "source", "amount", "quantity", "unit_price", "currency",
               "@created", "@closed", "@won_on")


def deal_facts(data: Dataset, cfg: Config, filters: Filters | None = None,
               outcomes=OUTCOMES, deals: list[dict] | None = None) -> Iterator[DealFacts]:
    """The facts of each deal (of ``deals``, by default all) whose outcome is one
    of ``outcomes`` and that passes ``filters``, one at a time."""
    clients = clients_by_id(data)
    rates = RateTable(cfg.rates, cfg.currency)
    won_stage, lost_stage = cfg.won_stage, cfg.lost_stage
    if filters is not None and not filters.any:
        filters = None
    if deals is None:
        deals = deals_of(data)
    for deal in deals:
        stage = deal.get("stage")
        outcome = WON if stage == won_stage else LOST if stage == lost_stage else OPEN
        if outcome not in outcomes:
            continue
        if filters is not None and not filters.deal(deal, clients.get(deal.get("client"))):
            continue
        if "@closed" in deal:  # read as columns with its derived dates (records.derived): no history
            entries, created, closed, won_on = deal.get("@entries"), deal["@created"], deal["@closed"], deal["@won_on"]
        else:
            entries, created, closed, won_on = deal_stages(deal, won_stage, lost_stage)
        yield DealFacts(deal, outcome, entries, created, closed, won_on, clients, rates)


def total(values) -> Decimal:
    """The sum of the known values (unknown amounts add nothing)."""
    return sum((v for v in values if v is not None), Decimal(0))


# --- clients -----------------------------------------------------------------

def clients_by_id(data: Dataset) -> dict[str, dict]:
    return {c.get("id"): c for c in data.clients}


def deals_of(data: Dataset) -> list[dict]:
    """The deals as records: a report that reads them as columns
    (AS_COLUMNS) gets them back as records of those fields."""
    return data.columns["deal"].records() if "deal" in data.columns else data.deals


def deals_by_client(data: Dataset, deals: list[dict] | None = None) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for deal in deals_of(data) if deals is None else deals:
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

    @property
    def any(self) -> bool:
        return self.owner is not None or self.source is not None or self.tag is not None

    def deal(self, deal: dict, client: dict | None) -> bool:
        """A deal by its own owner and source, else its client's, and its client's tags."""
        if self.owner is not None and deal_owner(deal, client) != self.owner:
            return False
        if self.source is not None and deal_source(deal, client) != self.source:
            return False
        if self.tag is not None and self.tag not in ((client or {}).get("tags") or []):
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
    for cols in data.columns.values():  # the types loaded as columns
        owners.update(cols["owner"])
    owners.discard(None)
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
