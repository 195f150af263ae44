"""Raw (all-text) record data <-> typed records, and records as JSON objects."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from crmcli.config import Config
from crmcli.errors import Problem
from crmcli.schema import FIELDS, SCHEMAS, FieldValueError, convert, convert_custom


@dataclass
class Dataset:
    """The records of a data folder, each a dict with ``id`` and its typed fields."""

    clients: list[dict] = field(default_factory=list)
    deals: list[dict] = field(default_factory=list)
    activities: list[dict] = field(default_factory=list)
    stakeholders: list[dict] = field(default_factory=list)
    competitors: list[dict] = field(default_factory=list)
    # the types loaded as columns instead (``Store.load_all(columns=...)``)
    columns: dict = field(default_factory=dict)

    def of(self, kind: str) -> list[dict]:
        from crmcli.schema import FOLDERS
        return getattr(self, FOLDERS[kind])

    def columns_of(self, kind: str, fields, cfg: Config | None = None) -> "Columns":
        """The records of ``kind`` as columns: those loaded so, or made from
        the records (``cfg``: for derived fields, see ``derived``)."""
        cols = self.columns.get(kind)
        if cols is not None:
            return cols
        return Columns.of_records(self.of(kind), fields, derived(kind, cfg) if cfg is not None else None)


def derived(kind: str, cfg: Config):
    """The fields worked out from one record and crm.yaml that the index
    keeps beside the record's own, named ``@...``, as a function record ->
    {name: value}; None for a type that has none.  Deals: ``@created``,
    ``@closed``, ``@won_on`` and the stages entered, ``@entries``
    (``reports.common.deal_stages``), the day
    the deal entered its stage as ``remind`` takes it (``@entered``,
    ``reminders.stage_entered``) and the day it was won as client status
    takes it (``@won_day``, ``query.won_day``): so a command that needs only
    those dates does not load every deal's history."""
    if kind == "deal":
        from crmcli.query import won_day
        from crmcli.reminders import stage_entered
        from crmcli.reports.common import deal_stages
        won, lost = cfg.won_stage, cfg.lost_stage

        def deal_dates(deal: dict) -> dict:
            entries, created, closed, won_on = deal_stages(deal, won, lost)
            return {"@created": created, "@closed": closed, "@won_on": won_on, "@entries": tuple(entries),
                    "@entered": stage_entered(deal), "@won_day": won_day(deal, won)}
        return deal_dates
    return None


class Columns:
    """Records of one type as columns: ``cols[name][i]`` is the value of
    field ``name`` in the i-th record (None where the record has no such
    field); ``id`` is a field like the others (ask for it to get it).
    Commands that walk every activity read them so: taking a few fields of a
    million records from the index builds no dict per record.  The order of
    the records is not defined.  ``token``: the index generation these are
    exactly, with nothing changed since (``cache.Memo``); else None."""

    __slots__ = ("cols", "n", "token")

    def __init__(self, cols: dict, n: int, token: str | None = None):
        self.cols, self.n, self.token = cols, n, token

    @classmethod
    def of_records(cls, records, fields, derive=None) -> "Columns":
        """Columns of ``fields`` of ``records``; the derived ones (``@...``)
        worked out by ``derive`` (see ``derived``)."""
        cols = {name: [r.get(name) for r in records] for name in dict.fromkeys(fields)}
        extra = [name for name in cols if name.startswith("@")]
        if extra:
            if derive is None:
                raise ValueError(f"derived fields without a way to work them out: {extra}")
            more = [derive(r) for r in records]
            for name in extra:
                cols[name] = [m.get(name) for m in more]
        return cls(cols, len(records))

    def records(self, rows=None) -> list[dict]:
        """The records again, with just these fields (None where absent);
        with ``rows``, only the records at those places."""
        names = tuple(self.cols)
        if rows is None:
            return [dict(zip(names, row)) for row in zip(*self.cols.values())]
        cols = tuple(self.cols.values())
        return [dict(zip(names, [col[i] for col in cols])) for i in rows]

    def __getitem__(self, name: str) -> list:
        col = self.cols.get(name)
        return col if col is not None else [None] * self.n

    def __len__(self) -> int:
        return self.n


def type_record(kind: str, rid: str, raw: dict, lines: dict, cfg: Config,
                path: str) -> tuple[dict, list[Problem]]:
    """Type a record's raw mapping by its schema.

    Returns ``(record, problems)``: the record is ``{"id": rid, **fields}``
    with typed values (unknown keys kept as they are); a problem of severity
    ``error`` means the record cannot be trusted.
    """
    fields = FIELDS[kind]
    rec: dict = {"id": rid}
    problems: list[Problem] = []
    for key, value in raw.items():
        line = lines.get((key,))
        if key == "id":
            if value == rid:
                problems.append(Problem(path, line, "the id: key repeats the file name; it can be removed",
                                        severity="warning"))
            else:
                problems.append(Problem(path, line, f"id: {value!r} disagrees with the file name ({rid!r})",
                                        "a record's id is its file name; remove the id: key or rename the file"))
            continue
        fld = fields.get(key)
        if fld is None:
            import difflib
            close = difflib.get_close_matches(key, list(fields), n=1)
            problems.append(Problem(path, line, f"unknown field {key!r}",
                                    f"did you mean {close[0]!r}?" if close else None, severity="warning"))
            rec[key] = value
            continue
        try:
            typed = convert(fld, value)
        except FieldValueError as exc:
            problems.append(Problem(path, line, f"{key}: {exc}"))
            continue
        if fld.type == "mapping" and typed:
            typed = type_custom(typed, cfg, path, lambda name: lines.get(("fields", name)), problems)
        if typed is not None:
            rec[key] = typed
    for fld in SCHEMAS[kind]:
        if fld.required and rec.get(fld.name) in (None, ""):
            problems.append(Problem(path, lines.get((fld.name,)) or 1, f"required field {fld.name!r} is missing"))
    return rec, problems


def type_custom(values: dict, cfg: Config, path: str, line_of, problems: list) -> dict:
    """Custom fields typed by crm.yaml ``fields`` (undeclared ones stay text);
    a value that breaks its type is a problem at ``line_of(name)``."""
    out = {}
    for name, value in values.items():
        spec = cfg.fields.get(name)
        if spec is None:
            out[name] = value
            continue
        try:
            v = convert_custom(spec, value)
        except FieldValueError as exc:
            problems.append(Problem(path, line_of(name), f"fields.{name}: {exc}"))
            continue
        if v is not None:
            out[name] = v
    return out


def to_raw(value):
    """A typed value as the text the file holds (used to compare and to write)."""
    if isinstance(value, dict):
        return {k: to_raw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_raw(v) for v in value]
    if value is None or isinstance(value, str):
        return value
    from crmcli.codec import scalar_text
    return scalar_text(value)


def canonical(kind: str, rec: dict) -> dict:
    """A record's stored fields in canonical order (unknown keys last), no id."""
    out = {}
    for fld in SCHEMAS[kind]:
        if fld.name in rec:
            out[fld.name] = rec[fld.name]
    for key, value in rec.items():
        if key != "id" and key not in out:
            out[key] = value
    return out


def json_value(value):
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M" if not value.second else "%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 10**15 else float(value)
    return value


def to_json(rec: dict) -> dict:
    """A record as a JSON object: id first, then its stored fields."""
    return {k: json_value(v) for k, v in rec.items()}
