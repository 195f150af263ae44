"""Records in and out: CSV, JSON, YAML and vCard (``crm import`` / ``crm export``).

Import runs in three steps, and only the last touches the folder:

1. *read*: the file's bytes become ``Row`` objects (one per CSV row, JSON
   object or vCard), each with the line it starts on and its values as the
   text a record file would hold (``read_rows``; pure);
2. *plan*: every row is typed by the schema, its references resolved, its
   names checked against crm.yaml, and matched to an existing record (by id,
   then e-mail, then exact name) -- giving a list of ``Action`` (create,
   update, unchanged) and every problem with its line (``plan_import``; pure
   apart from the ``Snapshot`` it is given);
3. *apply*: only when no row has an error, the actions are written, each one
   atomically, under the folder's lock (``apply_actions``).

Export turns typed records into CSV (``records_to_csv``), JSON/YAML (the
objects of ``list --format json``) or vCard 3.0 (``clients_to_vcard``).
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date

from crmcli.config import Config
from crmcli.errors import Problem
from crmcli.ids import fold, new_id
from crmcli.records import json_value, to_json, type_custom
from crmcli.schema import (FIELDS, FOLDERS, ID_RE, KIND_OF_FOLDER, KINDS, ORDER, SCHEMAS, TITLE_FIELD,
                           FieldValueError, convert, parse_date)

IMPORT_FORMATS = ("csv", "json", "vcard")
EXPORT_FORMATS = ("csv", "json", "yaml", "vcard")
LIST_SEP = "; "                      # the same as render.LIST_SEP
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_FORMULA = re.compile(r"^'+[=+\-@\t\r]")
_BAD_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\ud800-\udfff]")
# columns of crm's own exports that are derived, never stored
DERIVED = {"client": ("status",)}
PSEUDO_TARGETS = ("given_name", "middle_name", "family_name", "organization", "-")


# ====================================================================== rows
class RowLines(dict):
    """Line numbers of a row's fields; any field not listed is on the row's line."""

    def __init__(self, line: int, items: dict | None = None):
        super().__init__(items or {})
        self.line = line

    def get(self, key, default=None):
        if key in self:
            return self[key]
        if isinstance(key, tuple) and key and key[0] in self:
            return self[key[0]]
        return self.line


@dataclass
class Row:
    """One record's worth of input: values as the text a file would hold."""

    line: int
    values: dict = field(default_factory=dict)   # field -> text | [text] | {name: text} | [mapping]
    clear: set = field(default_factory=set)      # fields (or fields.NAME) the row empties
    merge: set = field(default_factory=set)      # list fields whose items are added, not replaced
    rid: str | None = None                       # an id column / key / X-CRM-ID
    org_name: str | None = None                  # link a person to this organization (by exact name)
    lines: RowLines | None = None
    problems: list = field(default_factory=list)

    def __post_init__(self):
        if self.lines is None:
            self.lines = RowLines(self.line)


def _problem(path: str, line: int | None, message: str, hint: str | None = None,
             severity: str = "error") -> Problem:
    return Problem(path, line, message, hint, severity)


def decode_input(data: bytes, path: str) -> tuple[str | None, list[Problem]]:
    """An import file's bytes as text: UTF-8, a BOM dropped, line ends kept."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, [_problem(path, line, "invalid UTF-8: import files must be UTF-8 text",
                               "re-save the file as UTF-8 (in a spreadsheet: CSV UTF-8)")]
    return (text[1:] if text.startswith("\ufeff") else text), []


def guess_format(path: str, text: str) -> str:
    """csv, json or vcard, from the file name, else from its first characters."""
    low = path.lower()
    if low.endswith((".vcf", ".vcard")):
        return "vcard"
    if low.endswith(".json"):
        return "json"
    if low.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    head = text.lstrip()[:20].upper()
    if head.startswith("BEGIN:VCARD"):
        return "vcard"
    if head.startswith(("[", "{")):
        return "json"
    return "csv"


def read_rows(data: bytes, fmt: str, kind: str, path: str,
              maps: dict[str, str] | None = None) -> tuple[list[Row], list[Problem]]:
    """Parse a whole import file into rows; problems name ``path:line``."""
    text, problems = decode_input(data, path)
    if text is None:
        return [], problems
    if fmt == "csv":
        return parse_csv(text, kind, path, maps or {})
    if fmt == "json":
        return parse_json(text, kind, path)
    if fmt == "vcard":
        return parse_vcards(text, path)
    raise ValueError(fmt)


def clean_cell(text: str) -> str:
    """A CSV cell as it was before export: a spreadsheet escape removed, CRLF as LF."""
    if _ESCAPED_FORMULA.match(text):
        text = text[1:]
    return text.replace("\r\n", "\n")


def escape_cell(text: str) -> str:
    """Escape a cell a spreadsheet would run as a formula (reversed by ``clean_cell``)."""
    if text.startswith(FORMULA_START) or _ESCAPED_FORMULA.match(text):
        return "'" + text
    return text


def split_list(cell: str, sep: str = ";") -> list[str]:
    """A list cell: ``a; b; c`` (or a JSON array, which crm writes when an item holds ';')."""
    cell = cell.strip()
    if cell.startswith("[") and cell.endswith("]"):
        try:
            items = json.loads(cell)
        except ValueError:
            items = None
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return items
    return [p.strip() for p in cell.split(sep) if p.strip()]


def join_list(items: list[str]) -> str:
    """The cell of a list: items joined by ``; ``; a JSON array when that would not read back."""
    items = [str(i) for i in items]
    if any(";" in i or i != i.strip() or not i for i in items) or (
            items and items[0].startswith("[") and items[-1].endswith("]")):
        return json.dumps(items, ensure_ascii=False)
    return LIST_SEP.join(items)


def to_text(value):
    """A JSON value as the text a record file holds (numbers keep their digits)."""
    if value is None:
        return value
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [to_text(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_text(v) for k, v in value.items()}
    return str(value)


# ---------------------------------------------------------------- CSV
_CLIENT_ALIASES = {
    # Google Contacts, Outlook, Thunderbird, Apple Numbers -- and a few Russian ones
    "name": "name", "full name": "name", "display name": "name", "имя и фамилия": "name",
    "first name": "given_name", "given name": "given_name", "имя": "given_name",
    "middle name": "middle_name", "additional name": "middle_name", "отчество": "middle_name",
    "last name": "family_name", "family name": "family_name", "surname": "family_name",
    "фамилия": "family_name",
    "e-mail": "emails", "email": "emails", "e-mail address": "emails", "email address": "emails",
    "e-mail 2 address": "emails", "e-mail 3 address": "emails", "primary email": "emails",
    "secondary email": "emails", "emails": "emails", "электронная почта": "emails",
    "адрес эл. почты": "emails",
    "phone": "phones", "phones": "phones", "telephone": "phones", "phone number": "phones",
    "mobile": "phones", "mobile phone": "phones", "mobile number": "phones", "cell phone": "phones",
    "home phone": "phones", "home phone 2": "phones", "business phone": "phones",
    "business phone 2": "phones", "work phone": "phones", "primary phone": "phones",
    "company main phone": "phones", "other phone": "phones", "car phone": "phones",
    "телефон": "phones", "мобильный телефон": "phones", "рабочий телефон": "phones",
    "домашний телефон": "phones",
    "organization": "organization", "organization name": "organization", "company": "organization",
    "company name": "organization", "организация": "organization", "компания": "organization",
    "birthday": "birthday", "день рождения": "birthday",
    "notes": "notes", "note": "notes", "заметки": "notes",
    "labels": "tags", "group membership": "tags", "categories": "tags", "tags": "tags",
    "категории": "tags",
    "address": "address", "адрес": "address",
}
_CLIENT_PATTERNS = [
    (re.compile(r"^e-mail \d+ - value$"), "emails"),
    (re.compile(r"^phone \d+ - value$"), "phones"),
    (re.compile(r"^organization \d+ - name$"), "organization"),
]
_ADDRESS_PARTS = {"formatted": "formatted", "street": "street", "street 2": "street2",
                  "street 3": "street3", "po box": "box", "address po box": "box", "city": "city",
                  "region": "region", "state": "region", "postal code": "code", "country": "country",
                  "country/region": "country", "extended address": "extended", "address": "formatted"}
_GOOGLE_ADDRESS = re.compile(r"^address (\d+) - (.+)$")
_OUTLOOK_ADDRESS = re.compile(r"^(home|business|other) (.+)$")
_IGNORED_LABELS = {"mycontacts", "* mycontacts"}
# columns that describe others or hold a program's defaults: skipped without a word
_SILENT = re.compile(r" - (label|type)$|^(gender|sensitivity|priority|private|initials|anniversary|"
                     r"internet free busy|photo|file as|phonetic .*|.*yomi.*)$")


@dataclass
class Column:
    name: str
    target: str | None          # a field, fields.NAME, id, a pseudo target, or None (ignored)
    native: bool = False        # named exactly like the field (an empty cell empties it)
    address: tuple | None = None  # (group, part) of a split postal address
    ignored: bool = False       # not imported, and worth a warning if it holds anything


def _norm_header(name: str) -> str:
    return " ".join(name.strip().lower().split())


def plan_columns(header: list[str], kind: str, path: str,
                 maps: dict[str, str]) -> tuple[list[Column], list[Problem]]:
    """What each CSV column means: a field, a custom field, a recognised column of
    another program's export, a ``--map``-ped column, or nothing."""
    problems: list[Problem] = []
    fields = FIELDS[kind]
    cols: list[Column] = []
    seen: dict[str, int] = {}
    kept: list[str] = []
    native_file = "id" in header
    for name in header:
        if name in seen:
            problems.append(_problem(path, 1, f"column {name!r} appears twice in the header"))
        seen[name] = 1
        norm = _norm_header(name)
        if name in maps:
            target = maps[name]
            cols.append(Column(name, None if target == "-" else target))
            continue
        if name == "id":
            cols.append(Column(name, "id", native=True))
        elif name in fields:
            cols.append(Column(name, name, native=True))
        elif name.startswith("fields.") and len(name) > 7:
            cols.append(Column(name, name, native=True))
        elif name in DERIVED.get(kind, ()):
            cols.append(Column(name, None))
        elif kind == "client" and _client_alias(norm) is not None:
            target, address = _client_alias(norm)
            cols.append(Column(name, target, address=address))
        elif native_file and name.strip():
            # crm's own export: a key the record file had but the schema does not know
            cols.append(Column(name, name, native=True))
            kept.append(name)
        else:
            cols.append(Column(name, None, ignored=bool(name.strip()) and not _SILENT.search(norm)))
    for col in maps:
        if col not in header:
            problems.append(_problem(path, 1, f"--map: there is no column {col!r} in the header",
                                     f"columns: {', '.join(h for h in header if h)[:300]}"))
    for name in kept:
        problems.append(_problem(path, 1, f"column {name!r} is not a field of a {kind}; kept as an unknown key",
                                 severity="warning"))
    return cols, problems


def _client_alias(norm: str):
    if norm in _CLIENT_ALIASES:
        target = _CLIENT_ALIASES[norm]
        return (("address", ("main", "formatted")) if target == "address" else (target, None))
    for rx, target in _CLIENT_PATTERNS:
        if rx.match(norm):
            return target, None
    m = _GOOGLE_ADDRESS.match(norm)
    if m and m.group(2) in _ADDRESS_PARTS:
        return "address", (f"address {m.group(1)}", _ADDRESS_PARTS[m.group(2)])
    m = _OUTLOOK_ADDRESS.match(norm)
    if m and m.group(2) in _ADDRESS_PARTS:
        return "address", (m.group(1), _ADDRESS_PARTS[m.group(2)])
    return None


def check_maps(kind: str, maps: dict[str, str]) -> str | None:
    """A message when a ``--map`` target is not something a column can fill."""
    for col, target in maps.items():
        if target in FIELDS[kind] or target in PSEUDO_TARGETS or (
                target.startswith("fields.") and len(target) > 7) or target == "id":
            if target in PSEUDO_TARGETS[:4] and kind != "client":
                return f"--map {col}={target}: {target} is for clients"
            continue
        return (f"--map {col}={target}: {target!r} is not a field of a {kind}; "
                f"fields: {', '.join(FIELDS[kind])}, fields.NAME"
                + (", given_name, middle_name, family_name, organization" if kind == "client" else "")
                + ", or - to skip the column")
    return None


def _sniff_delimiter(first_line: str) -> str:
    counts = {}
    for d in (",", ";", "\t"):
        n, quoted = 0, False
        for ch in first_line:
            if ch == '"':
                quoted = not quoted
            elif ch == d and not quoted:
                n += 1
        counts[d] = n
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(text: str, kind: str, path: str, maps: dict[str, str]) -> tuple[list[Row], list[Problem]]:
    """Rows of a CSV file with a header row; each row's line is where it starts."""
    problems: list[Problem] = []
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(first), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [_problem(path, 1, f"CSV error: {exc}")]
    if not header or not any(h.strip() for h in header):
        return [], [_problem(path, 1, "no header row: the first line must name the columns")]
    header = [h.strip() for h in header]
    cols, probs = plan_columns(header, kind, path, maps)
    problems += probs
    rows: list[Row] = []
    ignored: list[str] = []
    end = reader.line_num
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(_problem(path, start, f"CSV error: {exc}"))
            break
        end = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            extra = [c for c in cells[len(header):] if c.strip()]
            if extra:
                problems.append(_problem(path, start, f"{len(cells)} cells, but the header names {len(header)} columns",
                                         "a cell with a comma or a line break must be in double quotes"))
        cells = cells + [""] * (len(header) - len(cells))
        for col, cell in zip(cols, cells):
            if col.ignored and cell.strip() and col.name not in ignored:
                ignored.append(col.name)
        rows.append(_csv_row(kind, cols, cells, start, path))
    if ignored:
        problems.append(_problem(path, 1, f"column{'s' if len(ignored) > 1 else ''} not imported: "
                                 + ", ".join(ignored[:15]) + (" ..." if len(ignored) > 15 else ""),
                                 "import one with --map COLUMN=FIELD, or skip it quietly with --map COLUMN=-",
                                 severity="warning"))
    return rows, problems


def _csv_row(kind: str, cols: list[Column], cells: list[str], line: int, path: str) -> Row:
    row = Row(line)
    names: dict[str, str] = {}
    addresses: dict[str, dict[str, str]] = {}
    for col, raw in zip(cols, cells):
        if col.target is None:
            continue
        cell = clean_cell(raw)
        empty = not cell.strip()
        target = col.target
        if target == "id":
            if not empty:
                row.rid = cell.strip()
            continue
        if col.address is not None:
            if not empty:
                addresses.setdefault(col.address[0], {}).setdefault(col.address[1], cell.strip())
            continue
        if target in ("given_name", "middle_name", "family_name"):
            if not empty:
                names.setdefault(target, cell.strip())
            continue
        if target == "organization":
            if not empty and row.org_name is None:
                row.org_name = cell.strip()
            continue
        if target.startswith("fields."):
            name = target[7:]
            if empty:
                if col.native:
                    row.clear.add(target)
                continue
            row.values.setdefault("fields", {})[name] = cell
            continue
        fld = FIELDS[kind].get(target)
        if fld is None:  # an unknown key of crm's own export: kept as text
            if empty:
                row.clear.add(target)
            else:
                row.values[target] = cell
            continue
        if empty:
            if col.native:
                row.clear.add(target)
            continue
        if fld.type in ("list", "refs"):
            if col.native:
                items = split_list(cell)
            else:  # Google puts several values in one cell as "a ::: b"; Outlook's categories "a;b"
                items = [i[2:].strip() if i.startswith("* ") else i
                         for i in split_list(cell.replace(":::", ";")) if i.lower() not in _IGNORED_LABELS]
            if target == "emails":  # an address holds no comma: "a@x, b@y" is two
                items = [e.strip() for i in items for e in i.split(",") if e.strip()]
            if not col.native:
                row.merge.add(target)
            row.values[target] = _dedupe(list(row.values.get(target) or []) + items)
            continue
        if fld.type in ("history", "actions"):
            try:
                value = json.loads(cell)
            except ValueError as exc:
                row.problems.append(_problem(path, line, f"{target}: not JSON text ({exc.msg})",
                                             "the cell holds a JSON list as crm export writes it"))
                continue
            row.values[target] = to_text(value)
            continue
        if target == "birthday" and not col.native:
            day, warning = foreign_date(cell)
            if warning:
                row.problems.append(_problem(path, line, f"{col.name}: {warning}",
                                             severity="error" if day is None and "not a date" in warning
                                             else "warning"))
            if day is not None:
                row.values["birthday"] = day
            continue
        if target in row.values and not col.native:
            continue  # the first of several columns for one field wins
        row.values[target] = cell if fld.multiline else (cell.strip() if not col.native else cell)
    if kind == "client":
        _finish_client_names(row, names)
        address = _pick_address(addresses)
        if address and "address" not in row.values:
            row.values["address"] = address
    return row


def _finish_client_names(row: Row, names: dict[str, str]) -> None:
    person = " ".join(names[k] for k in ("given_name", "middle_name", "family_name") if names.get(k))
    if person and "name" not in row.values:
        row.values["name"] = person
    if names and "kind" not in row.values and row.rid is None:
        row.values["kind"] = "person"
    if "name" not in row.values and row.org_name and "name" not in row.clear:
        # a company-only contact: the organization itself
        row.values["name"] = row.org_name
        row.org_name = None
        if "kind" not in row.values:
            row.values["kind"] = "organization"
    if row.org_name and fold(row.org_name) == fold(str(row.values.get("name") or "")):
        row.org_name = None
        row.values.setdefault("kind", "organization")


def _pick_address(groups: dict[str, dict[str, str]]) -> str | None:
    for parts in groups.values():
        text = parts.get("formatted") or format_address(parts)
        if text:
            return text
    return None


def format_address(parts: dict) -> str:
    """A postal address as lines: street(s), box, then city, region, code, then country."""
    lines = []
    for key in ("street", "street2", "street3", "extended", "box"):
        if parts.get(key):
            lines.append(parts[key])
    place = ", ".join(p for p in (parts.get("city"), parts.get("region"), parts.get("code")) if p)
    if place:
        lines.append(place)
    if parts.get("country"):
        lines.append(parts["country"])
    return "\n".join(lines)


_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2,4})$")
_EU_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_NO_YEAR = re.compile(r"^--(\d{2})-?(\d{2})$")
_BASIC_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def foreign_date(text: str) -> tuple[str | None, str | None]:
    """A birthday as other programs write it -> (ISO date or None, warning or None).

    ``1990-02-03``, ``19900203``, ``1990-02-03T00:00:00Z``, ``2/3/1990``
    (Outlook: month first), ``03.02.1990``; ``--02-03`` has no year and is
    skipped with a warning; ``0/0/00`` (Outlook's empty date) is nothing.
    """
    s = text.strip()
    if not s or s in ("0/0/00", "0/0/0000", "00.00.0000"):
        return None, None
    if _NO_YEAR.match(s):
        return None, f"{s!r} has no year; the birthday was not imported"
    s2 = s.split("T", 1)[0] if re.match(r"^\d{4}-?\d{2}-?\d{2}T", s) else s
    iso = None
    m = _BASIC_DATE.match(s2)
    if m:
        iso = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    elif re.match(r"^\d{4}-\d{2}-\d{2}$", s2):
        iso = s2
    elif _US_DATE.match(s2):
        mo, d, y = _US_DATE.match(s2).groups()
        y = y if len(y) == 4 else ("19" if int(y) > 30 else "20") + y.zfill(2)
        iso = f"{y}-{int(mo):02d}-{int(d):02d}"
    elif _EU_DATE.match(s2):
        d, mo, y = _EU_DATE.match(s2).groups()
        iso = f"{y}-{int(mo):02d}-{int(d):02d}"
    if iso is None:
        return None, f"{s!r} is not a date (YYYY-MM-DD)"
    try:
        parse_date(iso)
    except FieldValueError:
        return None, f"{s!r} is not a date (YYYY-MM-DD)"
    return iso, None


def _dedupe(items):
    out, seen = [], set()
    for i in items:
        key = fold(i) if isinstance(i, str) else i
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out


# ---------------------------------------------------------------- JSON
def parse_json(text: str, kind: str, path: str) -> tuple[list[Row], list[Problem]]:
    """Rows of a JSON array of record objects (the shape ``crm export -f json`` writes)."""
    decoder = json.JSONDecoder(parse_float=str, parse_int=str)
    problems: list[Problem] = []
    items: list[tuple[int, object]] = []
    ws = re.compile(r"\s*")
    i = ws.match(text, 0).end()
    try:
        if text.startswith("{", i):
            obj, end = decoder.raw_decode(text, i)
            items.append((text.count("\n", 0, i) + 1, obj))
            i = ws.match(text, end).end()
        elif text.startswith("[", i):
            i = ws.match(text, i + 1).end()
            first = True
            while not text.startswith("]", i):
                if not first:
                    if not text.startswith(",", i):
                        raise json.JSONDecodeError("expected ',' or ']'", text, i)
                    i = ws.match(text, i + 1).end()
                obj, end = decoder.raw_decode(text, i)
                items.append((text.count("\n", 0, i) + 1, obj))
                i = ws.match(text, end).end()
                first = False
            i = ws.match(text, i + 1).end()
        else:
            raise json.JSONDecodeError("expected a JSON array of objects", text, i)
        if i < len(text):
            raise json.JSONDecodeError("extra data after the JSON array", text, i)
    except json.JSONDecodeError as exc:
        return [], [_problem(path, exc.lineno, f"JSON error: {exc.msg} (column {exc.colno})")]
    except RecursionError:
        return [], [_problem(path, None, "JSON nested too deeply")]
    fields = FIELDS[kind]
    unknown: dict[str, int] = {}
    rows = []
    for line, obj in items:
        if not isinstance(obj, dict):
            problems.append(_problem(path, line, "expected a JSON object (a record), found "
                                     + type(obj).__name__.replace("str", "text")))
            continue
        row = Row(line)
        for key, value in obj.items():
            value = to_text(value)
            if key == "id":
                if isinstance(value, str) and value.strip():
                    row.rid = value.strip()
                elif value is not None:
                    row.problems.append(_problem(path, line, "id: expected text"))
                continue
            if key in DERIVED.get(kind, ()):
                continue
            if key not in fields:
                unknown.setdefault(key, line)
            if value is None or value == [] or value == {} or value == "":
                row.clear.add(key)
                continue
            if key == "fields":
                row.clear.add("fields")
            row.values[key] = value
        rows.append(row)
    for key, line in unknown.items():
        problems.append(_problem(path, line, f"{key!r} is not a field of a {kind}; kept as an unknown key",
                                 severity="warning"))
    return rows, problems


# ---------------------------------------------------------------- vCard
_BEGIN = re.compile(r"^BEGIN:VCARD\s*$", re.I)
_END = re.compile(r"^END:VCARD\s*$", re.I)
_LINE_SPLIT = re.compile(r"\r\n|\n|\r")


class _QuietVobject:
    """vobject logs through the root logger; keep that off the user's terminal."""

    def __enter__(self):
        import logging
        self.handler = logging.NullHandler()
        self.root = logging.getLogger()
        self.had = list(self.root.handlers)
        if not self.had:
            self.root.addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        if not self.had:
            self.root.removeHandler(self.handler)
        return False


def parse_vcards(text: str, path: str) -> tuple[list[Row], list[Problem]]:
    """Client rows of a vCard file (versions 2.1, 3.0 and 4.0), one per card."""
    problems: list[Problem] = []
    rows: list[Row] = []
    lines = _LINE_SPLIT.split(text)
    card: list[str] | None = None
    start = 0
    with _QuietVobject():
        for n, line in enumerate(lines, 1):
            if card is None:
                if _BEGIN.match(line):
                    card, start = [line], n
                elif line.strip():
                    problems.append(_problem(path, n, "text outside BEGIN:VCARD ... END:VCARD"))
                    break
                continue
            card.append(line)
            if _END.match(line):
                rows.append(_vcard_row(card, start, path))
                card = None
        if card is not None:
            problems.append(_problem(path, start, "this vCard has no END:VCARD"))
    if not rows and not problems:
        problems.append(_problem(path, 1, "no vCard found (BEGIN:VCARD ... END:VCARD)"))
    return rows, problems


def _vcard_row(card_lines: list[str], start: int, path: str) -> Row:
    import vobject
    row = Row(start)
    row.merge = {"emails", "phones", "tags"}
    # vobject reads the content lines (unfolding, quoted-printable with soft line
    # breaks, charsets, parameters, groups); under a name it has no behaviour
    # for, it leaves the values' own escapes alone -- its vCard 3.0 text
    # decoding would cut "Smith, John" at the comma, which 2.1 does not escape
    text = "\r\n".join(["BEGIN:X-CRM-CARD", *card_lines[1:-1], "END:X-CRM-CARD"]) + "\r\n"
    try:
        comp = vobject.readOne(text, transform=False, allowQP=True)
    except Exception as exc:  # noqa: BLE001 - vobject raises many kinds
        n = getattr(exc, "lineNumber", None)
        msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        msg = re.sub(r"^At line \d+: ", "", str(msg).splitlines()[0])
        row.problems.append(_problem(path, start + n - 1 if isinstance(n, int) and n > 0 else start,
                                     f"vCard error: {msg}"))
        return row
    props: dict[str, list] = {}
    for child in comp.getChildren():
        if getattr(child, "name", None):
            props.setdefault(child.name.upper(), []).append(child)
    version = props["VERSION"][0].value.strip() if props.get("VERSION") else "3.0"
    v21 = version.startswith("2")

    def line_of(prop) -> int:
        n = getattr(prop, "lineNumber", None)
        return start + n - 1 if isinstance(n, int) and n > 0 else start

    def text_of(prop) -> str | None:
        try:
            raw = _prop_text(prop)
        except (ValueError, LookupError) as exc:
            row.problems.append(_problem(path, line_of(prop), f"{prop.name}: cannot decode ({exc})"))
            return None
        return raw.replace("\r\n", "\n").replace("\r", "\n")

    def first_text(name: str) -> tuple[str | None, object]:
        for prop in props.get(name, []):
            value = text_of(prop)
            if value is not None and value.strip():
                return value, prop
        return None, None

    # name and kind
    fn, fn_prop = first_text("FN")
    fn = _unescape(fn, v21).strip() if fn else None
    n_parts = []
    n_raw, _ = first_text("N")
    if n_raw:
        n_parts = [_unescape(p, v21).strip() for p in _split_unescaped(n_raw, ";")]
    family = n_parts[0] if n_parts else ""
    given = n_parts[1] if len(n_parts) > 1 else ""
    middle = n_parts[2] if len(n_parts) > 2 else ""
    person = " ".join(p for p in (given, middle, family) if p)
    org_raw, _ = first_text("ORG")
    org = None
    if org_raw:
        org = next((p for p in (_unescape(x, v21).strip() for x in _split_unescaped(org_raw, ";")) if p), None)
    kind_value, _ = first_text("KIND")
    show_as, _ = first_text("X-ABSHOWAS")
    is_org = (kind_value or "").strip().lower() in ("org", "organization") or \
        (show_as or "").strip().upper() == "COMPANY" or (not person and org is not None and (not fn or fn == org))
    name = fn or person or (org if is_org else None)
    if not name:
        row.problems.append(_problem(path, start, "this vCard has no name (FN, N or ORG)"))
    else:
        row.values["name"] = name
        row.lines["name"] = line_of(fn_prop) if fn_prop is not None else start
    row.values["kind"] = "organization" if is_org else "person"
    if org and not is_org and fold(org) != fold(name or ""):
        row.org_name = org

    emails = []
    for prop in props.get("EMAIL", []):
        value = text_of(prop)
        if value:
            value = _unescape(value, v21).strip()
            if value.lower().startswith("mailto:"):
                value = value[7:]
            if value:
                emails.append(value)
    if emails:
        row.values["emails"] = _dedupe(emails)
    phones = []
    for prop in props.get("TEL", []):
        value = text_of(prop)
        if value:
            value = _unescape(value, v21).strip()
            if value.lower().startswith("tel:"):
                value = value[4:]
            if value:
                phones.append(value)
    if phones:
        row.values["phones"] = _dedupe(phones)

    address = None
    adrs = props.get("ADR", [])
    adrs = sorted(adrs, key=lambda p: 0 if _is_pref(p) else 1)
    for prop in adrs:
        raw = text_of(prop)
        if not raw:
            continue
        parts = [_unescape(p, v21).strip() for p in _split_unescaped(raw, ";")] + [""] * 7
        text = format_address({"box": parts[0], "extended": parts[1], "street": parts[2], "city": parts[3],
                               "region": parts[4], "code": parts[5], "country": parts[6]})
        if text:
            address = text
            row.lines["address"] = line_of(prop)
            break
    if address is None:
        label, label_prop = first_text("LABEL")
        if label:
            address = _unescape(label, v21).strip()
            row.lines["address"] = line_of(label_prop)
    if address:
        row.values["address"] = address

    for prop in props.get("BDAY", [])[:1]:
        value = text_of(prop)
        if not value or not value.strip():
            continue
        value = _unescape(value, v21).strip()
        omit = (prop.params.get("X-APPLE-OMIT-YEAR") or [None])[0]
        if omit and value.startswith(str(omit)):
            row.problems.append(_problem(path, line_of(prop), f"BDAY {value!r} has no year (Apple marks it with "
                                         f"{omit}); the birthday was not imported", severity="warning"))
            continue
        if [v.lower() for v in prop.params.get("VALUE", [])] == ["text"]:
            row.problems.append(_problem(path, line_of(prop), f"BDAY {value!r} is text, not a date; "
                                         "the birthday was not imported", severity="warning"))
            continue
        day, warning = foreign_date(value)
        if warning:
            row.problems.append(_problem(path, line_of(prop), f"BDAY {warning}",
                                         severity="warning" if "no year" in warning else "error"))
        if day:
            row.values["birthday"] = day
            row.lines["birthday"] = line_of(prop)

    tags = []
    for prop in props.get("CATEGORIES", []):
        raw = text_of(prop)
        if raw:
            items = _split_unescaped(raw, ",")
            if v21 and len(items) == 1:
                items = _split_unescaped(raw, ";")
            tags += [t for t in (_unescape(i, v21).strip() for i in items) if t]
    if tags:
        row.values["tags"] = _dedupe(tags)

    notes = [n for n in (_unescape(text_of(p) or "", v21).strip() for p in props.get("NOTE", [])) if n]
    if notes:
        row.values["notes"] = "\n\n".join(notes)
        row.lines["notes"] = line_of(props["NOTE"][0])

    crm_id, _ = first_text("X-CRM-ID")
    if crm_id:
        row.rid = crm_id.strip()
    return row


def _is_pref(prop) -> bool:
    types = [t.lower() for v in prop.params.get("TYPE", []) for t in v.split(",")]
    return "pref" in types or "PREF" in prop.params or "PREF" in [s.upper() for s in prop.singletonparams]


def _prop_text(prop) -> str:
    """A property's value as text: base64 decoded where the card says so
    (vobject already decoded quoted-printable and its charset)."""
    value = prop.value
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    enc = [e.upper() for e in prop.params.get("ENCODING", [])] + \
        [s.upper() for s in prop.singletonparams if s.upper() in ("BASE64", "B")]
    if enc and enc[0] in ("B", "BASE64") and prop.name.upper() not in ("PHOTO", "LOGO", "SOUND", "KEY"):
        import base64
        charset = (prop.params.get("CHARSET") or ["utf-8"])[0]
        value = base64.b64decode(value.replace(" ", "")).decode(charset)
    return value


def _split_unescaped(text: str, sep: str) -> list[str]:
    """Split at ``sep`` where it is not backslash-escaped (escapes kept)."""
    parts, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i:i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text: str, v21: bool = False) -> str:
    r"""vCard text escapes: ``\n`` ``\,`` ``\;`` ``\\`` (2.1 knows only ``\;``)."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in "nN" and not v21:
                out.append("\n")
                i += 2
                continue
            if nxt in ";,\\:" and (not v21 or nxt in ";\\"):
                out.append(nxt)
                i += 2
                continue
        out.append(ch)
        i += 1
    return "".join(out)


# ====================================================================== plan
@dataclass
class Snapshot:
    """What the folder holds, as the planner needs it."""

    cfg: Config
    today: date
    ids: dict[str, set] = field(default_factory=dict)         # kind -> every id with a file
    records: dict[str, dict] = field(default_factory=dict)    # kind -> {id: typed record}
    broken: dict[str, dict] = field(default_factory=dict)     # kind -> {id: Problem}

    @classmethod
    def load(cls, store, kind: str, today: date) -> "Snapshot":
        snap = cls(store.config, today)
        needed = {kind} | {f.ref for f in SCHEMAS[kind] if f.ref}
        if kind == "client":
            needed.add("competitor")
        for k in KINDS:
            snap.ids[k] = set()
            snap.records[k] = {}
            snap.broken[k] = {}
            for rid, p in store.iter_files(k):
                snap.ids[k].add(rid)
                if k not in needed:
                    continue
                rec, _lines, problems = store.read_file(k, rid, p)
                errors = [x for x in problems if x.severity == "error"]
                if rec is None or errors:
                    snap.broken[k][rid] = errors[0] if errors else Problem(store.rel(p), None, "cannot be read")
                else:
                    snap.records[k][rid] = rec
        return snap


@dataclass
class Action:
    verb: str                    # create | update | unchanged
    kind: str
    rid: str
    record: dict                 # the record as it will be, with "id"
    line: int | None
    before: dict | None = None   # the record now (update, unchanged)
    change: tuple | None = None  # (typed values, clear, merge) for store.update
    note: str = ""

    @property
    def title(self) -> str:
        return record_title(self.kind, self.record)

    def changed(self) -> list[str]:
        if self.before is None:
            return []
        keys = list(dict.fromkeys([*self.before, *self.record]))
        order = ORDER[self.kind]
        keys.sort(key=lambda k: order.get(k, len(order)))
        return [k for k in keys if k != "id" and self.before.get(k) != self.record.get(k)]


def record_title(kind: str, rec: dict) -> str:
    if kind == "activity":
        parts = [str(rec.get(k)) for k in ("type", "date") if rec.get(k) is not None]
        link = rec.get("client") or rec.get("deal") or rec.get("stakeholder")
        return " ".join(parts + ([link] if link else []))
    return str(rec.get(TITLE_FIELD[kind]) or "")


def apply_change(rec: dict, change: tuple) -> dict:
    """The record with a row's values applied: emptied fields removed, list
    fields of other programs' exports merged, the rest replaced."""
    typed, clear, merge = change
    out = dict(rec)
    for key in clear:
        if key.startswith("fields."):
            custom = dict(out.get("fields") or {})
            custom.pop(key[7:], None)
            if custom:
                out["fields"] = custom
            else:
                out.pop("fields", None)
        else:
            out.pop(key, None)
    for key, value in typed.items():
        if key == "fields" and "fields" not in clear:
            out["fields"] = {**(out.get("fields") or {}), **value}
        elif key in merge and isinstance(value, list):
            out[key] = _dedupe(list(out.get(key) or []) + value)
        else:
            out[key] = value
    return out


def _type_values(kind: str, row: Row, cfg: Config, path: str, problems: list) -> dict:
    """A row's values typed by the schema (references are resolved elsewhere)."""
    typed = {}
    for key, value in row.values.items():
        line = row.lines.get(key)
        fld = FIELDS[kind].get(key)
        bad = _bad_text(value, fld.multiline if fld else True)
        if bad:
            problems.append(_problem(path, line, f"{key}: {bad}"))
            continue
        if fld is None:
            typed[key] = value
            continue
        if fld.type in ("ref", "refs"):
            continue
        if fld.type == "mapping":
            if not isinstance(value, dict):
                problems.append(_problem(path, line, "fields: expected a mapping of custom fields"))
                continue
            custom = type_custom(value, cfg, path, lambda name: line, problems)
            typed[key] = {name: v for name, v in custom.items() if v is not None and v != ""}
            continue
        try:
            v = convert(fld, value)
        except FieldValueError as exc:
            problems.append(_problem(path, line, f"{key}: {exc}"))
            continue
        if v is not None:
            typed[key] = v
    return typed


def _bad_text(value, multiline: bool) -> str | None:
    if isinstance(value, dict):
        return next((b for b in (_bad_text(v, True) for v in value.values()) if b), None)
    if isinstance(value, list):
        return next((b for b in (_bad_text(v, multiline) for v in value) if b), None)
    if not isinstance(value, str):
        return None
    if _BAD_TEXT.search(value):
        return "control characters are not allowed"
    if not multiline and ("\n" in value or "\r" in value):
        return "a line break is not allowed in this field"
    return None


class _Names:
    """Exact-name lookup (case-insensitive, ё = е) over records of one kind."""

    def __init__(self):
        self.by_name: dict[str, list[str]] = {}

    def add(self, name, rid: str) -> None:
        if isinstance(name, str) and name.strip():
            ids = self.by_name.setdefault(fold(name.strip()), [])
            if rid not in ids:
                ids.append(rid)

    def get(self, name: str) -> list[str]:
        return self.by_name.get(fold(name.strip()), [])


def plan_import(kind: str, rows: list[Row], snap: Snapshot, path: str) -> tuple[list[Action], list[Problem]]:
    """Decide, for every row, what to write; nothing is written here."""
    cfg = snap.cfg
    problems: list[Problem] = []
    for row in rows:
        problems.extend(row.problems)
    for rid, p in sorted(snap.broken[kind].items()):
        problems.append(Problem(p.path, p.line, f"{p.message} -- this {kind} cannot be read, so no row can be "
                                "matched to it", "fix it first (crm check), or a row may add it a second time",
                                severity="warning"))
    title_field = TITLE_FIELD[kind]
    existing = snap.records[kind]
    names = {k: _Names() for k in KINDS}
    for k in KINDS:
        if k == "activity":
            continue
        for rid, rec in snap.records[k].items():
            names[k].add(rec.get(TITLE_FIELD[k]), rid)
    emails: dict[str, list[str]] = {}
    if kind == "client":
        for rid, rec in existing.items():
            for e in rec.get("emails") or []:
                emails.setdefault(fold(e.strip()), []).append(rid)

    def resolve(ref_kind: str, text, line: int, key: str, file_names: _Names | None = None,
                file_ids: set | None = None) -> str | None:
        if not isinstance(text, str):
            problems.append(_problem(path, line, f"{key}: expected text"))
            return None
        text = text.strip()
        if ID_RE.match(text) and (text in snap.ids[ref_kind] or (file_ids and text in file_ids)):
            return text
        hits = list(names[ref_kind].get(text)) if ref_kind != "activity" else []
        if file_names is not None:
            hits = list(dict.fromkeys(hits + file_names.get(text)))
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            problems.append(_problem(path, line, f"{key}: {ref_kind} name {text!r} is ambiguous: it matches "
                                     + ", ".join(sorted(hits)), "give the id instead"))
            return None
        problems.append(_problem(path, line, f"{key}: no {ref_kind} with id or name {text!r}"))
        return None

    # 1. type each row and resolve its references to other kinds
    typed_rows: list[dict] = []
    for row in rows:
        typed = _type_values(kind, row, cfg, path, problems)
        for fld in SCHEMAS[kind]:
            if fld.ref is None or fld.name not in row.values or fld.ref == kind:
                continue
            typed.update(_resolve_field(fld, row, resolve, None, None))
        typed_rows.append(typed)

    # 2. match each row to an existing record, or give it an id
    claimed: dict[str, int] = {}
    planned_ids: set = set()
    targets: list[tuple[str | None, str | None]] = []   # (id to write, existing id or None)
    for row, typed in zip(rows, typed_rows):
        rid, how, ok = _match(kind, row, typed, snap, names, emails, path, problems)
        if rid is not None and rid in snap.broken[kind]:
            p = snap.broken[kind][rid]
            problems.append(_problem(path, row.line, f"{kind} {rid} is in the folder but cannot be read "
                                     f"({p.render()}); fix it first"))
            ok = False
        if rid is not None and rid in claimed:
            problems.append(_problem(path, row.line, f"the same {kind} ({rid}) as on line {claimed[rid]}"
                                     + (f", matched by {how}" if how != "id" else ""),
                                     "a file may name each record once"))
            ok = False
        if not ok:
            targets.append((None, None))
            continue
        if rid is None:
            title = typed.get(title_field)
            if kind == "activity":
                title = f"{typed.get('type') or 'activity'} " \
                        f"{typed.get('client') or typed.get('deal') or typed.get('stakeholder') or ''}"
            while True:
                rid = new_id(str(title or kind), fallback=kind)
                if rid not in snap.ids[kind] and rid not in planned_ids and rid not in claimed:
                    break
        claimed[rid] = row.line
        planned_ids.add(rid)
        targets.append((rid, rid if rid in existing else None))

    # 3. references within the file's own kind (a person's org), and ORG names
    file_names = _Names()
    for (rid, old), row, typed in zip(targets, rows, typed_rows):
        if rid:
            file_names.add(typed.get(title_field) or (existing.get(old) or {}).get(title_field), rid)
    auto_orgs: dict[str, Action] = {}
    for (rid, old), row, typed in zip(targets, rows, typed_rows):
        for fld in SCHEMAS[kind]:
            if fld.ref == kind and fld.name in row.values:
                typed.update(_resolve_field(fld, row, resolve, file_names, planned_ids))
        if row.org_name and kind == "client":
            org = _org_for(row, rid, file_names, names["client"], snap, auto_orgs, planned_ids, path, problems)
            if org:
                typed["org"] = org

    # 4. the records as they will be
    actions: list[Action] = list(auto_orgs.values())
    for (rid, old), row, typed in zip(targets, rows, typed_rows):
        if rid is None:
            continue
        change = (typed, set(row.clear), set(row.merge))
        if old is not None:
            before = existing[old]
            if kind == "client" and typed.get("kind") == "organization" and "kind" not in before:
                del typed["kind"]   # no kind is an organization already: nothing to write
            after = apply_change(before, change)
            verb = "unchanged" if after == before else "update"
            actions.append(Action(verb, kind, rid, after, row.line, before, change))
        else:
            rec = apply_change({"id": rid}, change)
            if row.rid is None:  # a new contact, not a record crm exported: defaults as `add` gives them
                if "created" in FIELDS[kind] and "created" not in rec:
                    rec["created"] = snap.today
                if kind == "deal" and "stage" not in rec and "stage" not in row.clear:
                    rec["stage"] = cfg.pipeline[0]
            actions.append(Action("create", kind, rid, rec, row.line, None, change))
        for fld in SCHEMAS[kind]:
            if fld.required and actions[-1].record.get(fld.name) in (None, ""):
                if not any(p.line == row.line and p.message.startswith(f"{fld.name}:") for p in problems):
                    problems.append(_problem(path, row.lines.get(fld.name),
                                             f"required field {fld.name!r} is missing"))

    # 5. the checks of `crm check` on every record the import would write
    problems += _check(kind, actions, rows, snap, path)
    problems.sort(key=lambda p: (p.path != path, p.line or 0))
    return actions, problems


def _resolve_field(fld, row: Row, resolve, file_names, file_ids) -> dict:
    value = row.values[fld.name]
    line = row.lines.get(fld.name)
    if fld.type == "ref":
        rid = resolve(fld.ref, value, line, fld.name, file_names, file_ids)
        return {fld.name: rid} if rid else {}
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        rid = resolve(fld.ref, item, line, fld.name, file_names, file_ids)
        if rid and rid not in out:
            out.append(rid)
    return {fld.name: out} if len(out) == len(items) or out else {}


def _match(kind: str, row: Row, typed: dict, snap: Snapshot, names: dict, emails: dict, path: str,
           problems: list) -> tuple[str | None, str | None, bool]:
    """The id a row writes to (its id column, else an existing record found by
    e-mail (clients) or exact name; None for a new record), how it was
    found, and False when the row cannot be placed (a problem says why)."""
    existing = snap.records[kind]
    if row.rid is not None:
        if not ID_RE.match(row.rid) or row.rid in (".", ".."):
            problems.append(_problem(path, row.line, f"id: {row.rid!r} is not a valid id",
                                     "ids are lower-case letters, digits, '.', '_', '-' (at most 80)"))
            return None, None, False
        return row.rid, "id", True
    if kind == "client":
        hits = []
        for e in typed.get("emails") or []:
            for rid in emails.get(fold(e.strip()), []):
                if rid not in hits:
                    hits.append(rid)
        if len(hits) == 1:
            return hits[0], "e-mail", True
        if len(hits) > 1:
            problems.append(_problem(path, row.line, "its e-mails match several clients: " + ", ".join(sorted(hits)),
                                     "add an id column to say which"))
            return None, None, False
    if kind == "activity":
        key = _activity_key(typed)
        hits = [rid for rid, rec in existing.items() if _activity_key(rec) == key]
    elif kind == "deal":
        title, client = typed.get("title"), typed.get("client")
        hits = [rid for rid in names["deal"].get(title)
                if existing.get(rid, {}).get("client") == client] if isinstance(title, str) and client else []
    else:
        name = typed.get(TITLE_FIELD[kind])
        hits = names[kind].get(name) if isinstance(name, str) else []
        hits = [h for h in hits if h in existing]
    if len(hits) == 1:
        return hits[0], "name", True
    if len(hits) > 1:
        problems.append(_problem(path, row.line, f"it matches several {FOLDERS[kind]} by name: "
                                 + ", ".join(sorted(hits)), "add an id column to say which"))
        return None, None, False
    return None, None, True


def _activity_key(rec: dict) -> tuple:
    comment = rec.get("comment")
    return (rec.get("client"), rec.get("deal"), rec.get("stakeholder"), rec.get("type"),
            str(rec.get("date")), fold(comment.strip()) if isinstance(comment, str) else None)


def _org_for(row: Row, rid: str | None, file_names: _Names, client_names: _Names, snap: Snapshot,
             auto_orgs: dict, planned_ids: set, path: str, problems: list) -> str | None:
    """The organization a person's ORG / Company names: a client of that exact
    name in the file or the folder, else a new organization client."""
    name = row.org_name.strip()
    hits = [h for h in file_names.get(name) if h != rid]
    if not hits:
        hits = client_names.get(name)
        if len(hits) > 1:
            orgs = [h for h in hits if snap.records["client"].get(h, {}).get("kind", "organization") == "organization"]
            hits = orgs or hits
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        problems.append(_problem(path, row.line, f"organization {name!r} is ambiguous: it matches "
                                 + ", ".join(sorted(hits)), "give the org id in an org column"))
        return None
    key = fold(name)
    if key not in auto_orgs:
        while True:
            cand = new_id(name, fallback="client")
            if cand not in snap.ids["client"] and cand not in planned_ids:
                break
        planned_ids.add(cand)
        rec = {"id": cand, "name": name, "kind": "organization", "created": snap.today}
        auto_orgs[key] = Action("create", "client", cand, rec, row.line, note=f"organization of line {row.line}")
    return auto_orgs[key].rid


def _check(kind: str, actions: list[Action], rows: list[Row], snap: Snapshot, path: str) -> list[Problem]:
    from crmcli.validate import check_records
    lines_of = {row.line: row.lines for row in rows}
    written = {a.rid for a in actions if a.kind == kind}
    items: dict[str, list] = {}
    for k in KINDS:
        items[k] = [({"id": rid}, {}, "") for rid in sorted(snap.ids[k]) if not (k == kind and rid in written)]
    for a in actions:
        items[a.kind].append((a.record, lines_of.get(a.line) or RowLines(a.line or 0), path))
    return [p for p in check_records(items, snap.cfg) if p.path == path]


def apply_actions(store, actions: list[Action]) -> list[Action]:
    """Write the planned actions under the folder's lock; returns those written."""
    done = []
    with store.locked():
        for a in actions:
            if a.verb == "create":
                store.create(a.kind, {k: v for k, v in a.record.items() if k != "id"}, rid=a.rid)
            elif a.verb == "update":
                store.update(a.kind, a.rid, lambda rec, change=a.change: apply_change(rec, change))
            else:
                continue
            done.append(a)
    return done


def parse_maps(items: list[str] | None) -> dict[str, str]:
    """``--map COLUMN=FIELD`` options (the last ``=`` splits) as a dict."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--map: expected COLUMN=FIELD, got {item!r}")
        col, target = item.rsplit("=", 1)
        col, target = col.strip(), target.strip()
        if not col or not target:
            raise ValueError(f"--map: expected COLUMN=FIELD, got {item!r}")
        out[col] = target
    return out


def kind_of(word: str) -> str | None:
    """``client`` or ``clients`` -> client."""
    w = word.strip().lower()
    if w in KINDS:
        return w
    return KIND_OF_FOLDER.get(w)


# ====================================================================== export
def csv_columns(kind: str, records: list[dict], cfg: Config) -> list[str]:
    """id, every field of the type in canonical order (custom fields as
    fields.NAME: crm.yaml's first), then keys the schema does not know."""
    cols = ["id"]
    custom = list(cfg.fields) if kind == "client" else []
    extra: list[str] = []
    for rec in records:
        for name in rec.get("fields") or {}:
            if name not in custom:
                custom.append(name)
        for key in rec:
            if key != "id" and key not in FIELDS[kind] and key not in extra:
                extra.append(key)
    for fld in SCHEMAS[kind]:
        if fld.type == "mapping":
            cols += [f"fields.{n}" for n in custom]
        else:
            cols.append(fld.name)
    return cols + extra


def csv_value(value) -> str:
    """One typed value as CSV cell text (before spreadsheet escaping)."""
    if value is None:
        return ""
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            return join_list(value)
        return json.dumps(json_value(value), ensure_ascii=False) if value else ""
    if isinstance(value, dict):
        return json.dumps(json_value(value), ensure_ascii=False)
    if isinstance(value, (date, bool)) or not isinstance(value, str):
        from crmcli.codec import scalar_text
        return scalar_text(value)
    return value


def records_to_csv(kind: str, records: list[dict], cfg: Config, derived: dict | None = None) -> str:
    """CSV with a header row of field names; safe to open in a spreadsheet.

    ``derived`` maps a column name (``status``) to {id: value}, added last.
    """
    from crmcli.render import to_csv
    cols = csv_columns(kind, records, cfg)
    extra_cols = list(derived or {})
    rows = []
    for rec in records:
        row = []
        for col in cols:
            if col.startswith("fields.") and "fields" in FIELDS[kind]:
                value = (rec.get("fields") or {}).get(col[7:])
            else:
                value = rec.get(col)
            row.append(escape_cell(csv_value(value)))
        row += [derived[c].get(rec["id"]) for c in extra_cols]
        rows.append(row)
    # cells were escaped above; to_csv(spreadsheet=True) would leave them as they are
    return to_csv(cols + extra_cols, rows)


def records_to_objects(records: list[dict], derived: dict | None = None) -> list[dict]:
    out = []
    for rec in records:
        obj = to_json(rec)
        for col, values in (derived or {}).items():
            obj[col] = values.get(rec["id"])
        out.append(obj)
    return out


def clients_to_vcard(clients: list[dict], all_clients: dict[str, dict] | None = None) -> str:
    """vCard 3.0 of clients (FN, N, ORG, EMAIL, TEL, ADR, BDAY, CATEGORIES, NOTE,
    UID and X-CRM-ID), CRLF line ends, folded at 75 octets."""
    import vobject
    from vobject.vcard import Address, Name
    all_clients = all_clients if all_clients is not None else {c["id"]: c for c in clients}
    out = []
    with _QuietVobject():
        for rec in clients:
            card = vobject.vCard()
            name = str(rec.get("name") or rec["id"])
            is_org = rec.get("kind", "organization") == "organization"
            card.add("fn").value = name
            if is_org:
                card.add("n").value = Name()
                card.add("org").value = [name]
                card.add("x-abshowas").value = "COMPANY"
            else:
                words = name.split()
                card.add("n").value = Name(family=words[-1] if len(words) > 1 else "",
                                           given=" ".join(words[:-1]) if len(words) > 1 else name)
                org = all_clients.get(rec.get("org") or "")
                if org and org.get("name"):
                    card.add("org").value = [str(org["name"])]
            for e in rec.get("emails") or []:
                prop = card.add("email")
                prop.value = e
                prop.type_param = "INTERNET"
            for p in rec.get("phones") or []:
                prop = card.add("tel")
                prop.value = p
                prop.type_param = "VOICE"
            if rec.get("address"):
                card.add("adr").value = Address(street=str(rec["address"]))
            if rec.get("birthday"):
                card.add("bday").value = rec["birthday"].isoformat()
            if rec.get("tags"):
                card.add("categories").value = list(rec["tags"])
            if rec.get("notes"):
                card.add("note").value = str(rec["notes"])
            card.add("uid").value = rec["id"]
            card.add("x-crm-id").value = rec["id"]
            out.append(card.serialize())
    return "".join(out)
