"""``crm report segments --by FIELD``: clients, customers and revenue per value (contract §5)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crmcli.config import Config
from crmcli.errors import CrmError
from crmcli.reports.common import (
    FACT_FIELDS, WON, Dataset, Filters, check_filters, client_status, deal_facts, deals_by_client, deals_of, fmt_group,
    fmt_money, format_pairs, format_table, in_window, iso, jsonable, money, rows_csv, total,
)
from crmcli.schema import FIELDS

COLUMNS = ("value", "clients", "customers", "revenue")
LIST_FIELDS = ("tags", "competitors")
SCALAR_TYPES = ("text", "enum", "ref", "owner", "date", "bool")
DEFAULTS = {"kind": "organization", "opt_out": False}   # contract §2 defaults of absent fields


# what the report reads of each deal: it reads them as columns, with the
# dates the index keeps (records.derived), not every deal's history
DEAL_FIELDS = FACT_FIELDS
AS_COLUMNS = {"deal": DEAL_FIELDS}

@dataclass(frozen=True)
class SegmentsSpec:
    today: date
    by: str = "tag"                 # a client field, tag, status, or a custom field
    date_from: date | None = None   # revenue and purchases by close date
    date_to: date | None = None
    owner: str | None = None
    source: str | None = None
    tag: str | None = None


def segment_fields(cfg: Config) -> list[str]:
    """What ``--by`` accepts: plain client fields, tag(s), status, custom fields."""
    plain = [f.name for f in FIELDS["client"].values()
             if (f.type in SCALAR_TYPES and not f.multiline) or f.name in LIST_FIELDS]
    return ["tag", *plain, "status", *(f"fields.{n}" for n in cfg.fields)]


def resolve_by(by: str, cfg: Config) -> tuple[str, str]:
    """(kind, name): kind is ``plain``, ``list``, ``status`` or ``custom``."""
    if by in ("tag", "tags"):
        return "list", "tags"
    if by == "status":
        return "status", "status"
    if by.startswith("fields.") and len(by) > len("fields."):
        return "custom", by[len("fields."):]
    fld = FIELDS["client"].get(by)
    if fld is not None:
        if by in LIST_FIELDS:
            return "list", by
        if fld.type in SCALAR_TYPES and not fld.multiline:
            return "plain", by
    if by in cfg.fields:
        return "custom", by
    raise CrmError(f"cannot segment by {by!r}; use one of: {', '.join(segment_fields(cfg))}, "
                   f"or fields.NAME for any custom field")


def sort_key(value, choices: list):
    if value is None:
        return (2, 0, 0, "")
    if value in choices:
        return (0, choices.index(value), 0, "")
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return (1, 0, value, "")
    return (1, 1, 0, str(value))


def segments_report(data: Dataset, cfg: Config, spec: SegmentsSpec) -> dict:
    kind, name = resolve_by(spec.by, cfg)
    check_filters(data, cfg, spec)
    filters = Filters(spec.owner, spec.source, spec.tag)
    deals = deals_of(data)
    by_client = deals_by_client(data, deals) if kind == "status" else {}
    revenue_of: dict = {}
    for f in deal_facts(data, cfg, outcomes=(WON,), deals=deals):
        if in_window(f.closed, spec.date_from, spec.date_to):
            revenue_of.setdefault(f.deal.get("client"), []).append(f.value(spec.today))

    groups: dict = {}
    for client in data.clients:
        if not filters.client(client):
            continue
        if kind == "list":
            values = list(dict.fromkeys(client.get(name) or [])) or [None]
        elif kind == "status":
            values = [client_status(client, by_client.get(client.get("id"), []), cfg, spec.today)]
        elif kind == "custom":
            value = (client.get("fields") or {}).get(name)
            if isinstance(value, list):  # a free-text list counts once per item, like tags
                values = list(dict.fromkeys(str(v) for v in value)) or [None]
            else:
                values = [str(value) if isinstance(value, dict) else value]
        else:
            value = client.get(name)
            values = [DEFAULTS.get(name) if value is None else value]
        bought = revenue_of.get(client.get("id"))
        for value in values:
            g = groups.get(value)
            if g is None:
                g = groups[value] = {"clients": 0, "customers": 0, "values": []}
            g["clients"] += 1
            if bought is not None:
                g["customers"] += 1
                g["values"].extend(bought)

    declared = cfg.fields.get(name, {}) if kind == "custom" else {}
    choices = [str(v) for v in declared.get("values") or []]
    if kind == "status":
        choices = ["customer", "former", "prospect"]
    rows = [{"value": jsonable(v), "clients": g["clients"], "customers": g["customers"],
             "revenue": money(total(g["values"]))}
            for v, g in sorted(groups.items(), key=lambda kv: sort_key(kv[0], choices))]

    counted = [c for c in data.clients if filters.client(c)]
    customers = sum(1 for c in counted if c.get("id") in revenue_of)
    revenue = total(v for c in counted for v in revenue_of.get(c.get("id"), ()))
    return {
        "by": spec.by, "from": iso(spec.date_from), "to": iso(spec.date_to),
        "currency": cfg.currency, "rows": rows,
        "clients": len(counted), "customers": customers, "revenue": money(revenue),
    }


def render_table(result: dict, unicode: bool = True) -> str:
    cur = result["currency"]
    body = [[fmt_group(r["value"]), str(r["clients"]), str(r["customers"]),
             fmt_money(r["revenue"], unicode)] for r in result["rows"]]
    text = format_table([result["by"], "clients", "customers", f"revenue, {cur}"], body,
                        "lrrr", unicode)
    pairs = [("clients / customers", f"{result['clients']} / {result['customers']}"),
             (f"revenue, {cur}", fmt_money(result["revenue"], unicode))]
    return text + "\n\n" + format_pairs(pairs)


def csv_rows(result: dict) -> tuple[list[str], list[list]]:
    return rows_csv(result, list(COLUMNS))
