"""YAML text <-> plain data.

* ``read_yaml`` reads a record file strictly: every scalar is text (or None for
  a plain null), duplicate keys, tags, anchors and aliases, several documents,
  git conflict markers, invalid UTF-8 and oversized files are problems with a
  line number.  It never raises for any input.
* ``dump_record`` writes a new record canonically: fixed key order, block
  style, UTF-8 text, strings quoted whenever YAML 1.1 or 1.2 could read them as
  anything but text.
* ``edit_text`` changes a hand-edited file in place (through ruamel.yaml's
  round-trip mode) and keeps everything it was not asked to change: comments,
  key order, quoting, unknown keys, a BOM and CRLF line endings.
"""
from __future__ import annotations

import re
import sys
from datetime import date, datetime
from decimal import Decimal

from crmcli.errors import Problem

MAX_BYTES = 10 * 1024 * 1024
CONFLICT_RE = re.compile(rb"^(<{7}|={7}|>{7}|\|{7})(?: |\r?$)", re.M)
BOM = "\ufeff"


def _yaml():
    """PyYAML and its fastest string-only loader, imported when first needed."""
    import yaml
    return yaml, getattr(yaml, "CBaseLoader", yaml.BaseLoader)

_ALLOWED_TAGS = {None, "!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:map",
                 "tag:yaml.org,2002:seq"}
_NULLS = {"", "~", "null", "Null", "NULL"}


class _Fail(Exception):
    def __init__(self, line, message):
        super().__init__(message)
        self.line = line
        self.message = message


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, path: str) -> tuple[str | None, list[Problem]]:
    """Bytes to text, or problems (size, UTF-8, conflict markers)."""
    if len(data) > MAX_BYTES:
        return None, [Problem(path, None, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB; refused")]
    m = CONFLICT_RE.search(data)
    if m:
        return None, [Problem(path, _line_of(data, m.start()), "unresolved git merge conflict marker",
                              "edit the file to keep one side, remove the <<<<<<< ======= >>>>>>> lines, then run crm check")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(path, _line_of(data, exc.start), "invalid UTF-8 (files must be UTF-8 text)",
                              "re-save the file as UTF-8")]
    if text.startswith(BOM):
        text = text[1:]
    return text, []


def read_yaml(data: bytes, path: str) -> tuple[dict | None, dict, list[Problem]]:
    """Parse one record file strictly.

    Returns ``(mapping, lines, problems)``; ``lines`` maps a key path (a tuple of
    keys and list indexes) to its 1-based line.  ``mapping`` is None when the
    file cannot be read, and then ``problems`` says why.
    """
    text, problems = decode(data, path)
    if text is None:
        return None, {}, problems
    return parse_text(text, path)


def parse_text(text: str, path: str) -> tuple[dict | None, dict, list[Problem]]:
    yaml, _ = _yaml()
    lines: dict = {}
    try:
        value = _build(text, lines)
    except _Fail as exc:
        return None, {}, [Problem(path, exc.line, exc.message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = exc.problem or "syntax error"
        if exc.context:
            msg = f"{exc.context}: {msg}" if msg else exc.context
        return None, {}, [Problem(path, mark.line + 1 if mark else None, f"YAML syntax error: {msg}")]
    except yaml.reader.ReaderError as exc:
        pos = exc.position if isinstance(exc.position, int) else 0
        return None, {}, [Problem(path, text.count("\n", 0, pos) + 1,
                                  f"character {ord(exc.character) if isinstance(exc.character, str) else exc.character:#06x} "
                                  "is not allowed in YAML (a control character)")]
    except (yaml.YAMLError, ValueError, RecursionError, MemoryError) as exc:
        return None, {}, [Problem(path, None, f"YAML error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")]
    if value is None:
        return None, {}, [Problem(path, None, "the file is empty; a record is a mapping of fields")]
    if not isinstance(value, dict):
        return None, {}, [Problem(path, 1, "a record must be a mapping of fields (key: value), not a "
                                  + ("list" if isinstance(value, list) else "single value"))]
    return value, lines, []


def _build(text: str, lines: dict):
    """Build plain data from the event stream, with an explicit stack."""
    root = None
    docs = 0
    # stack items: [container, path, pending_key, key_line, seen_keys]
    stack: list[list] = []

    def add(value, path_item_line, is_key_candidate=False):
        nonlocal root
        if not stack:
            root = value
            return ()
        top = stack[-1]
        container, cpath = top[0], top[1]
        if isinstance(container, list):
            p = cpath + (len(container),)
            container.append(value)
            lines.setdefault(p, path_item_line)
            return p
        # mapping
        if top[2] is _NO_KEY:
            if not isinstance(value, str) and value is not None:
                raise _Fail(path_item_line, "a key must be a plain value, not a list or mapping")
            key = "" if value is None else sys.intern(value)  # shared by every record
            if key in top[4]:
                raise _Fail(path_item_line, f"duplicate key {key!r} (first defined on line {top[4][key]})")
            top[4][key] = path_item_line
            top[2] = key
            top[3] = path_item_line
            return None
        key = top[2]
        p = cpath + (key,)
        container[key] = value
        lines[p] = top[3]
        top[2] = _NO_KEY
        return p

    yaml, loader = _yaml()
    for event in yaml.parse(text, Loader=loader):
        cls = type(event)
        line = event.start_mark.line + 1 if event.start_mark else None
        if cls is yaml.AliasEvent:
            raise _Fail(line, "YAML aliases (*name) are not allowed in records")
        if cls in (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent):
            if event.anchor is not None:
                raise _Fail(line, "YAML anchors (&name) are not allowed in records")
            if event.tag not in _ALLOWED_TAGS:
                raise _Fail(line, f"YAML tag {event.tag!r} is not allowed in records")
        if cls is yaml.ScalarEvent:
            value = event.value
            if event.implicit[0] and event.tag is None and value in _NULLS:
                value = None
            add(value, line)
        elif cls is yaml.MappingStartEvent:
            container: dict = {}
            p = add(container, line)
            if p is None:
                raise _Fail(line, "a key must be a plain value, not a list or mapping")
            stack.append([container, p, _NO_KEY, None, {}])
        elif cls is yaml.SequenceStartEvent:
            container_l: list = []
            p = add(container_l, line)
            if p is None:
                raise _Fail(line, "a key must be a plain value, not a list or mapping")
            stack.append([container_l, p, _NO_KEY, None, {}])
        elif cls in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
            stack.pop()
        elif cls is yaml.DocumentStartEvent:
            docs += 1
            if docs > 1:
                raise _Fail(line, "several YAML documents in one file; a record file holds one")
    return root


class _NoKey:
    pass


_NO_KEY = _NoKey()


# ---------------------------------------------------------------- writing

# Plain scalars that YAML 1.1 (PyYAML) or YAML 1.2 (ruamel) would read as
# something other than text: words, anything number-like, timestamps.
_NONSTR_WORDS = {
    "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
    "y", "Y", "n", "N", "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
    "=", "<<"}
_NUMLIKE = re.compile(r"^[-+]?[.0-9][0-9a-fA-F_.:+\-xXoObBeE]*$|^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d?-\d\d?(?:(?:[Tt]|[ \t]+)\d\d?:\d\d:\d\d(?:\.\d*)?"
                        r"(?:[ \t]*(?:Z|[-+]\d\d?(?::\d\d)?))?)?$")
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_PLAIN_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]|: |:$| #")
# characters YAML cannot hold as they are (its printable set, complemented)
_NONPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0",
            "\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P", "\ufeff": "\\uFEFF"}
_DQ_SPECIAL = re.compile(r'[\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]')


def plain_ok(s: str) -> bool:
    """May ``s`` be written as a plain scalar and read back as the same text by
    YAML 1.1 and 1.2 readers alike?"""
    if not s or s != s.strip() or s[0] in _INDICATORS or _PLAIN_BAD.search(s) \
            or s.startswith(("---", "...")):
        return False
    if s in _NONSTR_WORDS or _NUMLIKE.match(s) or _TIMESTAMP.match(s):
        return False
    return True


def _dq_escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02X}"
    if code <= 0xFFFF:
        return f"\\u{code:04X}"
    return f"\\U{code:08X}"


def double_quoted(s: str) -> str:
    return '"' + _DQ_SPECIAL.sub(lambda m: _dq_escape(m.group()), s) + '"'


def literal_ok(s: str) -> bool:
    """Can ``s`` be written as a ``|`` block and read back exactly?"""
    if "\n" not in s or "\r" in s or _NONPRINTABLE.search(s) or re.search(r"[\x85\u2028\u2029\ufeff\t]", s):
        return False
    body = s[:-1] if s.endswith("\n") else s
    if body.endswith("\n") or not body:
        return False
    parts = body.split("\n")
    if parts[0].startswith(" ") or parts[0] == "":
        return False
    return all(p == "" or p.strip() != "" for p in parts)


def scalar_text(value, indent: int = 0) -> str:
    """The YAML text of one scalar value, as the tool writes it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M" if not value.second else "%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    s = str(value)
    if plain_ok(s):
        return s
    if literal_ok(s):
        pad = " " * (indent + 2)
        chomp = "" if s.endswith("\n") else "-"
        body = s[:-1] if s.endswith("\n") else s
        return f"|{chomp}\n" + "\n".join(pad + p if p else "" for p in body.split("\n"))
    return double_quoted(s)


def _key_text(key) -> str:
    k = str(key)
    return k if plain_ok(k) else double_quoted(k)


def _emit(out: list[str], value, indent: int, keep_empty: bool = False) -> None:
    """Emit a mapping's items at ``indent`` (empty values left out unless kept)."""
    pad = " " * indent
    for key, v in value.items():
        if v is None or v == [] or v == {}:
            if keep_empty:
                out.append(f"{pad}{_key_text(key)}: {'null' if v is None else '[]' if v == [] else '{}'}")
            continue
        k = _key_text(key)
        if isinstance(v, dict):
            out.append(f"{pad}{k}:")
            _emit(out, v, indent + 2, keep_empty)
        elif isinstance(v, list):
            out.append(f"{pad}{k}:")
            _emit_list(out, v, indent, keep_empty)
        else:
            out.append(f"{pad}{k}: {scalar_text(v, indent)}")


def _emit_list(out: list[str], items: list, indent: int, keep_empty: bool = False) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict):
            sub: list[str] = []
            _emit(sub, item, indent + 2, keep_empty)
            if not sub:
                out.append(f"{pad}- {{}}")
                continue
            out.append(f"{pad}- {sub[0][indent + 2:]}")
            out.extend(sub[1:])
        elif isinstance(item, list):
            out.append(f"{pad}- {_flow(item)}")
        elif item is None:
            out.append(f"{pad}- null")
        else:
            out.append(f"{pad}- {scalar_text(item, indent)}")


def _flow(items) -> str:
    """A nested list on one line; text is quoted unless it is plainly safe there."""
    def item(i):
        if isinstance(i, list):
            return _flow(i)
        if isinstance(i, dict):
            return "{" + ", ".join(f"{double_quoted(str(k))}: {item(v)}" for k, v in i.items()) + "}"
        if isinstance(i, str):
            return i if plain_ok(i) and not any(c in i for c in ",[]{}#") else double_quoted(i)
        return scalar_text(i)
    return "[" + ", ".join(item(i) for i in items) + "]"


def dump_mapping(data: dict) -> str:
    """Canonical YAML text of a mapping (keys in the given order)."""
    out: list[str] = []
    _emit(out, data, 0)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- editing

def _ruamel():
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.resolver import VersionedResolver

    class TextResolver(VersionedResolver):
        """Every untagged scalar is text: the schema decides what it means."""

        def resolve(self, kind, value, implicit):
            if kind is ScalarNode and implicit[0]:
                return self.DEFAULT_SCALAR_TAG
            return super().resolve(kind, value, implicit)

    y = YAML(typ="rt")
    y.Resolver = TextResolver
    y.preserve_quotes = True
    y.width = 1 << 16
    return y


def _guess_seq_offset(text: str) -> int:
    prev_key_indent = None
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        ind = len(line) - len(stripped)
        if stripped.startswith("- ") or stripped == "-":
            if prev_key_indent is not None:
                return max(ind - prev_key_indent, 0)
            prev_key_indent = None
            continue
        prev_key_indent = ind if re.match(r"^[^#]*:\s*(#.*)?$", stripped) else None
    return 0


def _to_rt(value, indent: int = 0):
    """A typed value as ruamel round-trip data, styled the way the tool writes."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            if v is None or v == [] or v == {}:
                continue
            m[_rt_key(k)] = _to_rt(v)
        return m
    if isinstance(value, list):
        return CommentedSeq([_to_rt(v) for v in value])
    if isinstance(value, str):
        if plain_ok(value):
            return value
        if literal_ok(value):
            return LiteralScalarString(value)
        return DoubleQuotedScalarString(value)
    return scalar_text(value)


def _rt_key(key):
    """A mapping key as the tool writes it: quoted unless plainly text."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString
    k = str(key)
    return k if plain_ok(k) else DoubleQuotedScalarString(k)


# Comments between entries: ruamel keeps the full-line comments that follow a
# value with that value (in its last element for a list or mapping).  When the
# tool removes, replaces or extends a value, those comments belong to what
# comes next, so they are taken off first and put back after the new value.
def _end_slot(value):
    """Where the comment after a collection value lives: (ca items, key, index);
    None for a flow collection (``[a, b]``), whose comment sits with its key."""
    fa = getattr(value, "fa", None)
    if fa is not None and fa.flow_style():
        return None
    if isinstance(value, dict) and len(value):
        last = list(value.keys())[-1]
        inner = value[last]
        if isinstance(inner, (dict, list)) and len(inner):
            return _end_slot(inner) or (value.ca.items, last, 2)
        return value.ca.items, last, 2
    if isinstance(value, list) and len(value):
        last = len(value) - 1
        inner = value[last]
        if isinstance(inner, (dict, list)) and len(inner):
            return _end_slot(inner) or (value.ca.items, last, 0)
        return value.ca.items, last, 0
    return None


def _slot(container, key):
    value = container[key]
    found = _end_slot(value) if isinstance(value, (dict, list)) else None
    return found or (container.ca.items, key, 2)


def _item_slot(seq, i: int):
    value = seq[i]
    found = _end_slot(value) if isinstance(value, (dict, list)) else None
    return found or (seq.ca.items, i, 0)


def _take_tail(slot) -> str:
    """Remove and return the full-line comments after a value (not its inline one)."""
    items, key, idx = slot
    entry = items.get(key)
    tok = entry[idx] if entry and len(entry) > idx else None
    if tok is None:
        return ""
    text = tok.value
    head, sep, tail = text.partition("\n")
    if not tail:
        return ""
    if head:
        tok.value = head + "\n"
    else:
        entry[idx] = None
    return tail


def _put_tail(slot, tail: str) -> None:
    if not tail:
        return
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken
    items, key, idx = slot
    entry = items.setdefault(key, [None, None, None, None])
    while len(entry) <= idx:
        entry.append(None)
    tok = entry[idx]
    if tok is None:
        entry[idx] = CommentToken("\n" + tail, CommentMark(0), None)
    else:
        tok.value = (tok.value if tok.value.endswith("\n") else tok.value + "\n") + tail


def _plain(node):
    """ruamel round-trip data as plain str/list/dict (nulls as None)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if node is None:
        return None
    s = str(node)
    if type(node) is str and s in _NULLS:
        return None
    return s


def edit_text(text: str, update, order: list[str] | None = None) -> str:
    """Apply ``update`` to a file's text and return the new text.

    ``update(current)`` receives the file's data as plain text values and
    returns the wanted data (plain text values too, or typed values); only the
    keys whose value changed are touched, new keys are placed by ``order``.
    """
    import io

    bom = text.startswith(BOM)
    if bom:
        text = text[1:]
    crlf = "\r\n" in text
    if crlf:
        text = text.replace("\r\n", "\n")
    y = _ruamel()
    off = _guess_seq_offset(text)
    y.indent(mapping=2, sequence=off + 2, offset=off)
    doc = y.load(text)
    old = _plain(doc)
    new = update(old)
    _merge_map(doc, old, new, order)
    buf = io.StringIO()
    y.dump(doc, buf)
    out = buf.getvalue()
    if crlf:
        out = out.replace("\n", "\r\n")
    if bom:
        out = BOM + out
    return out


def _same(a, b) -> bool:
    return _norm(a) == _norm(b)


def _norm(v):
    if isinstance(v, dict):
        return {str(k): _norm(x) for k, x in v.items() if x is not None and x != [] and x != {}}
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if v is None:
        return None
    if isinstance(v, str):
        return v
    return scalar_text(v)


def _merge_map(node, old: dict, new: dict, order: list[str] | None) -> None:
    for key in list(node.keys()):
        k = str(key)
        if k not in new or new[k] is None or new[k] == [] or new[k] == {}:
            tail = _take_tail(_slot(node, key))
            keys = list(node.keys())
            i = keys.index(key)
            del node[key]
            if tail:
                if i > 0:
                    _put_tail(_slot(node, keys[i - 1]), tail)
                else:
                    node.yaml_set_start_comment(tail.rstrip("\n").replace("# ", "", 0))
    for k, v in new.items():
        if v is None or v == [] or v == {}:
            continue
        if k in old and k in node:
            if _same(old[k], v):
                continue
            cur = node[k]
            if isinstance(v, dict) and isinstance(cur, dict):
                _merge_map(cur, old[k] or {}, v, None)
            elif isinstance(v, list) and isinstance(cur, list) and isinstance(old[k], list):
                _merge_list(cur, old[k], v)
            else:
                tail = _take_tail(_slot(node, k))
                node[k] = _to_rt(v)
                _put_tail(_slot(node, k), tail)
        else:
            keys = list(map(str, node.keys()))
            pos = _position(keys, k, order)
            tail = _take_tail(_slot(node, keys[pos - 1])) if pos > 0 else ""
            node.insert(pos, _rt_key(k), _to_rt(v))
            _put_tail(_slot(node, k), tail)


def _merge_list(node, old: list, new: list) -> None:
    n = len(old)
    if len(new) >= n and all(_same(o, x) for o, x in zip(old, new)):
        slot = _end_slot(node)
        tail = _take_tail(slot) if slot else ""
        for item in new[n:]:
            node.append(_to_rt(item))
        slot = _end_slot(node)
        if slot:
            _put_tail(slot, tail)
        return
    # items removed, nothing else changed: delete them in place
    if len(new) < n:
        j = 0
        keep = []
        for i, o in enumerate(old):
            if j < len(new) and _same(o, new[j]):
                keep.append(i)
                j += 1
        if j == len(new) and new:
            slot = _end_slot(node)
            tail = _take_tail(slot) if slot else ""
            for i in reversed(range(n)):
                if i not in keep:
                    del node[i]
            slot = _end_slot(node)
            if slot:
                _put_tail(slot, tail)
            return
    if len(new) == n:
        for i, (o, x) in enumerate(zip(old, new)):
            if _same(o, x):
                continue
            if isinstance(x, dict) and isinstance(node[i], dict) and isinstance(o, dict):
                _merge_map(node[i], o, x, None)
            else:   # the comments after the item stay after its new value
                tail = _take_tail(_item_slot(node, i))
                node[i] = _to_rt(x)
                _put_tail(_item_slot(node, i), tail)
        return
    slot = _end_slot(node)
    tail = _take_tail(slot) if slot else ""
    node.clear()
    node.extend(_to_rt(x) for x in new)
    slot = _end_slot(node)
    if slot:
        _put_tail(slot, tail)


def _position(keys: list[str], key: str, order: list[str] | None) -> int:
    """Where a new key goes: right after the last present key that precedes it
    in ``order``, else before the first that follows it, else at the end."""
    if not order or key not in order:
        return len(keys)
    rank = order.index(key)
    before = [i for i, k in enumerate(keys) if k in order and order.index(k) < rank]
    if before:
        return before[-1] + 1
    after = [i for i, k in enumerate(keys) if k in order and order.index(k) > rank]
    return after[0] if after else len(keys)
