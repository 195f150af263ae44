"""The YAML layer on hostile and hand-written input.

``read_yaml`` must turn every bad file into a ``Problem`` (with the line where
one exists), never raise; ``dump_mapping`` must write canonical text that reads
back as written, in this reader and in a teammate's PyYAML script; and
``edit_text`` must change only what it was asked to and keep the rest of a
hand-edited file as its author wrote it.
"""
from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal

import pytest
import yaml

from crmcli.codec import MAX_BYTES, dump_mapping, edit_text, read_yaml
from crmcli.config import Config
from crmcli.errors import Problem
from crmcli.records import to_raw, type_record


def read(data: bytes | str, path: str = "clients/x.yaml"):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return read_yaml(data, path)


def refused(data, path: str = "clients/x.yaml") -> Problem:
    """The file is refused with exactly one problem naming it; return it."""
    raw, lines, problems = read(data, path)
    assert raw is None, raw
    assert lines == {}
    assert len(problems) == 1, problems
    p = problems[0]
    assert isinstance(p, Problem)
    assert p.path == path
    assert p.severity == "error"
    assert p.message
    assert p.render().startswith(path)
    return p


# ------------------------------------------------------------- hostile input

def test_duplicate_key_names_both_lines():
    p = refused("name: Acme\nstage: won\nowner: anna\nstage: lost\n")
    assert p.line == 4
    assert "duplicate" in p.message and "stage" in p.message and "2" in p.message


def test_duplicate_key_in_a_nested_mapping():
    p = refused("name: Acme\nfields:\n  age: 30\n  age: 31\n")
    assert p.line == 4
    assert "duplicate" in p.message


def test_duplicate_key_after_a_clean_git_merge():
    # the shape a clean merge produced in the research notes (stage on lines 2 and 8)
    text = "title: Big\nstage: lost\nclient: acme\namount: 10\ncreated: 2026-01-01\nowner: anna\nnotes: x\nstage: won\n"
    p = refused(text)
    assert p.line == 8


@pytest.mark.parametrize("text, line", [
    ("name: !!python/object/apply:os.system ['touch {marker}']\n", 1),
    ("name: Acme\nnotes: !!python/object/apply:os.system\n  - touch {marker}\n", 2),
    ("!!python/object/new:os.system ['touch {marker}']\n", 1),
    ("name: Acme\nx: !!python/name:os.system\n", 2),
    ("name: Acme\nx: !custom thing\n", 2),
    ("name: Acme\nx: !!binary aGk=\n", 2),
    ("name: Acme\nx: !!set {{a, b}}\n", 2),
    ("name: Acme\nx: !!timestamp 2024-02-30\n", 2),
    ("name: Acme\nx: !!int 12\n", 2),
    ("%TAG !e! tag:example.com,2000:\n---\nname: !e!thing x\n", 3),
])
def test_tags_are_refused_and_never_constructed(tmp_path, text, line):
    marker = tmp_path / "pwned"
    p = refused(text.format(marker=marker))
    assert p.line == line
    assert "tag" in p.message
    assert not marker.exists()


def test_anchor_and_alias_refused():
    p = refused("name: Acme\nbase: &b {city: Moscow}\nother: *b\n")
    assert p.line == 2
    assert "anchor" in p.message


def test_alias_without_anchor_refused():
    p = refused("name: Acme\nother: *b\n")
    assert p.line == 2


def test_billion_laughs_refused_fast():
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = "\n".join(levels) + "\n"
    t0 = time.perf_counter()
    p = refused(bomb)
    assert time.perf_counter() - t0 < 1.0
    assert p.line == 1


def test_merge_key_is_just_text():
    # "<<" must not merge anything in: it is a plain key
    raw, _, problems = read("name: Acme\nfields:\n  <<: {age: 3}\n")
    assert problems == []
    assert raw == {"name": "Acme", "fields": {"<<": {"age": "3"}}}


@pytest.mark.parametrize("marker_line", ["<<<<<<< HEAD", "=======", ">>>>>>> feature", "||||||| base"])
def test_conflict_marker_named_with_its_line(marker_line):
    text = f"name: Acme\nowner: anna\n{marker_line}\nstage: won\n"
    p = refused(text)
    assert p.line == 3
    assert "conflict" in p.message


def test_whole_conflict_block_points_at_first_marker():
    text = ("name: Acme\n<<<<<<< HEAD\nstage: won\n=======\nstage: lost\n"
            ">>>>>>> 1a2b3c (their change)\n")
    p = refused(text)
    assert p.line == 2
    assert p.hint


def test_conflict_marker_with_crlf():
    p = refused(b"name: Acme\r\n<<<<<<< HEAD\r\nstage: won\r\n=======\r\nstage: lost\r\n>>>>>>> x\r\n")
    assert p.line == 2
    assert "conflict" in p.message


def test_seven_equals_inside_a_value_is_not_a_marker():
    raw, _, problems = read("name: Acme\nnotes: |\n  =======\n  text\n")
    assert problems == []
    assert raw["notes"] == "=======\ntext\n"


def test_several_documents_refused():
    p = refused("name: Acme\n---\nname: Other\n")
    assert p.line == 2
    assert "document" in p.message


def test_one_document_with_markers_is_fine():
    raw, _, problems = read("---\nname: Acme\n...\n")
    assert problems == [] and raw == {"name": "Acme"}


def test_file_over_10_mib_refused():
    data = b"name: " + b"x" * MAX_BYTES + b"\n"
    assert MAX_BYTES == 10 * 1024 * 1024
    t0 = time.perf_counter()
    p = refused(data)
    assert time.perf_counter() - t0 < 1.0
    assert "10 MiB" in p.message


def test_file_of_exactly_10_mib_is_read():
    head = b"name: Acme\nnotes: "
    data = head + b"x" * (MAX_BYTES - len(head) - 1) + b"\n"
    assert len(data) == MAX_BYTES
    raw, _, problems = read(data)
    assert problems == []
    assert raw["name"] == "Acme" and len(raw["notes"]) == MAX_BYTES - len(head) - 1


@pytest.mark.parametrize("data, line", [
    (b"name: Acme\nnotes: caf\xe9\n", 2),            # CP1252/Latin-1 text
    ("name: Acme\ncity: Москва\n".encode("cp1251"), 2),  # a Windows Cyrillic file
    (b"\xff\xfename: x\n", 1),                         # UTF-16 BOM
    (b"name: Acme\n\nnote: \xed\xa0\x80\n", 3),       # an encoded lone surrogate
    (b"name: Acme\nnote: \xc3\n", 2),                 # truncated sequence
])
def test_invalid_utf8_refused_with_line(data, line):
    p = refused(data)
    assert p.line == line
    assert "UTF-8" in p.message


def test_bom_is_read_and_not_part_of_the_first_key():
    raw, lines, problems = read("\ufeffname: Иван\nphones: ['0123']\n")
    assert problems == []
    assert raw == {"name": "Иван", "phones": ["0123"]}
    assert lines[("phones",)] == 2


def test_crlf_is_read_like_lf():
    raw, lines, problems = read(b"name: Acme\r\nnotes: |\r\n  one\r\n  two\r\nzip: 08540\r\n")
    assert problems == []
    assert raw == {"name": "Acme", "notes": "one\ntwo\n", "zip": "08540"}
    assert lines[("zip",)] == 5


def test_tab_indentation_refused_with_line():
    p = refused("name: Acme\nfields:\n\tage: 3\n")
    assert p.line == 3


def test_nul_byte_refused_with_line():
    p = refused(b"name: Acme\nowner: anna\nnotes: a\x00b\n")
    assert p.line == 3, "the NUL sits on line 3; the problem should say so"


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\x7f", "\x9b", "\ufffe"])
def test_other_forbidden_characters_refused_not_raised(char):
    raw, _, problems = read(f"name: Acme\nnotes: a{char}b\n")
    assert raw is None and len(problems) == 1


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}")])
def test_deep_flow_nesting_refused(opening, closing):
    text = "name: Acme\nx: " + opening * 20000 + closing * 20000 + "\n"
    t0 = time.perf_counter()
    p = refused(text)
    assert time.perf_counter() - t0 < 2.0
    assert p.line == 2


def test_deep_flow_nesting_at_top_level_refused():
    p = refused("[" * 20000)
    assert p.line == 1


def test_deep_block_nesting_refused():
    # 1,500 levels of block mappings (indentation makes deeper files quadratic in size)
    text = "".join(" " * i + "a:\n" for i in range(1500)) + " " * 1500 + "a: 1\n"
    assert len(text) < MAX_BYTES
    raw, _, problems = read(text)
    assert raw is None and len(problems) == 1 and problems[0].line


def test_moderate_nesting_is_read():
    text = "name: Acme\nfields:\n  x: " + "[" * 50 + "1" + "]" * 50 + "\n"
    raw, _, problems = read(text)
    assert problems == []
    v = raw["fields"]["x"]
    for _ in range(49):
        v = v[0]
    assert v == ["1"]


def test_impossible_date_is_a_typing_problem_with_line():
    raw, lines, problems = read("name: Acme\nbirthday: 2024-02-30\n")
    assert problems == [] and raw["birthday"] == "2024-02-30"  # the reader keeps the text
    rec, probs = type_record("client", "acme", raw, lines, Config(), "clients/acme.yaml")
    errs = [p for p in probs if p.severity == "error"]
    assert len(errs) == 1
    assert errs[0].line == 2 and "birthday" in errs[0].message and "2024-02-30" in errs[0].message
    assert "birthday" not in rec


def test_impossible_date_in_deal_history_is_a_problem():
    text = "title: T\nclient: acme\nstage: won\nhistory:\n- {stage: lead, date: 2024-02-30}\n"
    raw, lines, problems = read(text, "deals/t.yaml")
    assert problems == []
    rec, probs = type_record("deal", "t", raw, lines, Config(), "deals/t.yaml")
    errs = [p for p in probs if p.severity == "error"]
    assert errs and errs[0].line == 4


def test_lone_surrogate_escape_refused():
    p = refused('name: "\\ud800"\n')
    assert p.line == 1


def test_lone_surrogate_escape_later_in_the_file():
    p = refused('name: Acme\nnotes: "ok"\ncity: "x\\udc00y"\n')
    assert p.line == 3


def test_surrogate_pair_escape_is_not_a_crash():
    raw, _, problems = read('name: "\\ud83d\\ude00"\n')
    assert (raw is None) == bool(problems)
    if raw is not None:
        raw["name"].encode("utf-8")  # whatever it reads must be valid text


@pytest.mark.parametrize("data", [b"", b"\n\n", b"# only a comment\n", "\ufeff".encode(), b"---\n", b"~\n", b"null\n"])
def test_empty_file_is_a_problem(data):
    p = refused(data)
    assert "empty" in p.message or "mapping" in p.message


@pytest.mark.parametrize("text, what", [
    ("- name: Acme\n- name: Other\n", "list"),
    ("[a, b]\n", "list"),
    ("just some text\n", "value"),
    ("'quoted'\n", "value"),
])
def test_not_a_mapping_is_a_problem(text, what):
    p = refused(text)
    assert p.line == 1
    assert what in p.message


@pytest.mark.parametrize("text, line", [
    ("? [a, b]\n: c\n", 1),
    ("name: Acme\n{a: b}: c\n", 2),
    ("name: Acme\nx:\n  ? - a\n  : b\n", 3),
])
def test_complex_keys_refused(text, line):
    p = refused(text)
    assert p.line == line


@pytest.mark.parametrize("text, line", [
    ("name: Acme\nphones: [0123\n", 3),
    ("name: Acme\n  owner: anna\n", 2),
    ("name: 'unterminated\n", 2),
    ("name: Acme\nnotes: \"a\\qb\"\n", 2),
    ("db_password: s3cr3t: x\n", 1),
    ("name: Acme\n- item\n", 2),
    ("name: Acme\nx: |\n  a\n b\n", 4),
    ("name: Acme\nx: @at\n", 2),
    ("name: Acme\nx: `tick\n", 2),
])
def test_syntax_errors_have_lines(text, line):
    p = refused(text)
    assert p.line == line


@pytest.mark.parametrize("data", [
    b"\x00", b"\xff", b"\r", b"\r\r\n", b":", b"- ", b"? ", b"!", b"&", b"*", b"%", b"%YAML 1.1\n",
    b"%YAML 9.9\n---\na: b\n", b"%FOO bar\n---\na: b\n", b"\t", b"a: \"\\", b"a: '", b"a: [", b"a: {",
    b"\xef\xbb\xbf\xef\xbb\xbf", b"a: b\n\x85", "a: b\u2028c: d\n".encode(), b"a:\n  - b\n  c: d\n",
    b'"\\x00": a\n', b"'': a\n", b": a\n", b"a: &x\n", b"a: !\n", b"a: !<tag:yaml.org,2002:str> b\n",
    b"a: !<tag:yaml.org,2002:python/none> b\n", b"[a, b]: c\n", b"a: b\n...\n...\n",
])
def test_odd_inputs_never_raise(data):
    raw, lines, problems = read(data)
    assert (raw is None) == bool(problems)
    if raw is not None:
        assert isinstance(raw, dict)
    for p in problems:
        assert isinstance(p, Problem) and (p.line is None or p.line >= 1)


def test_explicit_str_tag_is_allowed():
    raw, _, problems = read("phone: !!str 0123\nname: !<tag:yaml.org,2002:str> Acme\n")
    assert problems == []
    assert raw == {"phone": "0123", "name": "Acme"}


# ------------------------------------------------------------- text values

def test_every_scalar_is_text():
    text = ("country: NO\nzip: 08540\nphone: 0123\nmeeting: 12:30\nanswer: yes\nflag: on\n"
            "octal: 012\nsci: 1e3\nver: 1.10\nwhen: 2026-01-01\nempty:\ntilde: ~\nquoted: 'null'\n")
    raw, lines, problems = read(text)
    assert problems == []
    assert raw == {"country": "NO", "zip": "08540", "phone": "0123", "meeting": "12:30", "answer": "yes",
                   "flag": "on", "octal": "012", "sci": "1e3", "ver": "1.10", "when": "2026-01-01",
                   "empty": None, "tilde": None, "quoted": "null"}
    assert lines[("meeting",)] == 4


def test_lines_of_nested_values():
    text = "name: Acme\nphones:\n- '1'\n- '2'\nfields:\n  age: 3\n  kids: [a, b]\n"
    raw, lines, problems = read(text)
    assert problems == []
    assert lines[("phones",)] == 2
    assert lines[("phones", 1)] == 4
    assert lines[("fields", "age")] == 6
    assert lines[("fields", "kids")] == 7


# ------------------------------------------------------------- the canonical writer

TRICKY = ["NO", "no", "Yes", "y", "n", "on", "OFF", "~", "null", "true", "0123", "08540", "012", "0o17",
          "0x1F", "0b101", "+0b1", "+0x1F", "0x1_0", ".5_", "1_000", "1e3", "1.10", ".5", "-1", "+1", ".inf", "-.inf", ".nan", "12:30",
          "1:20:30", "2026-01-01", "2026-1-1", "2001-12-14t21:59:43.10-05:00", "=1+2", "=", "<<", "-", "- a",
          "? x", ": x", "a: b", "a:", "a #b", "#x", "@x", "`x", "%x", "!x", "&x", "*x", "|", ">", "'q'",
          '"q"', "[a]", "{a: b}", "a, b", " lead", "trail ", "", " ", "\t", "two\nlines", "trail\n",
          "a\n\nb", "a\r\nb", "a\rb", "nel\x85x", "ls\u2028x", "ps\u2029x", "tab\tx", "nul\x00x",
          "esc\x1b[31m", "\x7f", "\u00a0nbsp", "bom\ufeffx", "😀 emoji", "Иван Петров", "ООО «Ромашка»",
          "café", "\U0010fffd", "\ufffd", "back\\slash", "-- dash", "...", "---", "--- x", "... x"]


def test_writer_is_canonical_block_utf8():
    rec = {"name": "Иван Петров", "kind": "person", "phones": ["0123", "+7 999 123-45-67"],
           "tags": ["vip", "NO"], "birthday": date(1990, 5, 17), "opt_out": False,
           "created": date(2026, 11, 27), "fields": {"psychotype": "diplomat", "age": 36},
           "notes": "first line\nsecond line"}
    text = dump_mapping(rec)
    assert text == (
        "name: Иван Петров\n"
        "kind: person\n"
        "phones:\n"
        "- \"0123\"\n"
        "- +7 999 123-45-67\n"
        "tags:\n"
        "- vip\n"
        "- \"NO\"\n"
        "birthday: 1990-05-17\n"
        "opt_out: false\n"
        "created: 2026-11-27\n"
        "fields:\n"
        "  psychotype: diplomat\n"
        "  age: 36\n"
        "notes: |-\n"
        "  first line\n"
        "  second line\n"
    )
    assert "\\u" not in text
    raw, _, problems = read(text)
    assert problems == [] and raw == to_raw(rec)


def test_writer_keeps_key_order_and_drops_empty_values():
    rec = {"zeta": "1", "alpha": "2", "none": None, "empty": [], "nothing": {}, "mid": "3"}
    assert dump_mapping(rec) == 'zeta: "1"\nalpha: "2"\nmid: "3"\n'


@pytest.mark.parametrize("value", TRICKY)
def test_writer_round_trips_tricky_text(value):
    rec = {"name": value, "tags": [value, "x"], "fields": {"k": value, "nested": {"k": value}},
           "history": [{"stage": value, "date": date(2026, 1, 2)}]}
    text = dump_mapping(rec)
    text.encode("utf-8")
    raw, _, problems = read(text)
    assert problems == [], text
    assert raw == to_raw(rec), text
    # the teammate's script: PyYAML (YAML 1.1) sees the same strings
    theirs = yaml.safe_load(text)
    assert theirs["name"] == value
    assert theirs["tags"][0] == value
    assert theirs["fields"]["k"] == value
    assert theirs["fields"]["nested"]["k"] == value
    assert theirs["history"][0]["stage"] == value


@pytest.mark.parametrize("key", ["NO", "yes", "0123", "12:30", "a: b", "a b", "ключ", "", "-x", "?", "#",
                                 "x\ny", "null", "~", "<<", "="])
def test_writer_round_trips_tricky_keys(key):
    rec = {"name": "A", "fields": {key: "v", "other": "w"}}
    text = dump_mapping(rec)
    raw, _, problems = read(text)
    assert problems == [] and raw == to_raw(rec), text
    assert yaml.safe_load(text)["fields"] == {key: "v", "other": "w"}


@pytest.mark.parametrize("value", ["a{b", "a}b", "a[b", "a]b", "a,b", "a: b", "a #b", "NO", "0123", "-x", "x "])
def test_writer_round_trips_lists_inside_lists(value):
    rec = {"name": "A", "fields": {"grid": [[value, "k"], ["z"]]}}
    text = dump_mapping(rec)
    raw, _, problems = read(text)
    assert problems == [], text
    assert raw == to_raw(rec), text
    assert yaml.safe_load(text)["fields"]["grid"] == [[value, "k"], ["z"]]


@pytest.mark.parametrize("inner", [[["NO"]], [{"a": "b"}], [[date(2026, 1, 2), "x"]]])
def test_writer_round_trips_deeper_lists(inner):
    rec = {"name": "A", "fields": {"deep": [inner, "x"]}}
    text = dump_mapping(rec)
    raw, _, problems = read(text)
    assert problems == [], text
    assert raw == to_raw(rec), text


def test_writer_typed_values():
    rec = {"amount": Decimal("1500.50"), "big": Decimal("1E+3"), "tiny": Decimal("0.0001"),
           "neg": Decimal("-12"), "n": 42, "on": True, "off": False, "day": date(2024, 2, 29),
           "at": datetime(2026, 1, 2, 10, 30), "atsec": datetime(2026, 1, 2, 10, 30, 5)}
    text = dump_mapping(rec)
    raw, _, problems = read(text)
    assert problems == []
    assert raw == {"amount": "1500.50", "big": "1000", "tiny": "0.0001", "neg": "-12", "n": "42",
                   "on": "true", "off": "false", "day": "2024-02-29", "at": "2026-01-02T10:30",
                   "atsec": "2026-01-02T10:30:05"}
    assert raw == to_raw(rec)


def test_written_record_types_back_to_itself():
    rec = {"name": "ООО Ромашка", "phones": ["0123"], "birthday": date(2000, 1, 31),
           "opt_out": True, "tags": ["NO", "yes"], "address": "Москва\nул. Ленина, 1",
           "fields": {"age": "12:30"}}
    text = dump_mapping(rec)
    raw, lines, problems = read(text)
    back, probs = type_record("client", "x", raw, lines, Config(), "clients/x.yaml")
    assert [p for p in probs if p.severity == "error"] == []
    assert {k: v for k, v in back.items() if k != "id"} == rec


# ------------------------------------------------------------- the round-trip editor

HAND = (
    "# Acme, our oldest client\n"
    "name: 'Acme'   # single quotes kept\n"
    "country: NO\n"
    "phones: [\"0123\", 08540]\n"
    "custom_unknown: {a: 1, b: [x, y]}\n"
    "tags:\n"
    "    - vip     # indented list\n"
    "    - old\n"
    "notes: |\n"
    "  line one\n"
    "  line two\n"
    "# trailing comment\n"
)


def _set(key, value):
    def update(old):
        new = dict(old)
        new[key] = value
        return new
    return update


def test_edit_changes_one_key_and_keeps_the_rest():
    out = edit_text(HAND, _set("country", "DE"))
    assert out == HAND.replace("country: NO", "country: DE")


def test_edit_noop_keeps_the_file_byte_for_byte():
    assert edit_text(HAND, lambda old: dict(old)) == HAND


def test_edit_removing_a_key_keeps_the_comments_after_it():
    text = "name: A\nowner: anna\n# about the phones\nphones: ['1']\nnotes: x\n# footer\n"
    def drop(key):
        def update(old):
            new = dict(old)
            del new[key]
            return new
        return update
    assert edit_text(text, drop("owner")) == text.replace("owner: anna\n", "")
    assert edit_text(text, drop("notes")) == text.replace("notes: x\n", "")


def test_edit_replacing_a_list_keeps_the_comments_after_it():
    text = "name: A\nphones:\n- '1'\n# about notes\nnotes: x\n# footer\n"
    out = edit_text(text, _set("phones", "2"))
    raw, _, problems = read(out)
    assert problems == [] and raw == {"name": "A", "phones": "2", "notes": "x"}
    assert "# about notes\nnotes: x\n# footer\n" in out, out


@pytest.mark.parametrize("new", [["x", "b"], ["c", "d"], ["b", "c", "d"], ["x"], ["d", "c", "b"]])
def test_edit_rewriting_a_list_keeps_the_comments_after_it(new):
    text = "name: A\nemails:\n- b\n# about notes\nnotes: x\n# footer\n"
    out = edit_text(text, _set("emails", new))
    raw, _, problems = read(out)
    assert problems == [] and raw["emails"] == new
    assert out.endswith("\n# about notes\nnotes: x\n# footer\n"), out
    last = "emails:\n- b\n# footer\n"
    out = edit_text("name: A\n" + last, _set("emails", new))
    assert out.endswith("# footer\n"), out


@pytest.mark.parametrize("rec", [{"name": "A", "fields": {"kids": ["Anna\nborn 2019", "Boris"]}},
                                 {"name": "A", "tags": ["two\nlines", "x"]}])
def test_edit_keeps_a_written_multiline_list_item_as_written(rec):
    text = dump_mapping(rec)
    out = edit_text(text, _set("name", "B"))
    assert out == text.replace("name: A", "name: B")


def test_edit_appending_to_a_list_keeps_the_next_keys_comment_in_place():
    text = "name: A\ntags:\n- vip\n# the notes say why\nnotes: x\n"
    def update(old):
        return {**old, "tags": old["tags"] + ["new"]}
    assert edit_text(text, update) == "name: A\ntags:\n- vip\n- new\n# the notes say why\nnotes: x\n"


def test_edit_writes_new_keys_safely_for_pyyaml():
    # a custom field named like a YAML 1.1 bool must stay a string key for PyYAML
    out = edit_text("name: A\n", lambda old: {**old, "fields": {"NO": "x", "on": "y", "0123": "z"}})
    raw, _, problems = read(out)
    assert problems == [] and raw["fields"] == {"NO": "x", "on": "y", "0123": "z"}
    assert yaml.safe_load(out)["fields"] == {"NO": "x", "on": "y", "0123": "z"}, out


def test_edit_adds_a_key_in_schema_order():
    order = ["name", "kind", "country", "owner", "phones", "tags", "notes"]
    out = edit_text(HAND, _set("owner", "anna"), order)
    lines = out.splitlines()
    assert lines[lines.index("country: NO") + 1] == "owner: anna"
    assert out.replace("owner: anna\n", "") == HAND
    raw, _, problems = read(out)
    assert problems == [] and raw["owner"] == "anna" and raw["phones"] == ["0123", "08540"]


def test_edit_appends_to_a_list_keeping_its_style():
    def update(old):
        new = dict(old)
        new["tags"] = old["tags"] + ["NO"]
        return new
    out = edit_text(HAND, update)
    raw, _, problems = read(out)
    assert problems == []
    assert raw["tags"] == ["vip", "old", "NO"]
    assert "    - vip     # indented list\n    - old\n" in out
    assert yaml.safe_load(out)["tags"][2] == "NO"


def test_edit_removes_a_key():
    def update(old):
        new = dict(old)
        del new["country"]
        return new
    out = edit_text(HAND, update)
    assert out == HAND.replace("country: NO\n", "")


@pytest.mark.parametrize("value", TRICKY)
def test_edit_writes_tricky_values_readably(value):
    def update(old):
        return {**old, "name": value, "city": value, "tags": old["tags"] + [value]}
    out = edit_text(HAND, update, ["name", "city", "country"])
    raw, _, problems = read(out)
    assert problems == [], out
    assert raw["name"] == raw["city"] == raw["tags"][2] == value
    assert raw["country"] == "NO" and raw["phones"] == ["0123", "08540"]
    assert raw["custom_unknown"] == {"a": "1", "b": ["x", "y"]}
    theirs = yaml.safe_load(out)
    assert theirs["name"] == theirs["city"] == theirs["tags"][2] == value
    assert "# Acme, our oldest client" in out and "# trailing comment" in out
    assert "country: NO\n" in out  # the author's own plain NO stays as written


def test_edit_keeps_bom_and_crlf():
    text = "\ufeff" + HAND.replace("\n", "\r\n")
    out = edit_text(text, _set("country", "Россия"))
    assert out.startswith("\ufeff")
    assert out.count("\r\n") == out.count("\n")
    assert out == text.replace("country: NO", "country: Россия")


def test_edit_keeps_typed_text_of_untouched_fields():
    text = "title: Deal\nclient: acme\namount: 1500.0\nstage: lead\ncreated: '2026-01-01'\n"
    out = edit_text(text, _set("stage", "won"))
    assert out == text.replace("stage: lead", "stage: won")


def test_edit_nested_custom_field():
    text = "name: Acme\nfields:\n  # the seminar's psychotype\n  psychotype: diplomat\n  age: '036'\n"
    def update(old):
        new = dict(old)
        new["fields"] = {**old["fields"], "psychotype": "analyst"}
        return new
    out = edit_text(text, update)
    assert out == text.replace("diplomat", "analyst")


def test_edit_appends_history_entry():
    text = ("title: Deal\nclient: acme\nstage: lead\nhistory:\n"
            "  - {stage: lead, date: 2026-01-01}   # flow entries\n")
    def update(old):
        new = dict(old)
        new["stage"] = "won"
        new["history"] = old["history"] + [{"stage": "won", "date": date(2026, 2, 1)}]
        return new
    out = edit_text(text, update)
    raw, _, problems = read(out)
    assert problems == []
    assert raw["history"] == [{"stage": "lead", "date": "2026-01-01"}, {"stage": "won", "date": "2026-02-01"}]
    assert "  - {stage: lead, date: 2026-01-01}   # flow entries\n" in out
