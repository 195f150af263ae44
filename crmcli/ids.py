"""Record ids: made from a name (Cyrillic transliterated) plus a random suffix,
and checked before any path is built from them."""
from __future__ import annotations

import os
import re
import unicodedata

from crmcli.errors import CrmError
from crmcli.schema import ID_RE

_CYR = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
    # Latin letters that do not decompose into a base letter and an accent
    "ø": "o", "ß": "ss", "ł": "l", "æ": "ae", "œ": "oe", "đ": "d", "þ": "th", "ð": "d", "ı": "i",
}
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_ORG_WORDS = {"ooo", "oao", "zao", "pao", "ip", "llc", "ltd", "inc", "gmbh"}


def transliterate(text: str) -> str:
    out = []
    for ch in text.lower():
        if ch in _CYR:
            out.append(_CYR[ch])
        else:
            out.append(ch)
    s = unicodedata.normalize("NFKD", "".join(out))
    return "".join(c for c in s if not unicodedata.combining(c))


def slugify(text: str, limit: int = 40) -> str:
    s = transliterate(text)
    words = [w for w in re.split(r"[^a-z0-9]+", s) if w]
    if len(words) > 1:
        words = [w for w in words if w not in _ORG_WORDS] or words
    slug = ""
    for w in words:
        cand = f"{slug}-{w}" if slug else w
        if len(cand) > limit:
            break
        slug = cand
    if not slug and words:
        slug = words[0][:limit]
    return slug


def new_id(name: str, fallback: str = "rec") -> str:
    suffix = "".join(_ALPHABET[b % 36] for b in os.urandom(4))
    return f"{slugify(name) or fallback}-{suffix}"


def check_id(text: str, what: str = "id") -> str:
    """Refuse anything that is not a valid id, before any path is made of it."""
    if not isinstance(text, str) or not ID_RE.match(text) or text in (".", ".."):
        raise CrmError(f"{text!r} is not a valid {what}: use lower-case letters, digits, '.', '_', '-' "
                       "(at most 80, starting with a letter or digit)")
    return text


def fold(text: str) -> str:
    """Text for case- and normalisation-insensitive matching (ё = е)."""
    return unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
