"""Property tests of the YAML layer (hypothesis).

1. Whatever ``dump_mapping`` writes, ``read_yaml`` reads back as the same text
   values (``records.to_raw`` of the input), and a teammate's PyYAML
   ``safe_load`` sees the same strings for string values.
2. An ``edit_text`` that changes one key of a file leaves every other key's
   value unchanged, and the file reads back correctly.
3. Arbitrary text and bytes fed to ``read_yaml`` give a mapping or problems,
   never an exception.
"""
from __future__ import annotations

from datetime import date, datetime

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crmcli.codec import dump_mapping, edit_text, read_yaml
from crmcli.errors import Problem
from crmcli.records import to_raw

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# ruamel round trips cost a few ms each: fewer examples for the editor
EDIT_SETTINGS = settings(SETTINGS, max_examples=80)

# ------------------------------------------------------------- strategies

SPECIAL = [
    "NO", "no", "Yes", "yes", "y", "N", "on", "Off", "~", "null", "Null", "true", "FALSE",
    "0123", "08540", "012", "0o17", "0x1F", "0b101", "1_000", "1e3", "1.10", ".5", "-1", "+1",
    ".inf", ".NaN", "12:30", "1:20:30", "2026-01-01", "2001-12-14 21:59:43.10 -5", "=1+2", "=SUM(A1)",
    "+7 999 123-45-67", "@user", "<<", "=", "-", "?", ":", "a: b", "x:", "a #b", "#x", "|", ">", "!x",
    "&x", "*x", "%x", "`x", "'q'", '"q"', "[a]", "{a}", "a, b", " lead", "trail ", " ", "",
    "two\nlines", "trail\n", "a\n\nb\n\n", "a\r\nb", "nel\x85x", "ls\u2028x", "ps\u2029x", "tab\tx",
    "\x00", "\x1b[31m", "\x7f", "\x9f", "\u00a0", "\ufeff", "\ufffe", "\U0010fffd", "😀", "👩‍👩‍👧",
    "Иван Петров", "ООО «Ромашка»", "Ёлка", "café", "back\\slash", "---", "...", "--- x", "... x",
]

# every code point but lone surrogates (no UTF-8 file can hold those)
any_char = st.characters(blacklist_categories=("Cs",))
yamlish_char = st.sampled_from(list("-?:,[]{}#&*!|>'\"%@`~=<+. \t\n\r\\0123456789eExobNOyYnaéЖ\x85\u2028\ufeff😀"))
numberish = st.text(alphabet=st.sampled_from(list("+-._:0123456789eExobaAfF")), min_size=1, max_size=8)

text_value = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(any_char, max_size=20),
    st.text(yamlish_char, max_size=12),
    numberish,
    st.lists(st.sampled_from(SPECIAL), min_size=2, max_size=4).map("".join),
    st.tuples(st.sampled_from(SPECIAL), st.text(any_char, max_size=6),
              st.sampled_from(SPECIAL)).map("".join),
)
key_text = st.one_of(st.sampled_from(["name", "age", "psychotype", "NO", "yes", "0123", "12:30", "a: b",
                                      "", " k", "ключ", "=x", "#", "-"]),
                     st.text(any_char, min_size=1, max_size=10))

decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d.adjusted()) < 30)
datetimes = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: d.replace(microsecond=0))
scalar = st.one_of(text_value, text_value, st.dates(min_value=date(1000, 1, 1)), datetimes, decimals,
                   st.booleans(), st.integers(-10**12, 10**12))


def _nonempty(v) -> bool:
    return v is not None and v != [] and v != {}


# custom fields: free-form nested mappings of text, lists of text, and lists of
# mappings (lists of lists are covered by a unit test in test_codec.py)
custom = st.recursive(
    st.one_of(scalar, st.lists(scalar, min_size=1, max_size=4)),
    lambda children: st.one_of(
        st.dictionaries(key_text, children, min_size=1, max_size=4),
        st.lists(st.dictionaries(key_text, children, min_size=1, max_size=3), min_size=1, max_size=3),
    ),
    max_leaves=12,
)
custom_map = st.dictionaries(key_text, custom, min_size=1, max_size=5)
history = st.lists(st.fixed_dictionaries({"stage": text_value, "date": st.dates(min_value=date(1000, 1, 1))}),
                   min_size=1, max_size=4)

record = st.fixed_dictionaries(
    {"name": text_value},
    optional={
        "kind": st.sampled_from(["person", "organization"]),
        "phones": st.lists(text_value, min_size=1, max_size=4),
        "emails": st.lists(text_value, min_size=1, max_size=3),
        "tags": st.lists(text_value, min_size=1, max_size=5),
        "address": text_value,
        "birthday": st.dates(min_value=date(1000, 1, 1)),
        "amount": decimals,
        "opt_out": st.booleans(),
        "created": st.dates(min_value=date(1000, 1, 1)),
        "at": datetimes,
        "minutes": st.integers(0, 10**6),
        "history": history,
        "fields": custom_map,
        "notes": text_value,
    },
)


def _strings_match(mine, theirs, where="") -> None:
    """Every string (value or key) of ``mine`` is the same string in ``theirs``."""
    if isinstance(mine, dict):
        assert isinstance(theirs, dict), where
        for k, v in mine.items():
            assert k in theirs, f"{where}: key {k!r} missing in {list(theirs)!r}"
            _strings_match(v, theirs[k], f"{where}.{k}")
    elif isinstance(mine, list):
        assert isinstance(theirs, list) and len(theirs) == len(mine), where
        for i, (a, b) in enumerate(zip(mine, theirs)):
            _strings_match(a, b, f"{where}[{i}]")
    elif isinstance(mine, str):
        assert theirs == mine, f"{where}: PyYAML read {theirs!r} for {mine!r}"


# ------------------------------------------------------------- (1) write then read

@SETTINGS
@given(record)
def test_written_records_read_back_as_written(rec):
    text = dump_mapping(rec)
    data = text.encode("utf-8")
    raw, lines, problems = read_yaml(data, "clients/x.yaml")
    assert problems == [], text
    assert raw == to_raw(rec), text
    assert list(raw) == list(rec)  # key order kept
    assert not text.startswith("\ufeff") and "\r\n" not in text.replace("\\r\\n", "")


@SETTINGS
@given(record)
@example({"name": "+0b1", "tags": ["+0x1F", "0x1_0", ".5_"]})
def test_teammates_pyyaml_sees_the_same_strings(rec):
    text = dump_mapping(rec)
    theirs = yaml.safe_load(text)
    _strings_match(rec, theirs, "record")


@SETTINGS
@given(st.dictionaries(key_text, text_value, min_size=1, max_size=6))
def test_flat_text_mappings_round_trip_both_ways(mapping):
    text = dump_mapping(mapping)
    raw, _, problems = read_yaml(text.encode("utf-8"), "x.yaml")
    assert problems == [], text
    assert raw == mapping
    assert yaml.safe_load(text) == mapping


# ------------------------------------------------------------- (2) edit one key

replacement = st.one_of(scalar, st.lists(text_value, min_size=1, max_size=3), custom_map)
EDIT_ORDER = ["name", "kind", "owner", "phones", "emails", "tags", "address", "source", "birthday"]


@st.composite
def one_key_edit(draw):
    """A written file (maybe hand-styled) and a change of one of its keys."""
    rec = draw(record)
    keys = list(rec)
    key = draw(st.one_of(st.sampled_from(keys), st.sampled_from(["owner", "source", "NO", "new key"])),
               label="key")
    action = draw(st.sampled_from(["set", "delete"]) if key in rec and key != "name" else st.just("set"),
                  label="action")
    value = draw(replacement, label="value") if action == "set" else None
    style = draw(st.sampled_from(["lf", "crlf", "bom", "comments"]), label="style")
    text = dump_mapping(rec)
    if style == "crlf":
        text = text.replace("\n", "\r\n")
    elif style == "bom":
        text = "\ufeff" + text
    elif style == "comments":
        text = "# hand-written header\n" + text + "# footer\n"
    return rec, key, action, value, style, text


def _apply(rec, key, action, value, text):
    def update(old):
        assert old == to_raw(rec)  # the editor sees what the reader sees
        new = dict(old)
        if action == "delete":
            del new[key]
        else:
            new[key] = value
        return new
    return edit_text(text, update, EDIT_ORDER)


@EDIT_SETTINGS
@given(one_key_edit())
@example(({"name": "A", "notes": "x"}, "notes", "delete", None, "comments",
          "# hand-written header\nname: A\nnotes: x\n# footer\n"))
@example(({"name": "A", "phones": ["1"]}, "phones", "set", "2", "comments",
          "# hand-written header\nname: A\nphones:\n- \"1\"\n# footer\n"))
@example(({"name": "A", "emails": ["b"]}, "emails", "set", ["x", "b"], "comments",
          "# hand-written header\nname: A\nemails:\n- b\n# footer\n"))
@example(({"name": "A", "history": [{"stage": "NO", "date": date(2000, 1, 1)}]},
          "history", "set", ["NO"], "comments",
          "# hand-written header\nname: A\nhistory:\n- stage: \"NO\"\n  date: 2000-01-01\n# footer\n"))
def test_edit_of_one_key_keeps_every_other_value(case):
    rec, key, action, value, style, text = case
    out = _apply(rec, key, action, value, text)
    raw, _, problems = read_yaml(out.encode("utf-8"), "clients/x.yaml")
    assert problems == [], out
    want = to_raw(rec)
    if action == "delete":
        del want[key]
    else:
        want[key] = to_raw(value)
    assert raw == want, out
    others = [k for k in rec if k != key]
    assert [k for k in raw if k in others] == others  # untouched keys keep their order
    if style == "crlf":
        assert out.count("\r\n") == out.count("\n")
    if style == "bom":
        assert out.startswith("\ufeff") and not out.startswith("\ufeff\ufeff")
    if style == "comments":
        assert out.startswith("# hand-written header\n"), out
        assert "# footer\n" in out, out


@EDIT_SETTINGS
@given(one_key_edit().filter(lambda c: c[2] == "set"))
@example(({"name": "A"}, "NO", "set", "x", "lf", "name: A\n"))
def test_edited_file_is_safe_for_pyyaml(case):
    """After a tool edit, a teammate's ``yaml.safe_load`` sees the new strings
    (keys included) as the tool meant them."""
    rec, key, action, value, style, text = case
    out = _apply(rec, key, action, value, text)
    theirs = yaml.safe_load(out.lstrip("\ufeff"))
    _strings_match({key: value}, theirs, "edited")


# printable text: a hand-written file holds no control characters (ruamel
# re-spells their escapes, \x1B as \e, which changes no value)
printable = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))
printable_text = st.one_of(st.sampled_from([s for s in SPECIAL if s.isprintable() or "\n" in s]),
                           st.text(printable, max_size=20), numberish,
                           st.text(st.sampled_from(list("-?:,[]{}#&*!|>'\"%@`~=<+. .0aéЖ😀")), max_size=12))


@EDIT_SETTINGS
@given(st.fixed_dictionaries({"name": printable_text},
                             optional={"tags": st.lists(printable_text, min_size=1, max_size=3),
                                       "notes": printable_text, "amount": decimals,
                                       "fields": st.dictionaries(key_text.filter(str.isprintable), printable_text,
                                                                 min_size=1, max_size=3)}))
@example({"name": "A", "notes": "... and then he called"})
@example({"name": "A", "tags": ["two\nlines"]})
def test_noop_edit_keeps_a_written_file_byte_for_byte(rec):
    text = dump_mapping(rec)
    assert edit_text(text, lambda old: dict(old)) == text


# ------------------------------------------------------------- (3) never a crash

def _check_result(result) -> None:
    raw, lines, problems = result
    assert isinstance(problems, list)
    if raw is None:
        assert problems, "no mapping and no problem"
    else:
        assert isinstance(raw, dict) and problems == []
    for p in problems:
        assert isinstance(p, Problem)
        assert p.path == "clients/f.yaml"
        assert p.line is None or (isinstance(p.line, int) and p.line >= 1)
        p.render()


yaml_soup = st.text(st.sampled_from(list("ab:- \n\t[]{},#&*!|>'\"%@`?~=<\\.0\x00\x85\u2028\ufeffЖ😀")),
                    max_size=60)
yaml_lines = st.lists(
    st.tuples(st.integers(0, 6), st.sampled_from(["a:", "- ", "- a", "a: b", "? a", ": b", "a: |", "a: >-",
                                                   "  x", "a: [b, {c: d}", "]", "}", "---", "...",
                                                   "<<<<<<< HEAD", "=======", "a: &x 1", "b: *x",
                                                   "a: !!str 1", "a: !t x", "# c", "'q", '"\\ud800"',
                                                   "a: 'b'", "%YAML 1.2", "a: \"\\x00\""])),
    max_size=12,
).map(lambda ls: "\n".join(" " * i + s for i, s in ls))


@SETTINGS
@given(st.one_of(st.text(max_size=200), yaml_soup, yaml_lines))
def test_any_text_gives_a_mapping_or_problems(text):
    _check_result(read_yaml(text.encode("utf-8", "surrogatepass"), "clients/f.yaml"))


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_give_a_mapping_or_problems(data):
    _check_result(read_yaml(data, "clients/f.yaml"))


@SETTINGS
@given(record, st.binary(min_size=1, max_size=4), st.data())
def test_damaged_written_files_give_a_mapping_or_problems(rec, junk, data):
    """A written file with bytes spliced in (a bad merge, a bad disk) never crashes the reader."""
    blob = dump_mapping(rec).encode("utf-8")
    at = data.draw(st.integers(0, len(blob)), label="at")
    cut = data.draw(st.integers(0, 3), label="cut")
    _check_result(read_yaml(blob[:at] + junk + blob[at + cut:], "clients/f.yaml"))
