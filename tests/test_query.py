"""Text search over typed records (crm find)."""
from datetime import date, datetime
from decimal import Decimal

from crmcli.ids import fold
from crmcli.query import contains_text

REC = {"id": "ivan-fedorov", "name": "Иван Фёдоров", "tags": ["VIP", "spa"], "created": date(2026, 3, 1),
       "fields": {"size": Decimal("12.50"), "active": True, "met": datetime(2026, 3, 2, 15, 30)},
       "history": [{"stage": "lead", "date": date(2026, 3, 1)}], "notes": None}


def test_any_value_any_case_yo_as_ye():
    for text in ("федоров", "ФЁДОРОВ", "ivan-fed", "vip", "2026-03-01", "12.50", "true",
                 "2026-03-02T15:30", "lead"):
        assert contains_text(REC, fold(text)), text


def test_a_match_never_spans_two_values():
    rec = {"a": "ab", "b": "cd", "tags": ["ef", "gh"]}
    assert contains_text(rec, "ab") and contains_text(rec, "cd")
    assert not contains_text(rec, "bc") and not contains_text(rec, "fg") and not contains_text(rec, "abcd")
    assert not contains_text({"notes": None}, "none") and not contains_text({}, "x")
