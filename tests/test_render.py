"""crm's plain text tables keep tabulate's "simple" layout (which they replaced
for speed), for any cells."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from crmcli import render

CELL = st.text(alphabet=st.sampled_from(list("ab ёЖ日\t\u00a0-x1.")), max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 5).flatmap(lambda k: st.tuples(
    st.lists(st.sampled_from(["due", "when", "kind", "owner", "text", "a", " h "]), min_size=k, max_size=k),
    st.lists(st.lists(CELL, min_size=k, max_size=k), min_size=1, max_size=5))))
def test_table_matches_tabulate_simple(case):
    headers, rows = case
    want = tabulate([[render.cell(c) for c in r] for r in rows], headers=headers, tablefmt="simple",
                    disable_numparse=True) + "\n"
    assert render.table(headers, rows) == want


def test_table_of_no_rows_is_empty():
    assert render.table(["a"], []) == ""


def test_table_of_values_that_are_not_text():
    rows = [[None, True, 12500.5, ["a", "b"], "x\ny"]]
    want = tabulate([[render.cell(c) for c in rows[0]]], headers=list("abcde"), tablefmt="simple",
                    disable_numparse=True) + "\n"
    assert render.table(list("abcde"), rows) == want
