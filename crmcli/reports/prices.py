"""``crm report prices --product P``: sales volume per price level (contract §5)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crmcli.config import Config
from crmcli.errors import CrmError
from crmcli.money import CENT
from crmcli.reports import pictures
from crmcli.reports.common import (
    FACT_FIELDS, LOST, WON, Dataset, DealFacts, Filters, as_decimal, check_filters, deal_facts, fmt_money,
    fmt_num, fmt_rate, format_pairs, format_table, in_window, iso, money, money_ratio, number,
    ratio, rows_csv, total,
)

COLUMNS = ("price", "deals", "quantity", "revenue", "lost", "win_rate", "first_sale", "last_sale")
# what the report reads of each deal: it reads them as columns, with the
# dates the index keeps (records.derived), and makes records of the deals of
# one product only
DEAL_FIELDS = FACT_FIELDS + ("product",)
AS_COLUMNS = {"deal": DEAL_FIELDS}


@dataclass(frozen=True)
class PricesSpec:
    today: date
    product: str | None = None      # required
    date_from: date | None = None   # on the close date
    date_to: date | None = None
    owner: str | None = None
    source: str | None = None
    tag: str | None = None


def product_deals(data: Dataset, product: str | None) -> tuple[list[dict], set]:
    """(the deals of ``product`` as records, every product named)."""
    cols = data.columns.get("deal")
    if cols is None:
        return ([d for d in data.deals if d.get("product") == product],
                {d["product"] for d in data.deals if d.get("product") is not None})
    mine = [i for i, p in enumerate(cols["product"]) if p == product] if product is not None else []
    return cols.records(mine), set(cols["product"]) - {None}


def check_product(products: set, product: str | None) -> None:
    if product is not None and product in products:
        return
    products = sorted(products)
    known = ", ".join(products) or "no deal names a product yet"
    if product is None:
        raise CrmError(f"--product is required (products: {known})")
    if product not in products:
        raise CrmError(f"unknown product {product!r} (products: {known})")


def unit_price(f: DealFacts) -> Decimal | None:
    """The deal's unit price in the base currency on its close date, to the cent.

    ``unit_price`` where given, else amount / quantity."""
    price = f.deal.get("unit_price")
    if price is None:
        qty, amount = f.deal.get("quantity"), f.deal.get("amount")
        if qty is None or amount is None or qty == 0:
            return None
        price = as_decimal(amount) / as_decimal(qty)
    value = f.rates.to_base(as_decimal(price), f.currency, f.closed)
    return value.quantize(CENT) if value is not None else None


def prices_report(data: Dataset, cfg: Config, spec: PricesSpec) -> dict:
    of_product, products = product_deals(data, spec.product)
    check_product(products, spec.product)
    check_filters(data, cfg, spec)
    filters = Filters(spec.owner, spec.source, spec.tag)
    today = spec.today
    closed = [f for f in deal_facts(data, cfg, filters, outcomes=(WON, LOST), deals=of_product)
              if f.closed is not None and in_window(f.closed, spec.date_from, spec.date_to)]

    levels: dict = {}
    for f in closed:
        g = levels.setdefault(unit_price(f), {"won": [], "lost": 0})
        if f.won:
            g["won"].append(f)
        else:
            g["lost"] += 1

    rows = []
    for price in sorted(levels, key=lambda p: (p is None, p or 0)):
        g = levels[price]
        won = g["won"]
        days = [f.closed for f in won]
        rows.append({
            "price": money(price), "deals": len(won),
            "quantity": number(total(f.deal.get("quantity") for f in won)),
            "revenue": money(total(f.value(today) for f in won)),
            "lost": g["lost"], "win_rate": ratio(len(won), len(won) + g["lost"]),
            "first_sale": iso(min(days)) if days else None,
            "last_sale": iso(max(days)) if days else None,
        })

    won = [f for f in closed if f.won]
    with_qty = [f for f in won if f.deal.get("quantity") is not None]
    quantity = total(f.deal.get("quantity") for f in with_qty)
    return {
        "product": spec.product, "from": iso(spec.date_from), "to": iso(spec.date_to),
        "currency": cfg.currency, "rows": rows,
        "deals": len(won), "quantity": number(quantity),
        "revenue": money(total(f.value(today) for f in won)),
        "avg_price": money_ratio(total(f.value(today) for f in with_qty), quantity),
    }


def render_table(result: dict, unicode: bool = True) -> str:
    cur = result["currency"]
    rows = result["rows"]
    top = max((r["quantity"] or 0 for r in rows), default=0)
    body = [[fmt_money(r["price"], unicode), str(r["deals"]), fmt_num(r["quantity"], unicode),
             fmt_money(r["revenue"], unicode), str(r["lost"]), fmt_rate(r["win_rate"], unicode),
             r["first_sale"] or "", r["last_sale"] or "",
             pictures.bar(r["quantity"], top, 20, unicode)] for r in rows]
    text = format_table([f"price, {cur}", "deals", "quantity", f"revenue, {cur}", "lost",
                         "win rate", "first sale", "last sale", ""], body, "rrrrrrlll", unicode)
    pairs = [("product", result["product"]), ("deals won", str(result["deals"])),
             ("quantity", fmt_num(result["quantity"], unicode)),
             (f"revenue, {cur}", fmt_money(result["revenue"], unicode)),
             (f"average price, {cur}", fmt_money(result["avg_price"], unicode))]
    return text + "\n\n" + format_pairs(pairs)


def csv_rows(result: dict) -> tuple[list[str], list[list]]:
    return rows_csv(result, list(COLUMNS))
