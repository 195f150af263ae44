#!/usr/bin/env python3
"""Write data_example/: the demo data folder of crmcli and the golden test data.

    python tools/make_data_example.py data_example

A wellness and beauty studio, «Лотос» / Lotus Wellness Studio, in Russian and
English side by side.  The demo's "today" is 2026-11-27 (run reports with
`--today 2026-11-27`).  Stdlib only; deterministic (random.Random(2026)); the
target folder is written from scratch (an existing data folder there is
removed first).

The YAML text is written here, not dumped, in the canonical style the tool
writes:

* keys in the canonical order of each record type, empty values omitted;
* block style; lists as indentless `- item` lines under their key; nested
  mappings (`fields:`) indented two spaces;
* dates `2026-01-10`, date-times `2026-01-10T14:30`, numbers and booleans plain;
* a string is written plain unless it
    - is empty or has leading/trailing white space,
    - starts with a YAML indicator  - ? : , [ ] { } # & * ! | > ' " % @ `
    - contains ": " or " #", ends with ":", or holds a control character,
    - could be read by YAML 1.1 or 1.2 as anything but text: null, ~, a
      boolean (yes/no/on/off/y/n/true/false), a number (ints, floats,
      octal/hex/binary, sexagesimal 12:30, .inf, .nan), a date or timestamp,
      = or <<  (so "00017" is quoted, "2gis" is not),
  in which case it is double-quoted (only \\ and " escaped; UTF-8 as is);
  phones are always double-quoted ("+7 912 345-67-89", "0123 456");
* multi-line text is a `|-` literal block indented two spaces past its key.

Three files are written by hand on purpose (comments, another key order,
flow lists, a quoted date, an unknown top-level key `legacy_code`) to show
that hand-edited files are just as valid.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import sys
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal

TODAY = date(2026, 11, 27)
rng = random.Random(2026)

# --------------------------------------------------------------------------
# ids
# --------------------------------------------------------------------------

TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e",
    "ж": "zh", "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}
LEGAL_FORMS = {"ооо", "ао", "зао", "пао", "ип", "ltd", "llc", "inc", "oy", "gmbh"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
SUFFIX_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


def slugify(text: str, max_len: int = 60) -> str:
    words = text.replace("'", "").replace("’", "").split()
    if len(words) > 1 and words[0].lower().strip("«»\"") in LEGAL_FORMS:
        words = words[1:]
    if len(words) > 1 and words[-1].lower().strip(".") in LEGAL_FORMS:
        words = words[:-1]
    out = []
    for ch in " ".join(words).lower():
        if ch in TRANSLIT:
            out.append(TRANSLIT[ch])
        else:
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode())
    slug = re.sub(r"[^a-z0-9]+", "-", "".join(out)).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0]
    return slug or "x"


_taken: set[str] = set()


def new_id(text: str) -> str:
    base = slugify(text)
    while True:
        rid = base + "-" + "".join(rng.choice(SUFFIX_CHARS) for _ in range(4))
        if rid not in _taken:
            _taken.add(rid)
            assert ID_RE.match(rid), rid
            return rid


def base_slug(rid: str) -> str:
    return rid.rsplit("-", 1)[0]


# --------------------------------------------------------------------------
# YAML writer (canonical style)
# --------------------------------------------------------------------------

ORDER = {
    "client": ["name", "kind", "org", "owner", "emails", "phones", "address", "tags",
               "source", "birthday", "competitors", "opt_out", "created", "fields", "notes"],
    "deal": ["title", "client", "owner", "amount", "currency", "stage", "history", "created",
             "expected_close", "source", "product", "quantity", "unit_price", "competitors",
             "lost_reason", "lost_to", "notes"],
    "activity": ["client", "deal", "stakeholder", "type", "status", "date", "from", "to",
                 "minutes", "owner", "assigned_by", "comment", "note", "next"],
    "stakeholder": ["name", "group", "subgroup", "status", "goal", "target_date", "achieved",
                    "client", "owner", "actions", "notes"],
    "competitor": ["name", "website", "strengths", "weaknesses", "prices", "notes"],
}
SUB_ORDER = {"history": ["stage", "date"],
             "actions": ["name", "plan", "fact", "responsible", "resource"]}

# strings that YAML 1.1 or 1.2 could resolve as something other than text
NON_STRING = re.compile(
    r"^(?:null|Null|NULL|~|true|True|TRUE|false|False|FALSE|y|Y|n|N|yes|Yes|YES|no|No|NO"
    r"|on|On|ON|off|Off|OFF"
    r"|[-+]?[0-9_]+(?::[0-5]?[0-9])*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|0b[01_]+|[-+]?\.[0-9]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|=|<<"
    r"|\d{4}-\d\d?-\d\d?(?:(?:[Tt]|[ \t]+)\d\d?:\d\d:\d\d(?:\.\d*)?"
    r"(?:[ \t]*(?:Z|[-+]\d\d?(?::\d\d)?))?)?)$")
INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
BAD_IN_PLAIN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]|: |:$| #")
ALWAYS_QUOTED = {"phones"}  # a phone is text even where it happens to be safe plain


def needs_quotes(s: str) -> bool:
    return (s == "" or s != s.strip() or s[0] in INDICATORS or bool(BAD_IN_PLAIN.search(s))
            or bool(NON_STRING.match(s)))


def scalar(v, quote: bool = False) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%dT%H:%M")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (int, Decimal)):
        return str(v)
    if isinstance(v, str):
        assert "\n" not in v
        if quote or needs_quotes(v):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return v
    raise TypeError(repr(v))


def is_empty(v) -> bool:
    return v is None or v == "" or v == [] or v == {}


def emit_value(key: str, v, indent: int, lines: list[str], first_prefix: str | None = None):
    """Write `key: v` at `indent` columns; first_prefix replaces the indent (list item)."""
    pad = " " * indent
    head = first_prefix if first_prefix is not None else pad
    if isinstance(v, str) and "\n" in v:
        lines.append(f"{head}{key}: |-")
        for ln in v.split("\n"):
            assert ln == ln.rstrip() and ln.strip(), repr(ln)
            lines.append(" " * (indent + 2) + ln)
    elif isinstance(v, list):
        lines.append(f"{head}{key}:")
        for item in v:
            if isinstance(item, dict):
                keys = [k for k in SUB_ORDER[key] if not is_empty(item.get(k))]
                assert set(item) - set(SUB_ORDER[key]) == set(), item
                for i, k in enumerate(keys):
                    emit_value(k, item[k], indent + 2, lines,
                               first_prefix=(pad + "- ") if i == 0 else None)
            else:
                lines.append(f"{pad}- {scalar(item, quote=key in ALWAYS_QUOTED)}")
    elif isinstance(v, dict):
        lines.append(f"{head}{key}:")
        for k, sub in v.items():
            if not is_empty(sub):
                emit_value(k, sub, indent + 2, lines)
    else:
        lines.append(f"{head}{key}: {scalar(v)}")


def dump(kind: str, rec: dict) -> str:
    unknown = set(rec) - set(ORDER[kind])
    assert not unknown, (kind, unknown)
    lines: list[str] = []
    for k in ORDER[kind]:
        if not is_empty(rec.get(k)):
            emit_value(k, rec[k], 0, lines)
    return "\n".join(lines) + "\n"


def D(s: str) -> date:
    return date.fromisoformat(s)


def DT(s: str) -> datetime:
    return datetime.fromisoformat(s)


# --------------------------------------------------------------------------
# crm.yaml
# --------------------------------------------------------------------------

CRM_YAML = """\
# Студия «Лотос» / Lotus Wellness Studio — settings of the CRM folder.
# Demo data: run reports with --today 2026-11-27.
name: Студия «Лотос» / Lotus Wellness Studio
currency: RUB
rates:                      # value of one unit in RUB, by date
  USD: {2024-01-01: 89.7, 2025-01-01: 101.7, 2025-07-01: 78.5, 2026-06-01: 81.2}
  EUR: {2024-01-01: 98.4, 2025-01-01: 106.1, 2025-07-01: 91.6, 2026-06-01: 94.3}
pipeline: [lead, qualified, proposal, negotiation, won]   # ordered; the last is the won stage
lost_stage: lost
owners:
  anna: {name: Анна Петрова, email: anna@lotus.example}
  boris: {name: Борис Иванов, email: boris@lotus.example, manager: anna}
  olga: {name: Ольга Кузнецова, email: olga@lotus.example, manager: anna}
  dmitry: {name: Dmitry Orlov, email: dmitry@lotus.example}
cadence: {customer: 90, prospect: 60}   # days between contacts: 4 a year, 6 a year
stuck_after: 30            # days in one stage before a deal is stuck
churn_after: 365           # days since the last won deal before a customer is former
sources:                   # the channel's total cost, for ROI
  instagram: {cost: 240000}
  exhibition: {cost: 180000}
  referral: {cost: 0}
  website: {cost: 60000}
  yandex_direct: {cost: 320000}
  2gis: {cost: 36000}
activity_types: [call, meeting, email, letter, visit, complaint, feedback, task, note]
fields:
  psychotype: {type: choice, values: [diplomat, analyst, driver, expressive]}
  age: {type: integer}
  loyalty_card: {type: text}
  vip_since: {type: date}
smtp: {host: localhost, port: 25, from: studio@lotus.example}
"""

OWNERS = ["anna", "boris", "olga", "dmitry"]
SOURCES = ["instagram", "exhibition", "referral", "website", "yandex_direct", "2gis"]

# --------------------------------------------------------------------------
# competitors
# --------------------------------------------------------------------------

COMPETITORS = {
    "thai": dict(
        name="Спа-салон «Тайский рай»",
        website="https://tai-ray.example",
        strengths="Аутентичный тайский массаж, мастера из Таиланда, центр города",
        weaknesses="Нет корпоративных программ; слабая косметология",
        prices="Массаж 60 минут — от 3 500 ₽, абонемент 10 сеансов — 30 000 ₽",
        notes="Открылись весной 2024 года в двух кварталах от нас."),
    "beautylab": dict(
        name="Beauty Lab",
        website="https://beautylab.example",
        strengths="Modern equipment, strong Instagram presence, evening hours",
        weaknesses="High staff turnover; expensive; long waiting list",
        prices="Cosmetology course from 26 000 RUB",
        notes="Aggressive discounts for first visits.\nTargets the same 25–40 female audience."),
    "wcg": dict(
        name="Wellness Corporate Group",
        website="https://wcg.example",
        strengths="Federal coverage, HR-tech platform, fixed price per employee",
        weaknesses="Impersonal service, 12-month minimum contracts",
        prices="From 1 200 RUB per employee per month"),
    "olimp": dict(
        name="Фитнес-сеть «Олимп-Фит»",
        website="https://olimp-fit.example",
        strengths="Низкие цены на абонементы, 12 клубов в городе",
        weaknesses="Нет спа-зоны; очереди в часы пик",
        prices="Годовой абонемент — 24 900 ₽; массаж — 2 500 ₽",
        notes="Переманивают наших тренеров и массажистов."),
    "zen": dict(
        name="Zen Spa & Massage",
        website="https://zen-spa.example",
        strengths="Beautiful interior; hotel partnerships; English-speaking staff",
        weaknesses="Small team, no cosmetology licence",
        prices="Spa day 9 000 RUB per guest",
        notes="Won the Grand Volga spa-menu tender in 2025."),
}

# --------------------------------------------------------------------------
# clients
# --------------------------------------------------------------------------
# key: record (org/competitors hold keys, resolved to ids later)

CLIENTS = {
    # ---- organizations ----
    "romashka": dict(
        name="ООО Ромашка", kind="organization", owner="dmitry",
        emails=["info@romashka.example", "hr@romashka.example"],
        phones=["+7 495 123-45-67"],
        address="ООО «Ромашка»\nул. Лесная, д. 5, офис 12\nг. Москва\n125047",
        tags=["corporate", "vip", "massage"], source="exhibition",
        competitors=["wcg"], created=D("2024-02-12"),
        notes="Корпоративный клиент с 2024 года.\nОплата по счёту, отсрочка 14 дней; документы через ЭДО."),
    "nordic": dict(
        name="Nordic Spa Supplies", kind="organization", owner="dmitry",
        emails=["orders@nordicspa.example"], phones=["+358 9 1234 5678"],
        address="Nordic Spa Supplies Oy\nMannerheimintie 12 B\n00100 Helsinki\nFinland",
        tags=["corporate", "supplier", "spa"], source="exhibition", created=D("2024-03-05"),
        notes="Finnish supplier of spa cosmetics; their staff also buy team spa days (EUR)."),
    "berezka": dict(
        name="Спа-отель «Берёзовая роща»", kind="organization", owner="boris",
        emails=["booking@berezovaya-roshcha.example"], phones=["+7 831 200-10-10"],
        tags=["spa-hotel", "partner", "massage"], source="referral",
        competitors=["thai", "zen"], created=D("2024-01-15")),
    # grandvolga: hand-edited file, see HAND_CLIENT below
    "atlant": dict(
        name="Фитнес-клуб «Атлант»", kind="organization", owner="olga",
        emails=["club@atlant-fitness.example"], phones=["+7 831 277-55-00", "8 800 555-35-35"],
        tags=["fitness", "corporate"], source="2gis", competitors=["olimp"],
        created=D("2024-05-14")),
    "fitlife": dict(
        name="FitLife Club", kind="organization", owner="olga",
        emails=["hello@fitlife.example"], phones=["+7 831 299-01-02"],
        tags=["fitness"], source="instagram", competitors=["olimp", "zen"],
        created=D("2025-02-10")),
    "zhemchuzhina": dict(
        name="Сеть салонов красоты «Жемчужина»", kind="organization", owner="anna",
        emails=["office@zhemchuzhina.example"], phones=["+7 831 233-44-55"],
        tags=["beauty", "cosmetology", "chain", "vip"], source="exhibition",
        competitors=["beautylab"], created=D("2024-04-02"),
        notes="5 салонов в городе, обучение мастеров заказывают у нас."),
    "uraltekh": dict(
        name="АО Уралтехмаш", kind="organization", owner="dmitry",
        emails=["priemnaya@uraltekhmash.example"], phones=["+7 343 210-00-00"],
        tags=["corporate", "wellness-program"], source="yandex_direct",
        competitors=["wcg"], created=D("2025-06-18")),
    "brightline": dict(
        name="Brightline IT Ltd", kind="organization", owner="dmitry",
        emails=["office@brightline.example"], phones=["+44 20 7946 0000"],
        tags=["corporate", "it"], source="website", created=D("2025-01-20"),
        notes="UK IT company with a Nizhny Novgorod office; contracts in USD."),
    "prana": dict(
        name="Йога-центр «Прана»", kind="organization", owner="olga",
        emails=["prana@yoga.example"], phones=["+7 831 215-15-15"],
        tags=["yoga", "partner"], source="referral", created=D("2025-09-03")),
    # ---- people ----
    "smirnova": dict(
        name="Анна Смирнова", kind="person", owner="anna",
        emails=["anna.smirnova@mail.example"], phones=["+7 912 345-67-89"],
        tags=["vip", "massage", "cosmetology"], source="instagram",
        birthday=D("1987-11-27"), created=D("2024-01-18"),
        fields=dict(psychotype="diplomat", age=39, loyalty_card="00017",
                    vip_since=D("2025-03-01")),
        notes="Предпочитает вечерние сеансы после 19:00, мастер — Ирина."),
    "vasilyeva": dict(
        name="Елена Васильева", kind="person", org="zhemchuzhina", owner="anna",
        emails=["e.vasilyeva@zhemchuzhina.example"], phones=["+7 920 015-22-33"],
        tags=["cosmetology", "corporate"], source="exhibition",
        birthday=D("1990-12-03"), created=D("2024-04-02"),
        fields=dict(psychotype="analyst", age=35)),
    "kuzmin": dict(
        name="Сергей Кузьмин", kind="person", org="romashka", owner="dmitry",
        emails=["s.kuzmin@romashka.example"], phones=["+7 495 123-45-68"],
        tags=["corporate"], source="exhibition", birthday=D("1981-03-14"),
        created=D("2024-02-12"), fields=dict(psychotype="driver", age=45),
        notes="HR-директор. Решения по бюджету принимает финансовый директор."),
    "ivanova": dict(
        name="Мария Иванова", kind="person", owner="boris",
        emails=["maria.ivanova@yandex.example"], phones=["0123 456", "+7 903 111-22-33"],
        tags=["massage"], source="2gis", birthday=D("1998-07-30"), created=D("2025-04-11"),
        fields=dict(psychotype="expressive", age=28, loyalty_card="L-2025-118")),
    "nikolaeva": dict(
        name="Ольга Николаева", kind="person", owner="olga",
        emails=["o.nikolaeva@yandex.example"], phones=["+7 904 222-33-44"],
        tags=["fitness", "massage"], source="website", opt_out=True, created=D("2024-06-20"),
        notes="Просила не присылать рассылки (письмо от 2025-02-10)."),
    "sokolov": dict(
        name="Дмитрий Соколов", kind="person", owner="olga",
        phones=["+7 910 777-88-99"], tags=["fitness"], source="instagram",
        birthday=D("1995-05-09"), created=D("2025-08-01"),
        fields=dict(psychotype="driver", age=31)),
    "morozova": dict(
        name="Татьяна Морозова", kind="person", owner="anna",
        emails=["t.morozova@mail.example"], phones=["+7 915 404-04-04"],
        tags=["cosmetology"], source="instagram", birthday=D("1979-09-21"),
        competitors=["beautylab"], created=D("2024-02-25"),
        fields=dict(psychotype="diplomat", age=47)),
    "volkov": dict(
        name="Алексей Волков", kind="person", owner="boris",
        phones=["+7 906 123-00-11"], tags=["massage"], source="referral",
        created=D("2024-11-05")),
    "lebedeva": dict(
        name="Екатерина Лебедева", kind="person", owner="anna",
        emails=["katya.lebedeva@gmail.example"], phones=["+7 926 300-20-10"],
        tags=["vip", "cosmetology"], source="referral", birthday=D("1985-12-24"),
        created=D("2024-09-10"),
        fields=dict(psychotype="expressive", age=40, loyalty_card="00042",
                    vip_since=D("2024-12-01"))),
    "fedorova": dict(
        name="Наталья Фёдорова", kind="person", org="atlant", owner="olga",
        emails=["n.fedorova@atlant-fitness.example"], tags=["fitness", "corporate"],
        source="2gis", birthday=D("1992-11-20"), created=D("2024-05-14"),
        fields=dict(psychotype="driver", age=34)),
    "belov": dict(
        name="Игорь Белов", kind="person", org="uraltekh", owner="dmitry",
        emails=["i.belov@uraltekhmash.example"], phones=["+7 343 210-00-01"],
        tags=["corporate"], source="yandex_direct", created=D("2025-06-18"),
        fields=dict(psychotype="analyst", age=52)),
    "popova": dict(
        name="Юлия Попова", kind="person", owner="anna",
        emails=["yulia.popova@mail.example"], tags=["cosmetology"], source="yandex_direct",
        created=D("2026-03-15"), fields=dict(age=24)),
    "novikov": dict(
        name="Павел Новиков", kind="person", org="berezka", owner="boris",
        emails=["p.novikov@berezovaya-roshcha.example"], phones=["+7 831 200-10-11"],
        tags=["spa-hotel"], source="referral", created=D("2024-01-15"),
        notes="Управляющий спа-комплексом отеля."),
    "clarke": dict(
        name="Emily Clarke", kind="person", org="brightline", owner="dmitry",
        emails=["emily.clarke@brightline.example"], phones=["+44 20 7946 0958"],
        tags=["corporate", "hr"], source="website", birthday=D("1988-06-12"),
        created=D("2025-01-20"), fields=dict(psychotype="analyst")),
    "obrien": dict(
        name="James O'Brien", kind="person", owner="boris",
        emails=["james.obrien@gmail.example"], phones=["+7 916 555-01-23"],
        tags=["massage", "expat"], source="website", created=D("2025-03-03"),
        fields=dict(psychotype="expressive", age=42)),
    "muller": dict(
        name="Sophie Müller", kind="person", org="nordic", owner="dmitry",
        emails=["sophie.muller@nordicspa.example"], tags=["supplier"],
        source="exhibition", opt_out=True, created=D("2024-03-05"),
        notes="Asked to be removed from newsletters; business e-mail only."),
    "brown": dict(
        name="Michael Brown", kind="person", org="grandvolga", owner="boris",
        emails=["m.brown@grandvolga.example"], tags=["spa-hotel"], source="exhibition",
        created=D("2024-01-22"), notes="General manager of Grand Volga."),
    "grigorieva": dict(
        name="Ксения Григорьева", kind="person", org="prana", owner="olga",
        emails=["ksenia@yoga.example"], tags=["yoga"], source="referral",
        birthday=D("1993-01-15"), created=D("2025-09-03"),
        fields=dict(psychotype="expressive", age=33)),
    "zaytsev": dict(
        name="Виктор Зайцев", kind="person", owner="boris",
        phones=["8 (831) 412-33-44"],
        address="Зайцеву Виктору Павловичу\nул. Садовая, д. 18, кв. 41\nг. Нижний Новгород\n603000",
        tags=["massage"], source="yandex_direct", created=D("2026-10-05"),
        notes="Нет e-mail — только письма и звонки."),
    "bianchi": dict(
        name="Laura Bianchi", kind="person", org="fitlife", owner="olga",
        emails=["laura@fitlife.example"], tags=["fitness"], source="instagram",
        created=D("2025-02-10"), fields=dict(psychotype="driver", age=36)),
    "kim": dict(
        name="Алина Ким", kind="person", owner="anna",
        emails=["alina.kim@mail.example"], phones=["+7 999 010-20-30"],
        tags=["cosmetology", "massage"], source="2gis", birthday=D("2001-02-18"),
        created=D("2026-10-28"), fields=dict(psychotype="diplomat", age=25)),
    "orlova": dict(
        name="Виктория Орлова", kind="person", owner="olga",
        emails=["vika.orlova@mail.example"], tags=["massage"], source="instagram",
        created=D("2026-11-12")),
}

# The hand-edited client (Grand Volga): not in canonical style on purpose.
GRANDVOLGA = dict(name="Grand Volga Spa Hotel", kind="organization", owner="boris",
                  source="exhibition", tags=["spa-hotel", "hotel"],
                  created=D("2024-01-22"), competitors=["zen"])

# --------------------------------------------------------------------------
# deals
# --------------------------------------------------------------------------
# (client, title, path, created, last, options)
# path: stages entered in order; history dates: created .. last, in between random.

P_MASSAGE = "Абонемент массаж 10"
P_SPADAY = "Spa day for teams"
P_COSMO = "Косметология курс"
P_CWP = "Corporate wellness program"
P_GIFT = "Подарочный сертификат"

FULL = "lead qualified proposal negotiation won"

DEALS = [
    # --- ООО Ромашка: 4 wins 2024..2026, an open proposal, a lost lead
    ("romashka", "Абонемент массаж 10 — сотрудники", FULL, "2024-02-20", "2024-04-10",
     dict(product=(P_MASSAGE, 8, 25000), source="exhibition", competitors=["wcg"])),
    ("romashka", "Йога для офиса", "lead lost", "2024-07-01", "2024-08-05",
     dict(amount=120000, lost_reason="нет бюджета")),
    ("romashka", "Spa day for teams — Новый год", "lead proposal won", "2024-11-10", "2024-12-15",
     dict(product=(P_SPADAY, 30, 6500), source="referral")),
    ("romashka", "Corporate wellness program 2025", FULL, "2025-06-01", "2025-09-25",
     dict(product=(P_CWP, 6, 150000), competitors=["wcg"],
          notes="Конкурировали с Wellness Corporate Group, выиграли за счёт выездных дней.")),
    ("romashka", "Абонемент массаж 10 — продление", "lead negotiation won", "2026-08-01", "2026-09-15",
     dict(product=(P_MASSAGE, 10, 32000), owner="boris")),
    ("romashka", "Spa day for teams — Новый год 2027", "lead qualified proposal", "2026-11-02", "2026-11-18",
     dict(product=(P_SPADAY, 40, 8500), expected_close="2026-12-20")),
    # --- Nordic Spa Supplies (EUR)
    ("nordic", "Helsinki team spa visit", "lead qualified proposal won", "2024-06-10", "2024-09-05",
     dict(amount=Decimal("4800"), currency="EUR")),
    ("nordic", "Wellness retreat for partners", FULL, "2025-09-01", "2025-11-10",
     dict(amount=Decimal("7250.50"), currency="EUR", source="referral")),
    ("nordic", "Annual supplier spa package", "lead qualified proposal lost", "2026-01-12", "2026-03-20",
     dict(amount=12000, currency="EUR", lost_reason="no budget")),
    ("nordic", "Spa day for teams 2027 (EUR)", "lead qualified", "2026-11-01", "2026-11-09",
     dict(amount=5600, currency="EUR", expected_close="2027-01-20")),
    # --- Спа-отель «Берёзовая роща»
    ("berezka", "Обучение массажистов отеля", "lead qualified proposal won", "2024-01-20", "2024-03-01",
     dict(amount=180000, source="referral")),
    ("berezka", "Косметология курс для гостей отеля", "lead proposal negotiation won", "2025-03-10", "2025-05-20",
     dict(product=(P_COSMO, 12, 18000))),
    ("berezka", "Массажисты на выездные сессии", "lead qualified lost", "2025-06-02", "2025-07-14",
     dict(amount=260000, lost_reason="price", lost_to="thai", competitors=["thai"])),
    ("berezka", "Новогодний спа-пакет для гостей", "lead qualified proposal won", "2025-11-05", "2025-12-25",
     dict(product=(P_SPADAY, 20, 7500), notes="Пакет для гостей отеля на новогодние праздники.")),
    ("berezka", "Партнёрская программа 2027", "lead qualified proposal negotiation", "2026-07-01", "2026-09-10",
     dict(amount=450000, expected_close="2026-12-31", competitors=["zen"],
          notes="Ждём решения собственника отеля; юрист отеля в отпуске.")),
    # --- Grand Volga (churned; its won deal is hand-edited)
    ("grandvolga", "Обновление спа-меню 2025", "lead qualified proposal negotiation lost", "2025-01-15", "2025-04-18",
     dict(amount=280000, lost_reason="chose competitor", lost_to="zen", competitors=["zen"])),
    ("grandvolga", "Возобновление сотрудничества", "lead", "2026-11-16", "2026-11-16",
     dict(amount=300000, expected_close="2027-01-31", source="exhibition")),
    # --- Фитнес-клуб «Атлант»
    ("atlant", "Массаж для тренеров клуба", "lead qualified proposal won", "2025-01-20", "2025-03-12",
     dict(product=(P_MASSAGE, 4, 28000))),
    ("atlant", "Годовой договор на спа-зону", "lead qualified lost", "2025-10-01", "2025-11-05",
     dict(amount=600000, lost_reason="дорого", lost_to="olimp", competitors=["olimp"])),
    ("atlant", "Восстановительный массаж после соревнований", "lead proposal won", "2026-04-15", "2026-05-20",
     dict(amount=95000, source="referral")),
    ("atlant", "Спа-зона для клуба — 2027", "lead qualified proposal", "2026-10-20", "2026-11-19",
     dict(amount=480000, owner="boris", competitors=["olimp"], expected_close="2027-01-15")),
    # --- FitLife Club
    ("fitlife", "Партнёрство по абонементам", "lead lost", "2025-05-12", "2025-06-09",
     dict(amount=150000, lost_reason="timing")),
    ("fitlife", "Spa day for teams — FitLife staff", "lead qualified proposal won", "2025-03-01", "2025-04-28",
     dict(product=(P_SPADAY, 15, 7500))),
    ("fitlife", "Cosmetology corner at FitLife", "lead qualified", "2026-11-05", "2026-11-12",
     dict(amount=240000, expected_close="2027-01-10", competitors=["beautylab"])),
    # --- Жемчужина: 3 wins, an open negotiation, a lost negotiation
    ("zhemchuzhina", "Обучение мастеров косметологии", "lead qualified proposal won", "2024-04-10", "2024-06-30",
     dict(product=(P_COSMO, 6, 18000), source="exhibition")),
    ("zhemchuzhina", "Косметология курс — весна 2025", "lead proposal won", "2025-02-20", "2025-04-15",
     dict(product=(P_COSMO, 8, 21000))),
    ("zhemchuzhina", "Аппаратная косметология — оборудование", "lead qualified proposal negotiation lost", "2025-09-15", "2025-12-10",
     dict(amount=300000, lost_reason="price", lost_to="beautylab", competitors=["beautylab"])),
    ("zhemchuzhina", "Косметология курс — осень 2026", FULL, "2026-08-20", "2026-10-20",
     dict(product=(P_COSMO, 10, 24000), competitors=["beautylab"])),
    ("zhemchuzhina", "Franchise wellness corner", "lead qualified proposal negotiation", "2026-10-01", "2026-11-10",
     dict(amount=900000, expected_close="2027-01-31", source="referral")),
    # --- АО Уралтехмаш: prospect
    ("uraltekh", "Corporate wellness program — пилот", FULL.replace("won", "lost"), "2025-06-20", "2025-10-16",
     dict(product=(P_CWP, 6, 180000), lost_reason="нет бюджета", competitors=["wcg"])),
    ("uraltekh", "Corporate wellness program 2027", "lead qualified proposal", "2026-09-01", "2026-09-20",
     dict(product=(P_CWP, 12, 165000), expected_close="2026-12-15", competitors=["wcg"],
          notes="Ждут утверждения бюджета на 2027 год.")),
    ("uraltekh", "Spa day for teams — уральский офис", "lead", "2026-11-20", "2026-11-20",
     dict(product=(P_SPADAY, 25, 8500), expected_close="2027-01-25")),
    # --- Brightline IT (USD)
    ("brightline", "Office massage days", "lead qualified proposal won", "2025-01-22", "2025-03-20",
     dict(amount=3200, currency="USD", source="website")),
    ("brightline", "Quarterly spa day (USD)", "lead qualified proposal lost", "2025-06-10", "2025-08-22",
     dict(amount=9000, currency="USD", lost_reason="chose competitor", lost_to="wcg", competitors=["wcg"])),
    ("brightline", "Corporate wellness program — Brightline", FULL, "2025-11-15", "2026-02-27",
     dict(amount=Decimal("14500.50"), currency="USD")),
    ("brightline", "Wellness program renewal 2027", "lead qualified proposal negotiation", "2026-10-15", "2026-11-16",
     dict(amount=16000, currency="USD", expected_close="2026-12-31")),
    # --- Йога-центр «Прана»
    ("prana", "Аренда спа-зоны для йога-ретрита", "lead proposal won", "2025-10-10", "2025-11-30",
     dict(amount=85000)),
    ("prana", "Совместные ретриты йога + спа", "lead qualified", "2026-08-05", "2026-08-20",
     dict(amount=300000, expected_close="2026-11-15",
          notes="Ксения обещала вернуться после отпуска.")),
    # --- Анна Смирнова: VIP, 3 wins
    ("smirnova", "Абонемент массаж 10", "lead proposal won", "2024-01-18", "2024-02-05",
     dict(product=(P_MASSAGE, 1, 25000), source="instagram")),
    ("smirnova", "Косметология курс", "lead qualified won", "2025-02-10", "2025-03-01",
     dict(product=(P_COSMO, 1, 21000))),
    ("smirnova", "Абонемент массаж 10 на двоих", "lead negotiation won", "2026-06-20", "2026-07-14",
     dict(product=(P_MASSAGE, 2, 30000), owner="olga")),
    ("smirnova", "Подарочный сертификат для мамы", "lead", "2026-11-25", "2026-11-25",
     dict(product=(P_GIFT, 2, 5000), no_amount=True, expected_close="2026-12-20")),
    # --- Елена Васильева
    ("vasilyeva", "Косметология курс — личный", "lead qualified proposal lost", "2026-02-10", "2026-04-07",
     dict(product=(P_COSMO, 1, 24000), lost_reason="дорого", lost_to="beautylab")),
    # --- Мария Иванова (churned, renewal open)
    ("ivanova", "Абонемент массаж 10", "lead qualified won", "2025-04-11", "2025-05-02",
     dict(product=(P_MASSAGE, 1, 28000), source="2gis")),
    ("ivanova", "Массаж для всей семьи", "lead qualified proposal negotiation lost", "2025-09-01", "2025-12-05",
     dict(amount=84000, lost_reason="timing")),
    ("ivanova", "Абонемент массаж 10 — продление", "lead proposal", "2026-11-03", "2026-11-10",
     dict(product=(P_MASSAGE, 1, 32000), expected_close="2026-12-05")),
    # --- Ольга Николаева (opt-out, churned)
    ("nikolaeva", "Массаж спины, курс 5 сеансов", "lead won", "2024-07-01", "2024-07-15",
     dict(amount=12500)),
    ("nikolaeva", "Фитнес-массаж, абонемент", "lead qualified lost", "2024-09-10", "2024-10-20",
     dict(amount=30000, notes="Причину отказа не выяснили.")),
    ("nikolaeva", "Абонемент массаж 10", "lead proposal won", "2024-12-01", "2024-12-20",
     dict(product=(P_MASSAGE, 1, 25000))),
    # --- Дмитрий Соколов
    ("sokolov", "Спортивный массаж — абонемент", "lead qualified lost", "2025-08-01", "2025-09-12",
     dict(amount=28000, lost_reason="дорого", lost_to="olimp", competitors=["olimp"])),
    ("sokolov", "Абонемент массаж 10", "lead qualified", "2026-11-08", "2026-11-14",
     dict(product=(P_MASSAGE, 1, 32000), expected_close="2026-12-10")),
    # --- Татьяна Морозова (churned)
    ("morozova", "Косметология курс", "lead proposal won", "2024-02-25", "2024-03-20",
     dict(product=(P_COSMO, 1, 18000), source="instagram")),
    ("morozova", "Косметология курс — повтор", "lead won", "2024-09-20", "2024-10-05",
     dict(product=(P_COSMO, 1, 18000))),
    ("morozova", "Пилинг и уход, курс", "lead qualified proposal lost", "2025-05-05", "2025-06-16",
     dict(amount=32000, lost_reason="chose competitor", lost_to="beautylab", competitors=["beautylab"])),
    # --- Алексей Волков (churned)
    ("volkov", "Абонемент массаж 10", "lead qualified proposal won", "2024-11-05", "2025-01-20",
     dict(product=(P_MASSAGE, 1, 28000))),
    ("volkov", "Массаж на дому", "lead lost", "2025-07-15", "2025-08-18",
     dict(amount=15000, lost_reason="не отвечает")),
    # --- Екатерина Лебедева (VIP, 3 wins, open negotiation)
    ("lebedeva", "Косметология курс VIP", "lead qualified proposal won", "2024-09-10", "2024-12-01",
     dict(product=(P_COSMO, 1, 21000), source="referral")),
    ("lebedeva", "Spa day for two", "lead proposal won", "2025-12-01", "2025-12-20",
     dict(amount=28000)),
    ("lebedeva", "Косметология курс", "lead qualified won", "2026-10-12", "2026-11-02",
     dict(product=(P_COSMO, 1, 24000))),
    ("lebedeva", "Годовой VIP-абонемент", "lead qualified negotiation", "2026-11-03", "2026-11-24",
     dict(amount=150000, expected_close="2026-12-15")),
    # --- Юлия Попова
    ("popova", "Косметология курс", "lead qualified proposal won", "2026-03-15", "2026-04-10",
     dict(product=(P_COSMO, 1, 21000), source="yandex_direct",
          notes="Весенняя акция: курс по цене 2025 года.")),
    ("popova", "Абонемент массаж 10", "lead", "2026-11-18", "2026-11-18",
     dict(product=(P_MASSAGE, 1, 32000), expected_close="2026-12-18")),
    # --- Emily Clarke
    ("clarke", "Personal spa package", "lead lost", "2026-01-26", "2026-02-16",
     dict(amount=450, currency="USD", lost_reason="timing")),
    # --- James O'Brien: last win exactly 365 days before today
    ("obrien", "Massage package 10 sessions", "lead qualified won", "2025-03-03", "2025-04-10",
     dict(product=(P_MASSAGE, 1, 28000), source="website")),
    ("obrien", "Spa day for two", "lead proposal won", "2025-11-10", "2025-11-27",
     dict(amount=26000)),
    # --- Ксения Григорьева: amount from quantity × unit_price
    ("grigorieva", "Подарочные сертификаты для учеников", "lead won", "2026-02-20", "2026-03-05",
     dict(product=(P_GIFT, 3, 5000), no_amount=True)),
    # --- new prospects, open leads (two of them stuck)
    ("zaytsev", "Абонемент массаж 10", "lead", "2026-10-05", "2026-10-05",
     dict(product=(P_MASSAGE, 1, 32000), expected_close="2026-11-30")),
    ("kim", "Косметология курс", "lead", "2026-10-28", "2026-10-28",
     dict(product=(P_COSMO, 1, 24000), expected_close="2026-12-01")),
    ("orlova", "Spa day for two", "lead", "2026-11-12", "2026-11-12",
     dict(amount=28000, expected_close="2026-12-24", owner="olga")),
    ("muller", "Nordic team spa weekend", "lead qualified proposal lost", "2024-10-01", "2024-11-25",
     dict(amount=6200, currency="EUR", lost_reason="timing", owner="dmitry")),
    ("brown", "Массаж для персонала отеля", "lead qualified lost", "2024-03-01", "2024-04-02",
     dict(amount=90000, lost_reason="дорого", lost_to="thai")),
    ("fedorova", "Косметология курс", "lead proposal won", "2026-06-01", "2026-06-20",
     dict(product=(P_COSMO, 1, 21000), owner="anna")),
    ("kuzmin", "Spa day for two", "lead won", "2026-02-05", "2026-02-14",
     dict(amount=24000)),
]

# the hand-edited won deal of Grand Volga
GV_DEAL = dict(title="Spa-меню для отеля Grand Volga", amount=350000, owner="boris",
               created=D("2024-02-01"),
               history=[("lead", "2024-02-01"), ("proposal", "2024-03-12"),
                        ("negotiation", "2024-05-20"), ("won", "2024-06-14")])

# --------------------------------------------------------------------------
# stakeholders
# --------------------------------------------------------------------------

def A(name, plan, responsible, resource=None, fact=None):
    return dict(name=name, plan=D(plan), fact=D(fact) if fact else None,
                responsible=responsible, resource=resource)


STAKEHOLDERS = {
    "berezka_sh": dict(
        name="Спа-отель «Берёзовая роща» — партнёрство", group="Партнёры", subgroup="Отели",
        status="partner", goal="Постоянный партнёр: две совместные программы в год",
        target_date=D("2026-12-31"), client="berezka", owner="boris",
        actions=[A("Презентация спа-программы для гостей", "2026-03-01", "boris",
                   "Презентация, пробные сеансы", fact="2026-03-05"),
                 A("Согласовать партнёрский договор 2027", "2026-11-15", "boris", "Юрист"),
                 A("Совместная акция на Новый год", "2026-12-10", "olga",
                   "50 000 ₽ рекламный бюджет")]),
    "assoc": dict(
        name="Ассоциация спа-индустрии", group="Отраслевые ассоциации", subgroup="Спа и велнес",
        status="moderator", goal="Войти в ассоциацию и получить стенд на её выставке",
        target_date=D("2026-06-30"), achieved=D("2026-05-20"), owner="anna",
        actions=[A("Подать заявку на членство", "2026-02-01", "anna", "Взнос 30 000 ₽",
                   fact="2026-02-03"),
                 A("Выступить на весеннем форуме", "2026-04-15", "anna", "Доклад и буклеты",
                   fact="2026-04-15"),
                 A("Стенд на выставке «Красота и здоровье»", "2026-05-20", "olga",
                   "Стенд, 2 мастера", fact="2026-05-20")],
        notes="Цель достигнута: приняты в ассоциацию 20 мая 2026."),
    "cityadmin": dict(
        name="Управление по делам молодёжи и спорта", group="Органы власти",
        subgroup="Муниципалитет", status="lobbyist",
        goal="Включить студию в городскую программу «Здоровый город»",
        target_date=D("2026-09-30"), owner="anna",
        actions=[A("Письмо-обращение в управление", "2026-05-10", "anna", "Письмо, портфолио",
                   fact="2026-05-12"),
                 A("Бесплатный мастер-класс на Дне города", "2026-08-10", "boris",
                   "3 массажиста, выездное оборудование", fact="2026-08-10"),
                 A("Встреча с начальником управления", "2026-09-15", "anna", "Коммерческое предложение")]),
    "blogger": dict(
        name="Блогер Елена Лисицына (@lena_beauty)", group="Медиа", subgroup="Блогеры",
        status="lobbyist", goal="Три рекламные интеграции в 2026 году",
        target_date=D("2026-12-31"), owner="anna",
        actions=[A("Первая интеграция: курс косметологии", "2026-06-01", "anna",
                   "Бесплатный курс косметологии", fact="2026-06-04"),
                 A("Вторая интеграция: спа-день", "2026-10-01", "anna", "Спа-день на двоих",
                   fact="2026-10-05"),
                 A("Третья интеграция: новогодний розыгрыш", "2026-12-05", "olga",
                   "3 подарочных сертификата")]),
    "hrclub": dict(
        name="HR-клуб «Кадры решают»", group="Сообщества", subgroup="HR-директора",
        status="moderator", goal="Five corporate leads from HR directors",
        target_date=D("2027-01-31"), owner="dmitry",
        actions=[A("Talk at the HR breakfast", "2026-10-22", "dmitry", "Slides, 20 trial vouchers",
                   fact="2026-10-22"),
                 A("Send the corporate wellness deck to members", "2026-11-20", "dmitry", "E-mail list"),
                 A("Host a club meeting at the studio", "2027-01-20", "dmitry", "Зал, кофе-брейк")]),
    "cosmetics": dict(
        name="Nordic Organics — поставщик косметики", group="Партнёры", subgroup="Поставщики",
        status="partner", goal="Скидка 15% на профессиональную косметику",
        target_date=D("2026-10-31"), owner="olga",
        actions=[A("Запросить прайс для партнёров", "2026-07-01", "olga", fact="2026-07-03"),
                 A("Переговоры о скидке", "2026-09-15", "olga", "Объём закупок за 2025 год")]),
    "medtour": dict(
        name="ООО МедТур", group="Партнёры", subgroup="Турагентства", status="client",
        goal="Wellness tours for their clients twice a year",
        target_date=D("2027-01-20"), owner="boris",
        actions=[A("Agree on a commission for spa tours", "2026-11-05", "boris", fact="2026-11-06"),
                 A("First group of tourists", "2026-12-12", "boris", "Spa day for 12 guests")]),
    "citypark": dict(
        name="Бизнес-центр «Сити Парк»", group="Корпоративные", subgroup="Бизнес-центры",
        status="client", goal="Pop-up massage point in the lobby",
        target_date=D("2026-08-31"), owner="dmitry",
        actions=[A("Meet the property manager", "2026-06-10", "dmitry", fact="2026-06-18"),
                 A("Pilot week in the lobby", "2026-08-01", "boris", "Massage chair, 2 therapists")],
        notes="Управляющая компания сменилась в июле;\nпилот отложен без даты."),
}

# --------------------------------------------------------------------------
# activity texts
# --------------------------------------------------------------------------

STAGE_ACTIVITY = {
    "lead": [("call", "Первичный звонок — интересуется: {t}"),
             ("email", "Заявка с сайта: {t}"),
             ("call", "Intro call about {t}"),
             ("visit", "Пришла на пробный сеанс, спросила про {t}")],
    "qualified": [("meeting", "Встреча: выяснили потребности и бюджет"),
                  ("call", "Уточнили количество участников и даты"),
                  ("meeting", "Needs assessment meeting, budget confirmed")],
    "proposal": [("email", "Отправили коммерческое предложение: {t}"),
                 ("email", "Sent the proposal for {t}"),
                 ("meeting", "Презентация предложения")],
    "negotiation": [("meeting", "Переговоры об условиях и скидке"),
                    ("call", "Обсудили скидку за объём"),
                    ("meeting", "Negotiation: payment terms and schedule")],
    "won": [("note", "Договор подписан, оплата получена"),
            ("email", "Contract signed, invoice paid"),
            ("call", "Подтвердили расписание сеансов")],
    "lost": [("call", "Клиент отказался — {r}"),
             ("note", "Lost the deal: {r}"),
             ("email", "Получили отказ, причина — {r}")],
}

TOUCH_TEXTS = [
    ("call", "Поздравили с праздником, напомнили об акции"),
    ("call", "Курсовой обзвон: довольна ли сеансами"),
    ("email", "Рассылка: новые программы сезона"),
    ("email", "Sent the seasonal price list"),
    ("call", "Check-in call, all good"),
    ("visit", "Зашёл без записи, записали на субботу"),
    ("note", "Предпочитает общение в мессенджере"),
    ("call", "Итог: перезвонить в следующем месяце"),
    ("meeting", "Кофе с клиентом, обсудили планы на год"),
]


def rand_time(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, rng.randint(9, 20), rng.choice([0, 15, 30, 45]))


def rand_between(a: date, b: date) -> date:
    return a + timedelta(days=rng.randint(0, max(0, (b - a).days)))


# --------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------

def build():
    comp_ids = {k: new_id(v["name"]) for k, v in COMPETITORS.items()}
    client_ids = {}
    for k, v in CLIENTS.items():
        client_ids[k] = new_id(v["name"])
        if k == "romashka":  # keep the hand-edited client next to it in the id stream
            client_ids["grandvolga"] = new_id(GRANDVOLGA["name"])
    cid, comp = client_ids, comp_ids

    clients = {}
    for k, v in CLIENTS.items():
        rec = dict(v)
        if "org" in rec:
            rec["org"] = cid[rec["org"]]
        if "competitors" in rec:
            rec["competitors"] = [comp[c] for c in rec["competitors"]]
        clients[cid[k]] = rec
    client_owner = {k: v["owner"] for k, v in CLIENTS.items()}
    client_owner["grandvolga"] = GRANDVOLGA["owner"]
    client_created = {k: v["created"] for k, v in CLIENTS.items()}
    client_created["grandvolga"] = GRANDVOLGA["created"]

    # ---- deals
    deals = {}
    deal_meta = []  # (deal id, client key, record)
    for ckey, title, path, created, last, opt in DEALS:
        stages = path.split()
        c0, c1 = D(created), D(last)
        assert c0 <= c1 <= TODAY, title
        mids = sorted(rand_between(c0, c1) for _ in stages[1:-1])
        dates = [c0] + mids + ([c1] if len(stages) > 1 else [])
        if len(stages) == 1:
            assert c0 == c1
        hist = [dict(stage=s, date=d) for s, d in zip(stages, dates)]
        rec = dict(title=title, client=cid[ckey], owner=opt.get("owner", client_owner[ckey]),
                   stage=stages[-1], history=hist, created=c0)
        if "product" in opt:
            p, q, up = opt["product"]
            rec.update(product=p, quantity=q, unit_price=up)
            if not opt.get("no_amount"):
                rec["amount"] = q * up
        if "amount" in opt:
            rec["amount"] = opt["amount"]
        for k in ("currency", "source", "lost_reason", "notes"):
            if k in opt:
                rec[k] = opt[k]
        if "expected_close" in opt:
            rec["expected_close"] = D(opt["expected_close"])
        if "competitors" in opt:
            rec["competitors"] = [comp[c] for c in opt["competitors"]]
        if "lost_to" in opt:
            rec["lost_to"] = comp[opt["lost_to"]]
        did = new_id(title)
        deals[did] = rec
        deal_meta.append((did, ckey, rec))
    gv_deal_id = new_id(GV_DEAL["title"])

    # ---- stakeholders
    sh_ids = {k: new_id(v["name"]) for k, v in STAKEHOLDERS.items()}
    stakeholders = {}
    for k, v in STAKEHOLDERS.items():
        rec = dict(v)
        if "client" in rec:
            rec["client"] = cid[rec["client"]]
        stakeholders[sh_ids[k]] = rec

    # ---- activities
    acts = []  # records; an activity gets its id later

    def act(ckey=None, type_="call", date_=None, status="done", comment=None, owner=None,
            deal=None, stakeholder=None, **kw):
        rec = dict(type=type_, status=status, date=date_, comment=comment)
        if ckey:
            rec["client"] = cid[ckey]
            rec["owner"] = owner or client_owner[ckey]
        else:
            rec["owner"] = owner
        if deal:
            rec["deal"] = deal
        if stakeholder:
            rec["stakeholder"] = sh_ids[stakeholder]
        if type_ in ("call", "meeting") and status == "done" and "minutes" not in kw:
            rec["minutes"] = rng.randint(5, 40) if type_ == "call" else rng.choice([30, 45, 60, 90, 120])
        rec.update({k: v for k, v in kw.items() if v is not None})
        acts.append(rec)
        return rec

    # persons who speak for an organization
    contact_of = {}
    for k, v in CLIENTS.items():
        if v.get("org") and v["org"] not in contact_of:
            contact_of[v["org"]] = k

    # one activity per history entry, most of the time
    for did, ckey, rec in deal_meta:
        for h in rec["history"]:
            d = h["date"]
            p = 0.15 if d.year == 2024 else 0.6
            if d >= date(2026, 10, 1):
                p = 0.85
            if rng.random() > p:
                continue
            type_, text = rng.choice(STAGE_ACTIVITY[h["stage"]])
            comment = text.format(t=rec["title"], r=rec.get("lost_reason", "не объяснил"))
            when = rand_time(d) if type_ in ("call", "meeting", "visit") and rng.random() < 0.35 else d
            who = ckey
            if ckey in contact_of and rng.random() < 0.3:
                who = contact_of[ckey]
            link = did if who == ckey and rng.random() < 0.22 else None
            act(who, type_, when, comment=comment, owner=rec["owner"], deal=link)

    # random touches between creation and today
    for k in list(CLIENTS) + ["grandvolga"]:
        for _ in range(rng.choice([0, 1, 1, 2])):
            d = rand_between(client_created[k], TODAY - timedelta(days=3))
            type_, text = rng.choice(TOUCH_TEXTS)
            if d.year == 2024 and rng.random() < 0.7:
                continue
            when = rand_time(d) if type_ in ("call", "meeting") and rng.random() < 0.3 else d
            act(k, type_, when, comment=text)

    # first contact of each client on its created date
    for k in list(CLIENTS) + ["grandvolga"]:
        src = CLIENTS.get(k, GRANDVOLGA)["source"]
        text = {"instagram": "Написала в Instagram, записали на консультацию",
                "exhibition": "Познакомились на выставке, обменялись контактами",
                "referral": "Пришли по рекомендации постоянного клиента",
                "website": "Contact form on the website",
                "yandex_direct": "Заявка по рекламе в Яндекс Директ",
                "2gis": "Нашли нас в 2ГИС, позвонили сами"}[src]
        if rng.random() < (0.25 if client_created[k].year == 2024 else 0.6):
            act(k, "call" if src != "website" else "email", client_created[k], comment=text)

    # complaints and feedback
    act("romashka", "complaint", D("2025-02-03"), "resolved",
        comment="Invoice had the wrong VAT amount", note="Выставили корректировочный счёт 05.02")
    act("ivanova", "complaint", D("2025-06-14"), "resolved",
        comment="Не пришло SMS-подтверждение записи")
    act("fitlife", "complaint", rand_time(D("2026-11-21")), "open",
        comment="Massage therapist was 15 minutes late for the staff session", owner="olga")
    act("morozova", "complaint", D("2025-05-30"), "resolved",
        comment="Покраснение кожи после пилинга",
        note="Консультация дерматолога за наш счёт; клиентка всё равно ушла")
    act("volkov", "complaint", D("2025-03-02"), "open", comment="Шумно в зоне отдыха, гремит ремонт")
    act("grandvolga", "complaint", D("2024-05-10"), "resolved",
        comment="Guests complained about the sauna temperature", note="Fixed the thermostat")
    act("romashka", "feedback", D("2024-12-20"), "resolved",
        comment="Сотрудники в восторге от новогоднего спа-дня")
    act("obrien", "feedback", D("2025-12-01"), "resolved",
        comment="Great massage, will recommend to colleagues")
    act("lebedeva", "feedback", D("2026-11-05"), "resolved", comment="Спасибо за курс, кожа сияет!")
    act("nordic", "feedback", D("2025-11-12"), "resolved", comment="The retreat exceeded expectations")
    act("atlant", "feedback", D("2026-05-25"), "open",
        comment="Предложили добавить вечерние слоты по будням")
    act("popova", "feedback", D("2026-04-20"), "resolved", comment="Всё понравилось, вернусь осенью")
    act("brightline", "feedback", D("2026-03-05"), "open",
        comment="Would like a vegan option for aroma oils", owner="dmitry")
    act("zhemchuzhina", "feedback", D("2024-07-05"), "resolved",
        comment="Мастера довольны обучением, просят продвинутый курс")

    # visits with a period, letters, notes
    act("romashka", "visit", DT("2026-09-15T10:00"), comment="Выездной спа-день в офисе",
        owner="boris", minutes=420, **{"from": DT("2026-09-15T10:00"), "to": DT("2026-09-15T17:00")})
    act("nordic", "visit", D("2025-10-20"), comment="Wellness retreat for Nordic partners, 3 days",
        **{"from": D("2025-10-20"), "to": D("2025-10-22")})
    act("berezka", "visit", D("2024-02-26"), comment="Обучение массажистов на базе отеля",
        **{"from": D("2024-02-26"), "to": D("2024-02-28")})
    act("prana", "visit", D("2026-08-20"), comment="Осмотрели зал для совместного ретрита")
    act("romashka", "letter", D("2025-12-20"), comment="Новогоднее поздравление и каталог программ 2026")
    act("zaytsev", "letter", D("2026-10-12"), comment="Письмо с прайс-листом и схемой проезда")
    act("berezka", "letter", D("2026-10-01"), comment="Проект партнёрского договора 2027 — на подпись")
    act("nikolaeva", "letter", D("2025-01-15"), comment="Поздравительная открытка с Новым годом")
    act("obrien", "note", D("2025-03-03"), comment="Prefers English-speaking therapists")
    act("kuzmin", "note", D("2024-03-01"),
        comment="Бюджет утверждает финансовый директор, Кузьмин только согласует")
    uraltekh_open = next(d for d, k, r in deal_meta
                         if k == "uraltekh" and r["title"] == "Corporate wellness program 2027")
    act(None, "note", D("2026-10-15"), deal=uraltekh_open, owner="dmitry",
        comment="Бюджет 2027 утвердят на совете директоров в декабре")

    # cancelled
    act("lebedeva", "meeting", DT("2026-06-10T12:00"), "cancelled",
        comment="Клиентка заболела, встречу перенесли")
    act("brightline", "call", D("2025-08-15"), "cancelled", comment="Emily on vacation, call cancelled")
    act("atlant", "meeting", D("2025-10-01"), "cancelled", comment="Директор клуба не смог прийти")
    act("grigorieva", "task", D("2026-09-01"), "cancelled", owner="olga", assigned_by="anna",
        comment="Подготовить афишу ретрита — ретрит отменён")

    # planned calls and meetings
    zh_open = next(d for d, k, r in deal_meta if k == "zhemchuzhina" and r["stage"] == "negotiation")
    bl_open = next(d for d, k, r in deal_meta if k == "brightline" and r["stage"] == "negotiation")
    act("zhemchuzhina", "meeting", DT("2026-12-08T11:00"), "planned", deal=zh_open,
        comment="Встреча с собственником сети по франшизе")
    act("brightline", "call", DT("2026-12-01T16:00"), "planned", deal=bl_open,
        comment="Renewal call with Emily and the CFO")
    act("romashka", "meeting", D("2026-12-10"), "planned", comment="Согласование новогоднего спа-дня")
    act("orlova", "call", D("2026-11-26"), "planned", comment="Перезвонить и подобрать дату спа-дня")

    # tasks: done and planned (some overdue, some due next week, some later)
    act("smirnova", "task", D("2025-11-25"), "done", owner="anna",
        comment="Поздравить Анну Смирнову с днём рождения")
    act("romashka", "task", D("2026-08-20"), "done", owner="boris", assigned_by="anna",
        comment="Подготовить договор на продление абонементов")
    act("lebedeva", "task", D("2026-10-20"), "done", owner="olga", assigned_by="anna",
        comment="Собрать отзыв о курсе косметологии")
    for ckey, owner, by, due, text in [
        ("romashka", "dmitry", "anna", "2026-11-20", "Подготовить КП на корпоративную программу 2027"),
        ("uraltekh", "dmitry", "anna", "2026-10-30", "Call Igor Belov about the pilot budget"),
        ("berezka", "boris", "anna", "2026-11-10", "Согласовать партнёрский договор 2027 с юристом отеля"),
        ("smirnova", "anna", None, "2026-11-27", "Поздравить Анну Смирнову с днём рождения — сертификат"),
        ("brightline", "dmitry", "anna", "2026-11-28", "Send the renewal contract for signature"),
        ("zhemchuzhina", "anna", None, "2026-11-30", "Подготовить расчёт франшизы wellness-уголка"),
        ("atlant", "boris", "anna", "2026-12-02", "Выслать обновлённую смету спа-зоны"),
        ("vasilyeva", "olga", "anna", "2026-12-03", "Поздравить Елену Васильеву с днём рождения"),
        ("zaytsev", "boris", "anna", "2026-12-04", "Позвонить Виктору Зайцеву: на письмо не ответил"),
        ("fitlife", "olga", "anna", "2026-12-15", "Prepare a cosmetology corner proposal for FitLife"),
        ("nordic", "dmitry", None, "2027-01-15", "Plan the 2027 team spa day with Sophie"),
        ("kim", "anna", None, "2026-11-24", "Перезвонить Алине Ким: выбрать дату консультации"),
    ]:
        act(ckey, "task", D(due), "planned", owner=owner, assigned_by=by, comment=text)

    # stakeholder activities
    act(None, "meeting", D("2026-04-15"), stakeholder="assoc", owner="anna",
        comment="Выступление на весеннем форуме ассоциации")
    act(None, "call", D("2026-08-11"), stakeholder="cityadmin", owner="anna",
        comment="Поблагодарили за приглашение на День города")
    act(None, "meeting", DT("2026-10-05T15:00"), stakeholder="blogger", owner="anna",
        comment="Съёмка второй интеграции в студии")
    act("berezka", "meeting", D("2026-03-05"), stakeholder="berezka_sh", owner="boris",
        comment="Презентация спа-программы для гостей отеля")
    act(None, "email", D("2026-11-12"), stakeholder="hrclub", owner="dmitry",
        comment="Sent thanks and trial vouchers to the HR breakfast guests")
    act(None, "meeting", D("2026-12-05"), "planned", stakeholder="citypark", owner="dmitry",
        comment="Новая управляющая компания: вернуться к пилоту")

    # follow-ups: `next` on each chosen client's latest done activity
    # (days after that activity; whether it is overdue on TODAY depends on its date)
    follow = {"romashka": 14, "smirnova": 1, "brightline": 7, "zhemchuzhina": 21,
              "ivanova": 10, "uraltekh": 5, "obrien": 45, "lebedeva": 30, "kuzmin": 7,
              "atlant": 14, "volkov": 30, "popova": 60}

    def day(v):
        return v.date() if isinstance(v, datetime) else v

    def key(v):
        return v if isinstance(v, datetime) else datetime(v.year, v.month, v.day)

    for ckey, nxt in follow.items():
        done = [a for a in acts if a.get("client") == cid[ckey] and a["status"] == "done"]
        done.sort(key=lambda a: key(a["date"]))
        latest = done[-1]
        if len(done) > 1 and day(done[-2]["date"]) == day(latest["date"]):
            latest["date"] = day(latest["date"])  # the tie-break is clear below
            done[-2]["date"] = day(done[-2]["date"]) - timedelta(days=1)
        latest["next"] = day(latest["date"]) + timedelta(days=nxt)
        # an older, superseded promise on an earlier activity
        if len(done) > 2:
            older = done[len(done) // 2]
            older["next"] = day(older["date"]) + timedelta(days=14)

    # ids and subfolders
    activities = {}
    for a in acts:
        if a.get("client"):
            base = f"{a['type']}-{base_slug(a['client'])}"
        elif a.get("stakeholder"):
            base = f"{a['type']}-{base_slug(a['stakeholder'])}"
        else:
            base = f"{a['type']}-{base_slug(a['deal'])}"
        aid = new_id(base)
        sub = "2024" if day(a["date"]).year == 2024 else ""
        activities[aid] = (sub, a)

    return dict(comp_ids=comp_ids, competitors={comp_ids[k]: v for k, v in COMPETITORS.items()},
                client_ids=cid, clients=clients, deals=deals, gv_deal_id=gv_deal_id,
                stakeholders=stakeholders, activities=activities)


# --------------------------------------------------------------------------
# hand-edited files
# --------------------------------------------------------------------------

def hand_client(cid, comp):
    return f"""\
# Grand Volga — карточка перенесена вручную из старой Excel-CRM (2024)
name: Grand Volga Spa Hotel
kind: organization
legacy_code: "A-17"        # код клиента в старой таблице
tags: [spa-hotel, hotel]   # flow list, as typed by hand
owner: boris               # раньше вела Ольга
created: 2024-01-22
source: exhibition
emails:
  - reservations@grandvolga.example
phones:
  - '+7 831 433-00-99'     # ресепшн
competitors:
  - {comp['zen']}   # забрали у нас спа-меню в 2025
notes: Бывший клиент; последний заказ — июнь 2024. Михаил Браун — GM.
"""


def hand_deal(cid):
    return f"""\
# Сделка заведена вручную, Борис, июнь 2024
stage: won
title: Spa-меню для отеля Grand Volga
client: {cid['grandvolga']}
amount: 350000   # без НДС
owner: boris
created: '2024-02-01'     # quoted date, as some editors write it
history:
  - {{stage: lead, date: 2024-02-01}}
  - {{stage: proposal, date: 2024-03-12}}      # qualified skipped
  - {{stage: negotiation, date: 2024-05-20}}
  - {{stage: won, date: 2024-06-14}}
source: exhibition
notes: |
  Договор № 17/2024.
  Оплата двумя частями: 50% аванс, 50% по факту.
"""


def hand_activity(cid):
    return f"""\
type: complaint    # жалоба пришла по телефону
client: {cid['smirnova']}
date: 2026-11-19T18:40
status: open
owner: anna
# TODO: поговорить с мастером и предложить компенсацию
comment: "Массажист опоздал на 20 минут, сеанс сокращён"
note: 'VIP-клиентка: решить до конца недели'
minutes: 15
"""


# --------------------------------------------------------------------------
# write
# --------------------------------------------------------------------------

def write(path: str, text: str):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main(argv):
    if len(argv) != 2:
        print("usage: make_data_example.py FOLDER", file=sys.stderr)
        return 2
    out = argv[1]
    if os.path.exists(out):
        if os.listdir(out) and not os.path.exists(os.path.join(out, "crm.yaml")):
            print(f"error: {out} exists and is not a crm data folder; refusing to remove it",
                  file=sys.stderr)
            return 1
        shutil.rmtree(out)
    data = build()
    cid, comp = data["client_ids"], data["comp_ids"]

    write(os.path.join(out, "crm.yaml"), CRM_YAML)
    write(os.path.join(out, ".gitignore"), ".crm/\n")
    for rid, rec in data["competitors"].items():
        write(os.path.join(out, "competitors", rid + ".yaml"), dump("competitor", rec))
    for rid, rec in data["clients"].items():
        write(os.path.join(out, "clients", rid + ".yaml"), dump("client", rec))
    write(os.path.join(out, "clients", cid["grandvolga"] + ".yaml"), hand_client(cid, comp))
    for rid, rec in data["deals"].items():
        write(os.path.join(out, "deals", rid + ".yaml"), dump("deal", rec))
    write(os.path.join(out, "deals", data["gv_deal_id"] + ".yaml"), hand_deal(cid))
    for rid, rec in data["stakeholders"].items():
        write(os.path.join(out, "stakeholders", rid + ".yaml"), dump("stakeholder", rec))
    for rid, (sub, rec) in data["activities"].items():
        write(os.path.join(out, "activities", sub, rid + ".yaml"), dump("activity", rec))
    write(os.path.join(out, "activities", new_id("complaint-" + base_slug(cid["smirnova"])) + ".yaml"),
          hand_activity(cid))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
