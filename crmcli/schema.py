"""The record types of contract section 2: their fields, in canonical order, and
how each field's text is read.

Every scalar arrives here as text (or ``None`` for a plain YAML null); the
declared type decides what it means, so ``0123`` stays a string and
``"1500"`` is the same number as ``1500``.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

KINDS = ("client", "deal", "activity", "stakeholder", "competitor")
FOLDERS = {"client": "clients", "deal": "deals", "activity": "activities",
           "stakeholder": "stakeholders", "competitor": "competitors"}
KIND_OF_FOLDER = {v: k for k, v in FOLDERS.items()}

ID_RE = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,79}\Z")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")
DECIMAL_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
INT_RE = re.compile(r"^[+-]?\d+$")
TRUE = {"true", "yes", "on"}
FALSE = {"false", "no", "off"}

ACTIVITY_STATUSES = ("planned", "done", "cancelled", "open", "resolved")
STAKEHOLDER_STATUSES = ("partner", "client", "moderator", "lobbyist")
CLIENT_KINDS = ("person", "organization")


class Field:
    """One field of a record type.

    ``type`` is one of: text, date, datetime (a date or a date-time), decimal,
    integer, bool, list (of text), ref (an id of ``ref``), refs (a list of
    them), owner, stage, enum (``values``), activity_type, currency, history,
    actions, mapping (custom fields).  ``cli``: offered as --FIELD on add/edit.
    """

    __slots__ = ("name", "type", "required", "ref", "values", "multiline", "cli")

    def __init__(self, name: str, type: str = "text", required: bool = False, ref: str | None = None,
                 values: tuple[str, ...] = (), multiline: bool = False, cli: bool = True):
        self.name, self.type, self.required, self.ref = name, type, required, ref
        self.values, self.multiline, self.cli = values, multiline, cli

    def __repr__(self):
        return f"Field({self.name!r}, {self.type!r})"


def _f(name, type="text", **kw):
    return Field(name, type, **kw)


SCHEMAS: dict[str, tuple[Field, ...]] = {
    "client": (
        _f("name", required=True), _f("kind", "enum", values=CLIENT_KINDS),
        _f("org", "ref", ref="client"), _f("owner", "owner"),
        _f("emails", "list"), _f("phones", "list"), _f("address", multiline=True),
        _f("tags", "list"), _f("source"), _f("birthday", "date"),
        _f("competitors", "refs", ref="competitor"), _f("opt_out", "bool"),
        _f("created", "date"), _f("fields", "mapping", cli=False),
        _f("notes", multiline=True),
    ),
    "deal": (
        _f("title", required=True), _f("client", "ref", required=True, ref="client"),
        _f("owner", "owner"), _f("amount", "decimal"), _f("currency", "currency"),
        _f("stage", "stage", required=True), _f("history", "history", cli=False),
        _f("created", "date"), _f("expected_close", "date"), _f("source"),
        _f("product"), _f("quantity", "decimal"), _f("unit_price", "decimal"),
        _f("competitors", "refs", ref="competitor"), _f("lost_reason"),
        _f("lost_to", "ref", ref="competitor"), _f("notes", multiline=True),
    ),
    "activity": (
        _f("client", "ref", ref="client"), _f("deal", "ref", ref="deal"),
        _f("stakeholder", "ref", ref="stakeholder"), _f("type", "activity_type"),
        _f("status", "enum", values=ACTIVITY_STATUSES), _f("date", "datetime"),
        _f("from", "datetime"), _f("to", "datetime"), _f("minutes", "integer"),
        _f("owner", "owner"), _f("assigned_by", "owner"),
        _f("comment", multiline=True), _f("note", multiline=True), _f("next", "date"),
    ),
    "stakeholder": (
        _f("name", required=True), _f("group"), _f("subgroup"),
        _f("status", "enum", values=STAKEHOLDER_STATUSES), _f("goal", multiline=True),
        _f("target_date", "date"), _f("achieved", "date"),
        _f("client", "ref", ref="client"), _f("owner", "owner"),
        _f("actions", "actions", cli=False), _f("notes", multiline=True),
    ),
    "competitor": (
        _f("name", required=True), _f("website"), _f("strengths", multiline=True),
        _f("weaknesses", multiline=True), _f("prices", multiline=True),
        _f("notes", multiline=True),
    ),
}

FIELDS: dict[str, dict[str, Field]] = {k: {f.name: f for f in v} for k, v in SCHEMAS.items()}
ORDER: dict[str, dict[str, int]] = {k: {f.name: i for i, f in enumerate(v)} for k, v in SCHEMAS.items()}
TITLE_FIELD = {"client": "name", "deal": "title", "activity": "comment",
               "stakeholder": "name", "competitor": "name"}

ACTION_KEYS = ("name", "plan", "fact", "responsible", "resource")
HISTORY_KEYS = ("stage", "date")
CUSTOM_TYPES = ("text", "integer", "decimal", "date", "bool", "choice")


class FieldValueError(ValueError):
    """A value that breaks its field's declared type."""


def parse_date(text: str) -> date:
    text = str(text).strip()
    if not DATE_RE.match(text):
        raise FieldValueError(f"{text!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldValueError(f"{text!r} is not a valid date") from None


def parse_datetime(text: str) -> date | datetime:
    text = str(text).strip()
    if DATE_RE.match(text):
        return parse_date(text)
    if not DATETIME_RE.match(text):
        raise FieldValueError(f"{text!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM)")
    try:
        return datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise FieldValueError(f"{text!r} is not a valid date-time") from None


def parse_decimal(text: str) -> Decimal:
    s = str(text).strip().replace("_", "")
    if not DECIMAL_RE.match(s):
        raise FieldValueError(f"{text!r} is not a number")
    try:
        return Decimal(s)
    except InvalidOperation:
        raise FieldValueError(f"{text!r} is not a number") from None


def parse_int(text: str) -> int:
    s = str(text).strip()
    if not INT_RE.match(s):
        raise FieldValueError(f"{text!r} is not a whole number")
    return int(s)


def parse_bool(text: str) -> bool:
    s = str(text).strip().lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    raise FieldValueError(f"{text!r} is not true or false")


def _scalar(value, what: str) -> str:
    if isinstance(value, (list, dict)):
        raise FieldValueError(f"expected {what}, found a {'list' if isinstance(value, list) else 'mapping'}")
    return value


def convert(fld: Field, value):
    """Type one stored value by its field; raises FieldValueError."""
    if value is None:
        return None
    t = fld.type
    if t in ("list", "refs"):
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise FieldValueError("expected a list")
        out = []
        for item in value:
            if item is None:
                continue
            if not isinstance(item, str):
                raise FieldValueError("expected a list of text items")
            out.append(item)
        return out
    if t == "history":
        if not isinstance(value, list):
            raise FieldValueError("expected a list of {stage, date}")
        out = []
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("stage"), str):
                raise FieldValueError("each history entry needs a stage and a date")
            if item.get("date") is None:
                raise FieldValueError(f"history entry {item.get('stage')!r} has no date")
            out.append({"stage": item["stage"], "date": parse_date(_scalar(item["date"], "a date"))})
        return out
    if t == "actions":
        if not isinstance(value, list):
            raise FieldValueError("expected a list of actions {name, plan, fact, responsible, resource}")
        out = []
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise FieldValueError("each action needs a name")
            act = {"name": item["name"]}
            for key in ("plan", "fact"):
                v = item.get(key)
                act[key] = parse_date(_scalar(v, "a date")) if v is not None else None
            for key in ("responsible", "resource"):
                v = item.get(key)
                act[key] = _scalar(v, "text") if v is not None else None
            for key, v in item.items():  # keep unknown keys of an action
                if key not in act:
                    act[key] = v
            out.append(act)
        return out
    if t == "mapping":
        if not isinstance(value, dict):
            raise FieldValueError("expected a mapping of custom fields")
        return dict(value)
    value = _scalar(value, "a single value")
    if t == "date":
        return parse_date(value)
    if t == "datetime":
        return parse_datetime(value)
    if t == "decimal":
        return parse_decimal(value)
    if t == "integer":
        return parse_int(value)
    if t == "bool":
        return parse_bool(value)
    if t == "enum" and value not in fld.values:
        raise FieldValueError(f"{value!r} is not one of: {', '.join(fld.values)}")
    if t in ("ref", "owner") and not ID_RE.match(value):
        raise FieldValueError(f"{value!r} is not a valid id")
    return value


def convert_custom(spec: dict, value):
    """Type a custom field value by its crm.yaml ``fields`` declaration."""
    if value is None:
        return None
    t = spec.get("type", "text")
    if isinstance(value, (list, dict)):
        if t == "text":
            return value
        raise FieldValueError(f"expected a single {t} value")
    if t == "integer":
        return parse_int(value)
    if t == "decimal":
        return parse_decimal(value)
    if t == "date":
        return parse_date(value)
    if t == "bool":
        return parse_bool(value)
    if t == "choice":
        values = [str(v) for v in spec.get("values") or []]
        if value not in values:
            raise FieldValueError(f"{value!r} is not one of: {', '.join(values)}")
    return value
