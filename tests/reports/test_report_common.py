"""Shared rules: deal dates, amounts, rates, client status, and every report on no data."""
import json
from datetime import date, datetime
from decimal import Decimal as D

import pytest

from crmcli.config import Config
from crmcli.reports import REPORTS
from crmcli.reports import pictures
from crmcli.reports.common import (
    Dataset, client_status, close_date, convert, deal_amount, deal_created, format_table,
    period_index, period_label, stage_entries,
)

TODAY = date(2026, 7, 1)


def d(text):
    return date.fromisoformat(text)


def test_deal_dates(cfg):
    no_history = {"stage": "proposal", "created": d("2026-01-05")}
    assert stage_entries(no_history) == [("proposal", d("2026-01-05"))]
    no_created = {"stage": "won", "history": [{"stage": "lead", "date": d("2026-02-01")},
                                             {"stage": "won", "date": d("2026-02-09")}]}
    assert deal_created(no_created) == d("2026-02-01")
    assert close_date(no_created, cfg) == d("2026-02-09")
    reopened = {"stage": "won", "history": [{"stage": "lost", "date": d("2026-01-01")},
                                           {"stage": "lead", "date": d("2026-01-10")},
                                           {"stage": "won", "date": d("2026-03-01")}]}
    assert close_date(reopened, cfg) == d("2026-03-01")
    assert close_date({"stage": "lead", "created": d("2026-01-01")}, cfg) is None
    assert close_date({"stage": "won", "created": d("2026-01-01")}, cfg) == d("2026-01-01")


def test_amount_and_rates(cfg):
    assert deal_amount({"quantity": D("3"), "unit_price": D("10")}) == D("30")
    assert deal_amount({"amount": D("7"), "quantity": D("3"), "unit_price": D("10")}) == D("7")
    assert deal_amount({"quantity": D("3")}) is None
    assert convert(D("10"), "USD", d("2026-05-31"), cfg) == D("900")
    assert convert(D("10"), "USD", d("2026-06-01"), cfg) == D("800")
    assert convert(D("10"), "USD", d("2020-01-01"), cfg) == D("900")    # before all rates: the earliest
    assert convert(D("10"), None, d("2026-06-01"), cfg) == D("10")
    assert convert(D("10"), "EUR", d("2026-06-01"), cfg) is None         # no rates: unknown


def test_client_status(cfg):
    client = {"id": "c", "name": "C"}
    def won(day):
        return {"client": "c", "stage": "won", "history": [{"stage": "won", "date": d(day)}]}
    assert client_status(client, [], cfg, TODAY) == "prospect"
    assert client_status(client, [{"client": "c", "stage": "lost"}], cfg, TODAY) == "prospect"
    assert client_status(client, [won("2026-01-01")], cfg, TODAY) == "customer"
    assert client_status(client, [won("2025-07-01")], cfg, TODAY) == "customer"    # exactly 365 days
    assert client_status(client, [won("2025-06-30")], cfg, TODAY) == "former"      # 366 days
    assert client_status(client, [won("2025-01-01"), won("2026-06-01")], cfg, TODAY) == "customer"


def test_periods():
    assert period_label(period_index(d("2026-11-30"), "month"), "month") == "2026-11"
    assert period_label(period_index(d("2026-11-30"), "quarter"), "quarter") == "2026-Q4"
    assert period_label(period_index(d("2026-01-01"), "year"), "year") == "2026"


def test_pictures():
    assert pictures.bar(10, 10, 8) == "█" * 8
    assert pictures.bar(5, 10, 3) == "█▌"
    assert pictures.bar(0.001, 10, 10) == "▏"            # something, however small, shows
    assert pictures.bar(0, 10, 10) == "" and pictures.bar(None, 10) == "" and pictures.bar(1, 0) == ""
    assert pictures.bar(5, 10, 4, unicode=False) == "##"
    assert [pictures.shade(x) for x in (0, 0.1, 0.3, 0.6, 0.9, 1.0)] == [" ", "░", "▒", "▓", "█", "█"]
    assert pictures.heat_cell(0.5, unicode=False) == "*   50%"
    assert pictures.heat_cell(None) == ""


def test_table_aligns_wide_and_cyrillic_text():
    text = format_table(["name", "n"], [["Ромашка", "1"], ["東京", "22"]], "lr")
    lines = text.splitlines()
    assert lines[2] == "Ромашка   1" and lines[3] == "東京     22"


SPECS = {
    "funnel": lambda m: m.FunnelSpec(TODAY),
    "retention": lambda m: m.RetentionSpec(TODAY),
    "sales": lambda m: m.SalesSpec(TODAY),
    "managers": lambda m: m.ManagersSpec(TODAY),
    "sources": lambda m: m.SourcesSpec(TODAY),
    "competitors": lambda m: m.CompetitorsSpec(TODAY),
    "segments": lambda m: m.SegmentsSpec(TODAY, by="tag"),
    "stakeholders": lambda m: m.StakeholdersSpec(TODAY),
}


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("settings", [Config(), "cfg"])
def test_every_report_answers_on_no_data(name, settings, cfg):
    settings = cfg if settings == "cfg" else settings
    module = REPORTS[name]
    result = getattr(module, f"{name}_report")(Dataset(), settings, SPECS[name](module))
    json.dumps(result)
    assert isinstance(module.render_table(result), str)
    assert isinstance(module.render_table(result, unicode=False), str)
    headers, rows = module.csv_rows(result)
    assert headers and isinstance(rows, list)


def test_reports_accept_date_times_and_odd_records(cfg):
    data = Dataset(
        clients=[{"id": "c", "name": "C", "tags": ["x"]}],
        deals=[{"id": "a", "client": "missing", "stage": "won"},            # no dates at all
               {"id": "b", "client": "c", "stage": "weird", "created": d("2026-01-01")},
               {"id": "e", "client": "c", "stage": "won", "amount": D("1"), "currency": "EUR",
                "created": d("2026-01-01")}],                               # a currency with no rate
        activities=[{"id": "x", "client": "c", "status": "done", "date": datetime(2026, 1, 1, 10, 0)}],
    )
    for name, spec in SPECS.items():
        module = REPORTS[name]
        json.dumps(getattr(module, f"{name}_report")(data, cfg, spec(module)))


# reports that read some types as columns of a few fields (AS_COLUMNS) answer
# as they would from whole records: the fields they name are all they read
COLUMN_SPECS = [
    ("funnel", {}), ("funnel", {"owner": "anna"}), ("funnel", {"source": "referral", "tag": "vip"}),
    ("funnel", {"date_from": d("2025-01-01"), "date_to": d("2025-12-31")}),
    ("managers", {}), ("managers", {"owner": "boris"}), ("managers", {"source": "referral"}),
    ("managers", {"tag": "vip", "date_from": d("2024-06-01")}),
    ("sources", {}), ("sources", {"owner": "anna"}), ("sources", {"source": "referral", "tag": "vip"}),
    ("sources", {"date_from": d("2025-01-01"), "date_to": d("2025-12-31")}),
    ("sales", {}), ("sales", {"by": "product"}), ("sales", {"by": "owner", "tag": "vip"}),
    ("sales", {"by": "source", "date_from": d("2025-01-01")}), ("sales", {"by": "tag", "owner": "anna"}),
    ("sales", {"by": "quarter", "season": True}),
    ("competitors", {}), ("competitors", {"owner": "anna"}), ("competitors", {"tag": "vip"}),
    ("competitors", {"date_from": d("2025-01-01"), "date_to": d("2025-12-31")}),
    ("segments", {"by": "source"}), ("segments", {"by": "status"}), ("segments", {"by": "tags", "owner": "anna"}),
    ("segments", {"by": "status", "date_from": d("2025-01-01"), "date_to": d("2025-12-31")}),
    ("retention", {}), ("retention", {"owner": "anna"}), ("retention", {"period": "quarter", "tag": "vip"}),
    ("retention", {"source": "referral"}),
    ("prices", {"product": "Абонемент массаж 10"}), ("prices", {"product": "Косметология курс", "owner": "anna"}),
    ("prices", {"product": "Абонемент массаж 10", "date_from": d("2025-01-01")}),
    ("prices", {"product": "Spa day for teams", "tag": "vip"}),
]


@pytest.mark.parametrize("name,args", COLUMN_SPECS)
def test_reports_read_as_columns_answer_as_from_whole_records(name, args):
    from crmcli.records import Columns, derived
    from crmcli.store import Store
    from tests.conftest import EXAMPLE
    store = Store(EXAMPLE)
    module = REPORTS[name]
    whole, _ = store.load_all(("client", "deal", "activity"))
    assert whole.deals and whole.activities and not whole.columns
    narrow = Dataset(clients=list(whole.clients), deals=list(whole.deals), activities=list(whole.activities))
    for kind, fields in module.AS_COLUMNS.items():
        recs = list(reversed(whole.of(kind)))   # the order of columns is not defined
        narrow.columns[kind] = Columns.of_records(recs, fields, derived(kind, store.config))
        narrow.of(kind).clear()
    spec = getattr(module, f"{name.capitalize()}Spec")(today=date(2026, 11, 27), **args)
    build = getattr(module, f"{name}_report")
    expected = build(whole, store.config, spec)
    assert next(expected[k] for k in ("won", "customers", "deals_contested", "deals") if k in expected) > 0
    assert build(narrow, store.config, spec) == expected
