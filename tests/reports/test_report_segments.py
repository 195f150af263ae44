"""Segments: clients, customers and revenue per value of a field, tag or custom field."""
import json
from datetime import date
from decimal import Decimal as D

import pytest

from crmcli.errors import CrmError
from crmcli.reports.common import Dataset
from crmcli.reports.segments import SegmentsSpec, csv_rows, render_table, segments_report

TODAY = date(2026, 3, 1)


def d(text):
    return date.fromisoformat(text)


def won(id_, client, day, amount, **kw):
    return {"id": id_, "client": client, "stage": "won", "amount": D(amount),
            "history": [{"stage": "won", "date": d(day)}], **kw}


def dataset():
    clients = [
        {"id": "s1", "name": "S1", "kind": "person", "tags": ["vip", "retail"], "owner": "anna",
         "fields": {"psychotype": "diplomat", "age": 30}},
        {"id": "s2", "name": "S2", "tags": ["retail"], "owner": "boris",
         "fields": {"psychotype": "analyst", "age": 45}},
        {"id": "s3", "name": "S3", "owner": "anna", "fields": {"psychotype": "diplomat"}},
        {"id": "s4", "name": "S4", "kind": "organization"},
        {"id": "s5", "name": "S5", "kind": "person", "tags": []},
    ]
    deals = [
        won("w1", "s1", "2026-01-10", "1000"),
        won("w2", "s2", "2026-02-01", "10", currency="USD"),      # 900 at 90
        won("w3", "s2", "2024-01-01", "500"),
        {"id": "o3", "client": "s3", "stage": "proposal", "amount": D("7")},
        won("w5", "s5", "2024-06-01", "300"),                      # s5 is a former customer
    ]
    return Dataset(clients=clients, deals=deals)


def rows_of(result):
    return [(r["value"], r["clients"], r["customers"], r["revenue"]) for r in result["rows"]]


def test_by_custom_choice_field_in_declared_order(cfg):
    r = segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="fields.psychotype"))
    assert rows_of(r) == [("diplomat", 2, 1, 1000.0), ("analyst", 1, 1, 1400.0), (None, 2, 1, 300.0)]
    assert (r["clients"], r["customers"], r["revenue"]) == (5, 3, 2700.0)
    assert r["by"] == "fields.psychotype" and list(r["rows"][0]) == ["value", "clients", "customers", "revenue"]
    # a declared custom field may be named without the prefix
    assert rows_of(segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="psychotype"))) == rows_of(r)
    json.dumps(r)


def test_by_tag_integer_status_kind(cfg):
    assert rows_of(segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="tag"))) == [
        ("retail", 2, 2, 2400.0), ("vip", 1, 1, 1000.0), (None, 3, 1, 300.0)]
    assert rows_of(segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="fields.age"))) == [
        (30, 1, 1, 1000.0), (45, 1, 1, 1400.0), (None, 3, 1, 300.0)]
    assert rows_of(segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="status"))) == [
        ("customer", 2, 2, 2400.0), ("former", 1, 1, 300.0), ("prospect", 2, 0, 0.0)]
    # kind defaults to organization
    assert rows_of(segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="kind"))) == [
        ("organization", 3, 1, 1400.0), ("person", 2, 2, 1300.0)]


def test_window_and_filters(cfg):
    r = segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="tag", date_from=d("2026-01-01")))
    assert rows_of(r) == [("retail", 2, 2, 1900.0), ("vip", 1, 1, 1000.0), (None, 3, 0, 0.0)]
    r = segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="fields.psychotype", owner="anna"))
    assert rows_of(r) == [("diplomat", 2, 1, 1000.0)]
    r = segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="owner", tag="retail"))
    assert rows_of(r) == [("anna", 1, 1, 1000.0), ("boris", 1, 1, 1400.0)]


def test_bad_field(cfg):
    with pytest.raises(CrmError, match="cannot segment by 'nonsense'"):
        segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="nonsense"))
    with pytest.raises(CrmError):
        segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="notes"))
    # any custom field may be named with the prefix, declared or not
    r = segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="fields.hobby"))
    assert rows_of(r) == [(None, 5, 3, 2700.0)]


def test_empty(cfg):
    r = segments_report(Dataset(), cfg, SegmentsSpec(TODAY, by="tag"))
    assert r["rows"] == [] and r["clients"] == 0 and r["revenue"] == 0.0


def test_table_and_csv(cfg):
    r = segments_report(dataset(), cfg, SegmentsSpec(TODAY, by="tag"))
    text = render_table(r)
    assert text.splitlines()[0].startswith("tag") and "(none)" in text and "2,400.00" in text
    headers, rows = csv_rows(r)
    assert headers == ["value", "clients", "customers", "revenue"] and rows[-1] == ["", 3, 1, 300.0]
