"""The record commands every type shares: add, list, show, edit, rm.

``add`` and ``edit`` offer an option ``--FIELD`` for each plain field of the
type's schema (underscores as dashes, singular and repeatable for lists), so
the options always match contract section 2.
"""

import inspect
import re
import unicodedata
from typing import Callable, List, Optional

import typer

from crmcli.cli import common
from crmcli.errors import CrmError, UsageError
from crmcli.schema import FIELDS, SCHEMAS, TITLE_FIELD, Field

_BAD_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\ud800-\udfff]")
_LIST_OPTION = {"emails": "email", "phones": "phone", "tags": "tag", "competitors": "competitor"}

LIST_COLUMNS = {
    "client": ["id", "name", "kind", "status", "owner", "phones", "emails", "tags"],
    "deal": ["id", "title", "client", "stage", "amount", "currency", "owner", "expected_close"],
    "activity": ["id", "date", "type", "status", "client", "owner", "comment"],
    "stakeholder": ["id", "name", "status", "group", "goal", "target_date", "owner"],
    "competitor": ["id", "name", "website"],
}


def article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def option_name(fld: Field) -> str:
    return "--" + _LIST_OPTION.get(fld.name, fld.name).replace("_", "-")


def clean_text(text: str, multiline: bool, option: str) -> str:
    if _BAD_TEXT.search(text) or (not multiline and ("\n" in text or "\t" in text)):
        raise CrmError(f"{option}: control characters are not allowed in this value")
    return unicodedata.normalize("NFC", text)


def cli_value(kind: str, fld: Field, text: str, option: str, usage: bool = True):
    """One command-line value typed and checked by its field."""
    from crmcli.schema import FieldValueError, convert
    t = fld.type
    if t in ("date", "datetime", "decimal", "integer", "bool"):
        try:
            return convert(fld, text.strip())
        except FieldValueError as exc:
            raise (UsageError if usage else CrmError)(f"{option}: {exc}") from None
    text = clean_text(text, fld.multiline, option)
    if t == "owner":
        return common.check_owner(text, option)
    if t == "stage":
        return common.check_stage(text, option)
    if t == "activity_type":
        return common.check_activity_type(text, option)
    if t == "currency":
        return common.check_currency(text)
    if t == "enum":
        if text not in fld.values:
            raise CrmError(f"{option}: {text!r} is not one of: {', '.join(fld.values)}")
        return text
    if t == "ref":
        return common.resolve(fld.ref, text)
    if t == "refs":
        return common.resolve(fld.ref, text)
    return text


FEEDBACK_TYPES = ("complaint", "feedback")


def check_activity_status(rec: dict) -> None:
    """open and resolved are statuses of complaints and feedback only."""
    if rec.get("status") in ("open", "resolved") and rec.get("type") not in FEEDBACK_TYPES:
        raise CrmError(f"--status: {rec['status']!r} is for complaints and feedback only "
                       f"(use planned, done or cancelled for a {rec.get('type') or 'note'})")


def custom_value(name: str, text: str, option: str):
    from crmcli.schema import FieldValueError, convert_custom
    spec = common.store().config.fields.get(name)
    text = clean_text(text, True, option)
    if spec is None:
        return text
    try:
        return convert_custom(spec, text)
    except FieldValueError as exc:
        raise CrmError(f"{option}: fields.{name}: {exc}") from None


def apply_set(kind: str, rec: dict, assignment: str) -> None:
    """``--set KEY=VALUE`` by dotted path, typed by the field's declared type."""
    if "=" not in assignment:
        raise UsageError(f"--set: expected KEY=VALUE, got {assignment!r}")
    key, value = assignment.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if parts[0] == "fields" and len(parts) == 2 and parts[1]:
        fields = dict(rec.get("fields") or {})
        fields[parts[1]] = custom_value(parts[1], value, "--set")
        rec["fields"] = fields
        return
    fld = FIELDS[kind].get(key)
    if fld is None or len(parts) != 1:
        raise CrmError(f"--set: {key!r} is not a field of {article(kind)}",
                       hint=f"fields: {', '.join(FIELDS[kind])}; custom fields as fields.NAME")
    if fld.type in ("history", "actions", "mapping"):
        raise CrmError(f"--set: {key} cannot be set this way")
    if fld.type in ("list", "refs"):
        rec[key] = [cli_value(kind, fld, v, "--set", usage=False) for v in value.split(",") if v.strip()] \
            if value.strip() else []
        return
    rec[key] = cli_value(kind, fld, value, "--set", usage=False) if value != "" else None


def apply_unset(kind: str, rec: dict, key: str) -> None:
    parts = key.split(".")
    if parts[0] == "fields" and len(parts) == 2:
        fields = dict(rec.get("fields") or {})
        fields.pop(parts[1], None)
        rec["fields"] = fields
        return
    fld = FIELDS[kind].get(key)
    if fld is None and key not in rec:
        raise CrmError(f"--unset: {key!r} is not a field of {article(kind)}")
    if fld is not None and fld.required:
        raise CrmError(f"--unset: {key} is required")
    rec.pop(key, None)


def plain_fields(kind: str, skip: tuple[str, ...] = ()) -> list[Field]:
    return [f for f in SCHEMAS[kind] if f.cli and f.name not in skip]


def _param(name: str, default, annotation, *decls, help: str = "", metavar: str | None = None):
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                             default=typer.Option(default, *decls, help=help, metavar=metavar,
                                                  show_default=False),
                             annotation=annotation)


def field_params(kind: str, skip: tuple[str, ...], edit: bool) -> list[inspect.Parameter]:
    params = []
    for fld in plain_fields(kind, skip):
        opt = option_name(fld)
        if fld.type in ("list", "refs"):
            params.append(_param(f"f_{fld.name}", None, Optional[List[str]], opt,
                                 help=f"{fld.name} (repeatable)" + ("; replaces the list" if edit else ""),
                                 metavar="TEXT"))
            if edit:
                single = opt[2:]
                params.append(_param(f"add_{fld.name}", None, Optional[List[str]], f"--add-{single}",
                                     help=f"add to {fld.name} (repeatable)", metavar="TEXT"))
                params.append(_param(f"remove_{fld.name}", None, Optional[List[str]], f"--remove-{single}",
                                     help=f"remove from {fld.name} (repeatable)", metavar="TEXT"))
        elif fld.type == "bool":
            params.append(_param(f"f_{fld.name}", None, Optional[bool], f"{opt}/--no-{opt[2:]}",
                                 help=fld.name))
        else:
            params.append(_param(f"f_{fld.name}", None, Optional[str], opt, help=fld.name,
                                 metavar=_METAVAR.get(fld.type, "TEXT")))
    params.append(_param("set_", None, Optional[List[str]], "--set",
                         help="KEY=VALUE by dotted path, e.g. fields.psychotype=diplomat (repeatable)",
                         metavar="KEY=VALUE"))
    if edit:
        params.append(_param("unset", None, Optional[List[str]], "--unset", help="remove a field (repeatable)",
                             metavar="KEY"))
    return params


_METAVAR = {"date": "DATE", "datetime": "DATE", "decimal": "NUMBER", "integer": "N", "owner": "OWNER",
            "stage": "STAGE", "ref": "ID", "enum": "VALUE", "currency": "CODE", "activity_type": "TYPE"}


def apply_options(kind: str, rec: dict, kwargs: dict, edit: bool) -> None:
    """Apply ``--set`` first, then the generated --FIELD options (so
    ``--add-tag`` adds to what ``--set tags=...`` set), then ``--unset``."""
    for assignment in kwargs.get("set_") or []:
        apply_set(kind, rec, assignment)
    for fld in plain_fields(kind):
        opt = option_name(fld)
        value = kwargs.get(f"f_{fld.name}")
        if fld.type in ("list", "refs"):
            if value:
                rec[fld.name] = _dedupe([cli_value(kind, fld, v, opt) for v in value])
            if edit:
                for v in kwargs.get(f"add_{fld.name}") or []:
                    v = cli_value(kind, fld, v, f"--add-{opt[2:]}")
                    cur = list(rec.get(fld.name) or [])
                    if v not in cur:
                        cur.append(v)
                    rec[fld.name] = cur
                for v in kwargs.get(f"remove_{fld.name}") or []:
                    cur = list(rec.get(fld.name) or [])
                    if v not in cur:
                        raise CrmError(f"--remove-{opt[2:]}: {v!r} is not in {fld.name}")
                    cur.remove(v)
                    rec[fld.name] = cur
        elif value is not None:
            rec[fld.name] = value if fld.type == "bool" else cli_value(kind, fld, value, opt)
    for key in kwargs.get("unset") or []:
        apply_unset(kind, rec, key)


def _dedupe(items):
    seen = []
    for i in items:
        if i not in seen:
            seen.append(i)
    return seen


def with_signature(func: Callable, params: list[inspect.Parameter], doc: str) -> Callable:
    func.__signature__ = inspect.Signature(params)
    func.__annotations__ = {p.name: p.annotation for p in params}
    func.__doc__ = doc
    return func


def parse_where(where: list[str] | None) -> list[tuple[str, str]]:
    """``--where FIELD=VALUE`` options as (field, value) pairs."""
    out = []
    for w in where or []:
        if "=" not in w:
            raise UsageError(f"--where: expected FIELD=VALUE, got {w!r}")
        field, value = w.split("=", 1)
        out.append((field.strip(), value))
    return out


# ---------------------------------------------------------------- commands
def make_named_add(kind: str, defaults: Callable | None = None) -> Callable:
    """``crm KIND add NAME [--FIELD ...]`` for a type whose title is its name."""
    def add(name: str, **kw):
        rec = {"name": clean_text(name, False, "NAME")}
        apply_options(kind, rec, kw, edit=False)
        if defaults:
            defaults(rec)
        common.out(common.store().create(kind, rec) + "\n")

    params = [inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                default=typer.Argument(..., metavar="NAME"), annotation=str)]
    return with_signature(add, params + field_params(kind, ("name",), edit=False),
                          f"Add {article(kind)}; prints its new id.")



def make_edit(kind: str, after: Callable | None = None) -> Callable:
    def edit(**kw):
        st = common.store()
        rid = st.resolve(kind, kw.pop("ref"))

        def change(rec):
            apply_options(kind, rec, kw, edit=True)
            if kind == "activity":
                check_activity_status(rec)
            if after:
                after(rec)
            return rec
        st.update(kind, rid, change)
        common.print_id_note(kind, rid, "updated")

    params = [inspect.Parameter("ref", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                default=typer.Argument(..., metavar="ID", help=f"{kind} id, id prefix or name"),
                                annotation=str)]
    params += field_params(kind, (), edit=True)
    return with_signature(edit, params, f"Change only the named fields of {article(kind)}; the rest of the file is kept.")


def show_record(kind: str, ref: str, fmt: str, extra: Callable | None = None) -> None:
    from crmcli.records import to_json
    common.check_format(fmt)
    st = common.store()
    rid = st.resolve(kind, ref)
    rec = st.get(kind, rid)
    obj = to_json(rec)
    if extra:
        obj = extra(rec, obj)
    if fmt == "table":
        common.out(card(obj))
    else:
        common.emit(obj, fmt, csv_objects=[{k: v for k, v in obj.items() if not isinstance(v, list)
                                             or not v or not isinstance(v[0], dict)}])


def card(obj: dict) -> str:
    """A record as 'field: value' lines, with nested lists indented."""
    from crmcli.render import cell
    lines = []
    width = max((len(k) for k in obj), default=0)
    for key, value in obj.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{key}:")
            for item in value:
                lines.append("  - " + "  ".join(f"{k}: {cell(v)}" for k, v in item.items() if v is not None))
        elif isinstance(value, dict):
            lines.append(f"{key}:")
            for k, v in value.items():
                lines.append(f"  {k}: {cell(v)}")
        elif value is not None and value != []:
            text = cell(value) if not isinstance(value, str) else value
            if isinstance(value, str) and "\n" in value:
                from crmcli.render import clean
                text = "\n" + "\n".join("  " + clean(line) for line in value.split("\n"))
                lines.append(f"{key}:{text}")
                continue
            from crmcli.render import clean
            lines.append(f"{key + ':':<{width + 1}} {clean(text)}")
    return "\n".join(lines) + "\n"


def list_records(kind: str, records: list[dict], fmt: str, ids: bool, extra_json: Callable | None = None,
                 sort: str | None = None) -> None:
    from crmcli.records import to_json
    common.check_format(fmt)
    if sort:
        records = sort_records(records, sort)
    if ids:
        common.out("".join(r["id"] + "\n" for r in records))
        return
    objs = [to_json(r) for r in records]
    if extra_json:
        objs = [extra_json(r, o) for r, o in zip(records, objs)]
    cols = LIST_COLUMNS[kind]
    common.emit(objs, fmt, headers=cols, rows=[[o.get(c) for c in cols] for o in objs], csv_objects=objs)


def sort_records(records: list[dict], key: str) -> list[dict]:
    desc = key.startswith("-")
    key = key.lstrip("-")
    path = key.split(".")

    def get(r):
        v = r
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        return (v is None, str(v) if not isinstance(v, (int, float)) else v) if not desc else (v is not None, v if isinstance(v, (int, float)) else str(v or ""))
    try:
        return sorted(records, key=get, reverse=desc)
    except TypeError:
        return sorted(records, key=lambda r: str(get(r)), reverse=desc)


def references_to(kind: str, rid: str) -> list[str]:
    """Paths of records that refer to ``rid`` (for rm without --force)."""
    st = common.store()
    data, _ = st.load_all()
    refs = []
    for other in ("client", "deal", "activity", "stakeholder"):
        for rec in data.of(other):
            for fld in SCHEMAS[other]:
                if fld.ref != kind:
                    continue
                v = rec.get(fld.name)
                if v == rid or (isinstance(v, list) and rid in v):
                    refs.append(f"{other} {rec['id']}")
                    break
    return refs


def make_rm(kind: str) -> Callable:
    def rm(ref: str = typer.Argument(..., metavar="ID", help=f"{kind} id, id prefix or name"),
           force: bool = typer.Option(False, "--force", help="Remove even if other records refer to it.")):
        st = common.store()
        rid = st.resolve(kind, ref)
        if not force:
            refs = references_to(kind, rid)
            if refs:
                raise CrmError(f"{kind} {rid} is referred to by {len(refs)} record(s): {', '.join(refs[:5])}"
                               + (" ..." if len(refs) > 5 else ""), hint="use --force to remove it anyway")
        try:
            title = title_of(kind, st.get(kind, rid))
        except CrmError:  # a broken file can still be removed
            title = rid
        st.delete(kind, rid, title)
        common.print_id_note(kind, rid, "removed")
    rm.__doc__ = f"Remove {article(kind)} (refused while other records refer to it, unless --force)."
    return rm


def title_of(kind: str, rec: dict) -> str:
    return str(rec.get(TITLE_FIELD[kind]) or rec.get("type") or rec["id"])
