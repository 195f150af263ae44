#!/usr/bin/env python3
"""Generate a realistic crmcli data folder of any size, deterministically.

    python bench/gen.py OUT --clients N [--seed 42] [--workers 2] [--today 2026-11-27] [--years 10]

A wellness studio's history over ``--years`` years up to ``--today``.  Per
client: 1-5 deals (mean 3) with a dated history through the pipeline (about
three fifths lost, with reasons and sometimes the competitor they went to; a
quarter won; the recent ones still open), 5-15 activities (mean 10: calls, meetings,
letters, complaints, tasks, some planned ahead, some with a ``next`` date);
one stakeholder per 10 clients, with planned and done actions.  Names,
comments and addresses are about 60 % Cyrillic and 40 % Latin; deals are in
RUB, USD, EUR and KZT, with dated rates in crm.yaml (owners, sources with
costs, custom fields too).

Files are written the way ``crm`` writes a new record:
``crmcli.codec.dump_mapping(crmcli.records.canonical(kind, record))``.
Ids have the shape of ``crmcli.ids.new_id`` -- ``slugify(name)`` plus ``-``
and a suffix of base-36 characters -- but the suffix comes from a seeded
permutation of the record's index instead of ``secrets``, so ids are
reproducible and never collide (4 characters up to 1.68 million records of a
type, 5 beyond).

The output depends only on ``--seed``, ``--clients``, ``--today`` and
``--years``: each client (with its deals and activities) and each stakeholder
is drawn from its own random generator, so any number of ``--workers`` gives
byte-identical folders (``diff -r`` says so).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crmcli.codec import dump_mapping  # noqa: E402
from crmcli.ids import slugify, transliterate  # noqa: E402
from crmcli.records import canonical  # noqa: E402

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
PIPELINE = ["lead", "qualified", "proposal", "negotiation", "won"]
LOST = "lost"
DEALS_STRIDE = 8      # at most 5 deals a client
ACTS_STRIDE = 16      # at most 15 activities a client
CHUNK = 250           # clients per work unit (a multiple of 10: stakeholders go by tens)

# ------------------------------------------------------------------ ids


class Suffixes:
    """A seeded bijection from record indexes to base-36 suffixes.

    A 4-round Feistel network over 36**w = (6**w)**2 values: any round
    function gives a permutation, so two indexes never share a suffix.
    """

    def __init__(self, seed: int, kind: str, capacity: int):
        self.width = 4
        while 36 ** self.width < capacity:
            self.width += 1
        self.half = 6 ** self.width
        rng = random.Random(f"{seed}/suffix/{kind}")
        self.keys = [rng.getrandbits(32) for _ in range(4)]

    def __call__(self, index: int) -> str:
        h = self.half
        left, right = divmod(index, h)
        for k in self.keys:
            f = ((right * 2654435761 + k) ^ (right >> 3) ^ (k >> 7)) * 40503
            left, right = right, (left + f) % h
        x = left * h + right
        out = []
        for _ in range(self.width):
            x, r = divmod(x, 36)
            out.append(ALPHABET[r])
        return "".join(reversed(out))


def make_id(title: str, fallback: str, suffix: str) -> str:
    """The shape of crmcli.ids.new_id, with a given suffix."""
    return f"{slugify(title) or fallback}-{suffix}"


# ------------------------------------------------------------------ word pools

RU_MALE = ["Алексей", "Дмитрий", "Сергей", "Андрей", "Михаил", "Иван", "Николай", "Павел", "Артём",
           "Владимир", "Евгений", "Олег", "Роман", "Виктор", "Игорь", "Максим", "Кирилл", "Юрий",
           "Григорий", "Фёдор", "Тимур", "Степан", "Антон", "Денис", "Илья"]
RU_FEMALE = ["Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Екатерина", "Светлана",
             "Юлия", "Алина", "Дарья", "Ксения", "Виктория", "Полина", "Валентина", "Людмила", "Вера",
             "Софья", "Алёна", "Марина", "Галина", "Надежда", "Лариса", "Жанна"]
RU_SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
               "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
               "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
               "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв",
               "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв"]
EN_FIRST_M = ["James", "John", "Michael", "David", "Thomas", "Daniel", "Matthew", "Mark", "Paul", "Peter",
              "Lukas", "Jonas", "Marco", "Pierre", "Erik", "Oliver", "Henrik", "Carlos", "Aziz", "Noah"]
EN_FIRST_F = ["Emma", "Olivia", "Sophie", "Laura", "Anna", "Julia", "Claire", "Hannah", "Maria", "Eva",
              "Chloe", "Lena", "Ingrid", "Aisha", "Sara", "Nina", "Isabel", "Grace", "Lucy", "Mia"]
EN_SURNAMES = ["Smith", "Brown", "Taylor", "Wilson", "Johnson", "O'Brien", "Müller", "Schmidt", "Rossi",
               "Dubois", "Larsen", "Novak", "García", "Kowalski", "Nielsen", "Fischer", "Martin", "Weber",
               "Bennett", "Clarke", "Hughes", "Kim", "Lee", "Silva", "Jansen", "Moreau", "Costa", "Berg"]
RU_ORG_FORMS = ["ООО", "ООО", "АО", "ИП"]
RU_ORG_WORDS = ["Ромашка", "Альфа", "Вектор", "Гармония", "Лотос", "Северное сияние", "Уралтехмаш",
                "Берёзка", "Восход", "Меридиан", "Созвездие", "Сибирские просторы", "Жемчужина",
                "Атлант", "Кристалл", "Олимп", "Горизонт", "Радуга", "Энергия", "Прогресс", "Волга-Трейд",
                "МедТур", "Здоровье+", "Спорт-Лайн", "Эко-Дом", "Невский", "Байкал", "Янтарь"]
RU_ORG_KINDS = ["", "", "Фитнес-клуб", "Салон красоты", "Спа-отель", "Бизнес-центр", "Клиника",
                "Школа танцев", "Банк", "Завод", "Агентство"]
EN_ORG_WORDS = ["Brightline", "Northwind", "Bluewave", "Greenfield", "Silverstone", "Redwood", "Summit",
                "Harbor", "Nordic", "Atlas", "Crescent", "Evergreen", "Pinnacle", "Horizon", "Vertex",
                "Blue Lagoon", "Golden Gate", "Maple", "Oakridge", "Sunrise"]
EN_ORG_KINDS = ["IT", "Consulting", "Logistics", "Fitness", "Spa & Resort", "Bank", "Studio", "Labs",
                "Media", "Hotels", "Pharma", "Solutions"]
EN_ORG_FORMS = ["Ltd", "LLC", "GmbH", "Inc", "Oy", ""]
RU_CITIES = [("Москва", "ул. Тверская", "125009"), ("Санкт-Петербург", "Невский пр.", "191025"),
             ("Нижний Новгород", "ул. Большая Покровская", "603005"), ("Казань", "ул. Баумана", "420111"),
             ("Екатеринбург", "ул. Малышева", "620014"), ("Новосибирск", "Красный пр.", "630099")]
EN_CITIES = [("London", "Baker Street", "NW1 6XE"), ("Berlin", "Friedrichstraße", "10117"),
             ("Helsinki", "Mannerheimintie", "00100"), ("Almaty", "Abay Ave", "050000"),
             ("Dubai", "Sheikh Zayed Rd", "00000"), ("Prague", "Wenceslas Square", "11000")]
TAGS = ["massage", "cosmetology", "fitness", "yoga", "spa", "vip", "corporate", "expat", "partner",
        "student", "family", "sport", "beauty", "newsletter", "wholesale"]
PSYCHOTYPES = ["diplomat", "analyst", "driver", "expressive"]

# product, RUB unit price, quantity range, Russian title, English title
PRODUCTS = [
    ("massage10", 32000, (1, 2), "Абонемент массаж 10", "Massage pass, 10 sessions"),
    ("massage5", 17000, (1, 3), "Абонемент массаж 5", "Massage pass, 5 sessions"),
    ("cosmo", 21000, (1, 1), "Косметология курс", "Cosmetology course"),
    ("spa_day", 9500, (1, 4), "Спа-день", "Spa day"),
    ("yoga", 12000, (1, 2), "Йога, абонемент на месяц", "Yoga, monthly pass"),
    ("fitness", 45000, (1, 1), "Фитнес, годовая карта", "Fitness, annual card"),
    ("gift", 5000, (1, 10), "Подарочный сертификат", "Gift certificate"),
    ("corporate", 180000, (1, 3), "Корпоративная программа здоровья", "Corporate wellness programme"),
    ("retreat", 95000, (1, 6), "Велнес-тур выходного дня", "Wellness weekend retreat"),
    ("cosmetics", 1800, (5, 60), "Профессиональная косметика", "Professional skincare products"),
]
LOST_REASONS = ["price", "price", "price", "competitor", "competitor", "no budget", "timing",
                "no response", "went elsewhere", "quality concerns", "moved away"]
COMPETITORS = [
    ("Beauty Lab", "https://beautylab.example", "Modern equipment; strong Instagram", "High staff turnover"),
    ("Zen Spa & Massage", "https://zen-spa.example", "Central location", "Small rooms; no parking"),
    ("Фитнес-сеть «Олимп-Фит»", "https://olimp-fit.example", "Many branches, low prices", "Crowded"),
    ("Спа-салон «Тайский рай»", "https://tai-ray.example", "Authentic Thai masters", "Expensive"),
    ("Wellness Corporate Group", "https://wcg.example", "Big corporate contracts", "Slow, bureaucratic"),
    ("Клиника «Эстетика»", "https://estetika.example", "Medical licence", "Long waiting list"),
    ("Body & Soul", "https://bodysoul.example", "Evening hours", "Few specialists"),
    ("Студия «Гармония тела»", "https://garmonia.example", "Loyal regulars", "Old equipment"),
]
OWNERS = [("anna", "Анна Петрова"), ("boris", "Борис Иванов"), ("olga", "Ольга Кузнецова"),
          ("dmitry", "Dmitry Orlov"), ("elena", "Елена Соколова"), ("ivan", "Иван Морозов"),
          ("maria", "Maria Schmidt"), ("sergey", "Сергей Волков"), ("pavel", "Павел Лебедев"),
          ("natalia", "Наталья Егорова"), ("victor", "Victor Larsen"), ("irina", "Ирина Фролова")]
SOURCES = {"instagram": 24, "exhibition": 18, "referral": 0, "website": 6, "yandex_direct": 32,
           "2gis": 4, "vk": 8, "telegram": 5, "partner": 2, "cold_call": 10}  # cost per client, RUB
ACT_TYPES = (["call"] * 30 + ["email"] * 18 + ["meeting"] * 12 + ["visit"] * 12 + ["note"] * 6
             + ["letter"] * 3 + ["task"] * 8 + ["complaint"] * 4 + ["feedback"] * 7)
RU_COMMENTS = {
    "call": ["Обсудили расписание", "Перезвонить через неделю", "Уточнили бюджет на {p}",
             "Не дозвонились, оставили сообщение", "Подтвердили запись на {p}", "Итог: ждут КП"],
    "email": ["Отправили коммерческое предложение: {p}", "Прислали прайс-лист", "Ответили на вопросы по {p}",
              "Напоминание о записи"],
    "meeting": ["Встреча: выяснили потребности и бюджет", "Переговоры об условиях и скидке",
                "Презентация программы «{p}»"],
    "visit": ["Пришла на пробный сеанс", "Визит в студию, экскурсия", "Пришёл на консультацию по {p}"],
    "note": ["Предпочитает вечерние сеансы после 19:00", "Аллергия на цитрусовые масла",
             "Просит не звонить до 10:00"],
    "letter": ["Отправили поздравительное письмо", "Письмо с договором на подпись"],
    "task": ["Подготовить КП на {p}", "Позвонить и напомнить о продлении", "Согласовать договор с юристом",
             "Поздравить с днём рождения"],
    "complaint": ["Массажист опоздал на 20 минут", "Жалоба на температуру в зале",
                  "Не понравился результат процедуры"],
    "feedback": ["Очень довольна, рекомендует друзьям", "Хвалит мастера Ирину", "Просит больше вечерних слотов"],
}
EN_COMMENTS = {
    "call": ["Discussed the schedule", "Call back next week", "Clarified the budget for {p}",
             "No answer, left a message", "Confirmed the booking: {p}", "Outcome: waiting for our offer"],
    "email": ["Sent the proposal: {p}", "Sent the price list", "Answered questions about {p}",
              "Booking reminder"],
    "meeting": ["Meeting: needs and budget", "Negotiated terms and a discount", "Presented «{p}»"],
    "visit": ["Came for a trial session", "Studio visit and tour", "Consultation about {p}"],
    "note": ["Prefers evening sessions after 7 pm", "Allergic to citrus oils", "Do not call before 10 am"],
    "letter": ["Sent a greeting letter", "Sent the contract for signature"],
    "task": ["Prepare an offer for {p}", "Call about the renewal", "Agree the contract with their lawyer",
             "Birthday greetings"],
    "complaint": ["The therapist was 20 minutes late", "Complained about the room temperature",
                  "Unhappy with the result of the treatment"],
    "feedback": ["Very happy, recommends us to friends", "Praises the therapist", "Asks for more evening slots"],
}
SH_GROUPS = [("Отраслевые ассоциации", "Спа и велнес"), ("Органы власти", "Спорт и молодёжь"),
             ("Медиа", "Блогеры"), ("Медиа", "Местная пресса"), ("Партнёры", "Поставщики"),
             ("Партнёры", "Отели"), ("Корпоративные", "Бизнес-центры"), ("Communities", "HR clubs"),
             ("Partners", "Tour operators"), ("Media", "Podcasts")]
SH_NAMES_RU = ["Ассоциация «{w}»", "Управление по делам молодёжи — {w}", "Блогер {n}", "Журнал «{w}»",
               "Поставщик «{w}»", "Бизнес-центр «{w}»", "Спа-отель «{w}» — партнёрство"]
SH_NAMES_EN = ["{w} Business Club", "{w} Media", "{w} Tours — partnership", "Podcast host {n}",
               "{w} Suppliers"]
SH_GOALS = ["Войти в ассоциацию и получить стенд на выставке", "Три рекламные интеграции в год",
            "Скидка 15% на профессиональную косметику", "Совместная программа для гостей отеля",
            "Включить студию в городскую программу", "Five corporate leads a quarter",
            "Pop-up massage point in the lobby", "Wellness tours twice a year"]
SH_ACTIONS = ["Подать заявку", "Встреча с руководством", "Выступить на форуме", "Подготовить буклеты",
              "Подписать соглашение", "Send the proposal", "Host a demo day", "Agree the media plan",
              "Пробный сеанс для команды", "Joint newsletter"]
SH_RESOURCES = ["Взнос 30 000 ₽", "Доклад и буклеты", "2 мастера, 1 день", "Budget 50 000 RUB",
                "Stand and two therapists", None]


# ------------------------------------------------------------------ the model


class Gen:
    """Everything a worker needs to draw records; cheap to build in each process."""

    def __init__(self, seed: int, clients: int, today: date, years: int):
        self.seed = seed
        self.n = clients
        self.today = today
        self.span = max(int(years * 365.25), 30)
        self.start = today - timedelta(days=self.span)
        n_owners = min(len(OWNERS), 3 + clients // 1000)
        self.owners = [o for o, _ in OWNERS[:n_owners]]
        self.sources = list(SOURCES)
        self.rates = make_rates(seed, self.start, today)
        self.sfx = {
            "client": Suffixes(seed, "client", clients),
            "deal": Suffixes(seed, "deal", clients * DEALS_STRIDE),
            "activity": Suffixes(seed, "activity", clients * ACTS_STRIDE),
            "stakeholder": Suffixes(seed, "stakeholder", clients // 10 + 1),
            "competitor": Suffixes(seed, "competitor", len(COMPETITORS)),
        }
        self.competitors = [make_id(c[0], "competitor", self.sfx["competitor"](i))
                            for i, c in enumerate(COMPETITORS)]

    # ---- a client's head: the first draws of its generator, recomputable
    def head(self, i: int):
        rng = random.Random(f"{self.seed}/c/{i}")
        latin = rng.random() < 0.4
        org = rng.random() < 0.3
        if org:
            if latin:
                name = " ".join(x for x in (rng.choice(EN_ORG_WORDS), rng.choice(EN_ORG_KINDS),
                                            rng.choice(EN_ORG_FORMS)) if x)
            else:
                kind = rng.choice(RU_ORG_KINDS)
                word = rng.choice(RU_ORG_WORDS)
                name = f"{kind} «{word}»" if kind else f"{rng.choice(RU_ORG_FORMS)} «{word}»"
            female = False
        else:
            female = rng.random() < 0.62
            if latin:
                name = f"{rng.choice(EN_FIRST_F if female else EN_FIRST_M)} {rng.choice(EN_SURNAMES)}"
            else:
                sur = rng.choice(RU_SURNAMES)
                name = f"{rng.choice(RU_FEMALE if female else RU_MALE)} {sur + 'а' if female else sur}"
        rid = make_id(name, "client", self.sfx["client"](i))
        return rng, name, latin, org, female, rid

    def day(self, rng, lo: date, hi: date) -> date:
        span = (hi - lo).days
        return lo + timedelta(days=rng.randint(0, span)) if span > 0 else lo

    # ---- one client with its deals and activities
    def client(self, i: int):
        rng, name, latin, org, female, rid = self.head(i)
        created = self.today - timedelta(days=int(self.span * rng.random() ** 1.4) + 1)
        owner = rng.choice(self.owners)
        rec: dict = {"name": name}
        if not org:
            rec["kind"] = "person"
            if rng.random() < 0.08:
                j = rng.randrange(self.n)
                _, _, _, jorg, _, jid = self.head(j)
                if jorg and j != i:
                    rec["org"] = jid
        rec["owner"] = owner
        base = transliterate(name).replace(" ", ".").replace("'", "")
        base = "".join(ch for ch in base if ch.isascii() and (ch.isalnum() or ch in "._-")).strip(".") or "client"
        if rng.random() < 0.85:
            rec["emails"] = [f"{base}{i % 97}@{'mail' if not org else 'corp'}.example"]
            if org and rng.random() < 0.3:
                rec["emails"].append(f"office{i % 89}@corp.example")
        if rng.random() < 0.9:
            rec["phones"] = [("+44 20 " if latin and rng.random() < 0.5 else "+7 9")
                             + f"{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"]
            if rng.random() < 0.05:
                rec["phones"].append(f"0{rng.randint(100, 999)} {rng.randint(100, 999)}")
        if org or rng.random() < 0.25:
            city, street, zip_ = rng.choice(EN_CITIES if latin else RU_CITIES)
            house = rng.randint(1, 120)
            rec["address"] = (f"{house} {street}\n{city} {zip_}" if latin
                              else f"{street}, д. {house}\n{city}, {zip_}")
        rec["tags"] = sorted(set(rng.sample(TAGS, rng.choice((0, 1, 1, 2, 2, 3)))))
        if org:
            rec["tags"] = sorted(set(rec["tags"]) | {"corporate"})
        rec["source"] = rng.choice(self.sources)
        if not org and rng.random() < 0.6:
            rec["birthday"] = date(rng.randint(1955, 2006), rng.randint(1, 12), rng.randint(1, 28))
        if rng.random() < 0.1:
            rec["competitors"] = sorted(set(rng.sample(self.competitors, rng.randint(1, 2))))
        if rng.random() < 0.05:
            rec["opt_out"] = True
        rec["created"] = created
        if not org:
            fields = {"psychotype": rng.choice(PSYCHOTYPES)}
            if "birthday" in rec:
                fields["age"] = self.today.year - rec["birthday"].year
            if rng.random() < 0.3:
                fields["loyalty_card"] = f"{rng.randint(0, 99999):05d}"  # keeps its leading zeros
            rec["fields"] = fields
        if rng.random() < 0.15:
            rec["notes"] = (rng.choice(EN_COMMENTS["note"]) if latin else rng.choice(RU_COMMENTS["note"]))

        deals = []
        n_deals = rng.choices((1, 2, 3, 4, 5), (12, 22, 32, 22, 12))[0]
        for j in range(n_deals):
            deals.append(self.deal(rng, i, j, rid, rec, latin, org))
        acts = []
        n_acts = rng.randint(5, 15)
        for j in range(n_acts):
            acts.append(self.activity(rng, i, j, rid, rec, latin, deals))
        return rid, rec, deals, acts

    def deal(self, rng, i, j, cid, client, latin, org):
        key, price, qty_range, ru, en = rng.choice(PRODUCTS if org else PRODUCTS[:7] + PRODUCTS[8:])
        title = en if latin else ru
        created = self.day(rng, client["created"], self.today)
        currency = "RUB"
        r = rng.random()
        if latin and r < 0.35 or not latin and r < 0.05:
            currency = rng.choice(("USD", "USD", "USD", "EUR", "EUR", "KZT"))
        qty = rng.randint(*qty_range)
        unit = Decimal(price)
        if currency != "RUB":
            step = Decimal(100) if currency == "KZT" else Decimal(1)
            unit = (Decimal(price) / rate_on(self.rates[currency], created) / step).quantize(Decimal(1)) * step
        rec: dict = {"title": title, "client": cid}
        rec["owner"] = client["owner"] if rng.random() < 0.85 else rng.choice(self.owners)
        rec["amount"] = unit * qty
        if currency != "RUB":
            rec["currency"] = currency
        history = [{"stage": "lead", "date": created}]
        day = created
        stage_i = 0
        outcome = None
        advance = (0.7, 0.72, 0.75, 0.7)
        while outcome is None:
            gap = int(rng.expovariate(1 / 8)) + 1
            nxt = day + timedelta(days=gap)
            if nxt > self.today:
                outcome = "open"
                break
            if rng.random() < advance[stage_i]:
                step = 2 if stage_i < 2 and rng.random() < 0.15 else 1
                stage_i = min(stage_i + step, len(PIPELINE) - 1)
                day = nxt
                history.append({"stage": PIPELINE[stage_i], "date": day})
                if stage_i == len(PIPELINE) - 1:
                    outcome = "won"
            else:
                age = (self.today - nxt).days
                if age > 120 and rng.random() < 0.95 or age <= 120 and rng.random() < 0.5:
                    day = nxt
                    history.append({"stage": LOST, "date": day})
                    outcome = "lost"
                else:
                    outcome = "open"
        rec["stage"] = history[-1]["stage"]
        rec["history"] = history
        rec["created"] = created
        if outcome == "open":
            rec["expected_close"] = day + timedelta(days=rng.randint(14, 60))
        if rng.random() < 0.4:
            rec["source"] = rng.choice(self.sources)
        rec["product"] = title
        rec["quantity"] = qty
        rec["unit_price"] = unit
        if rng.random() < 0.12:
            rec["competitors"] = [rng.choice(self.competitors)]
        if outcome == "lost":
            reason = rng.choice(LOST_REASONS)
            rec["lost_reason"] = reason
            if reason in ("competitor", "went elsewhere") or rng.random() < 0.1:
                rec["lost_to"] = rng.choice(self.competitors)
        if rng.random() < 0.08:
            rec["notes"] = "Скидка 10% постоянному клиенту" if not latin else "10% loyalty discount agreed"
        rid = make_id(title, "deal", self.sfx["deal"](i * DEALS_STRIDE + j))
        return rid, rec

    def activity(self, rng, i, j, cid, client, latin, deals):
        type_ = rng.choice(ACT_TYPES)
        hi = self.today + timedelta(days=30)
        when = self.day(rng, client["created"], hi)
        future = when > self.today
        if future and type_ not in ("task", "call", "meeting", "visit"):
            type_ = "task"
        rec: dict = {"client": cid}
        if deals and rng.random() < 0.4:
            did, d = rng.choice(deals)
            if d["created"] <= when:
                rec["deal"] = did
        rec["type"] = type_
        if future:
            status = "planned"
        elif type_ == "task":
            status = rng.choices(("done", "planned", "cancelled"), (85, 10, 5))[0]
        elif type_ == "complaint":
            status = "open" if (self.today - when).days < 60 and rng.random() < 0.6 else "resolved"
        elif type_ == "feedback":
            status = rng.choice(("done", "resolved"))
        else:
            status = "done" if rng.random() < 0.97 else "cancelled"
        rec["status"] = status
        if type_ in ("call", "meeting", "visit") and rng.random() < 0.6:
            rec["date"] = datetime(when.year, when.month, when.day, rng.randint(9, 20), rng.choice((0, 15, 30, 45)))
        else:
            rec["date"] = when
        if type_ == "meeting" and rng.random() < 0.1:
            rec["from"] = when
            rec["to"] = when + timedelta(days=rng.randint(1, 3))
        if type_ in ("call", "meeting", "visit") and status == "done":
            rec["minutes"] = rng.choice((5, 10, 15, 20, 30, 45, 60, 90))
        rec["owner"] = client["owner"] if rng.random() < 0.8 else rng.choice(self.owners)
        if type_ == "task" and rng.random() < 0.5:
            rec["assigned_by"] = self.owners[0]
        product = (rng.choice(PRODUCTS)[4] if latin else rng.choice(PRODUCTS)[3])
        comment = rng.choice((EN_COMMENTS if latin else RU_COMMENTS)[type_]).format(p=product)
        rec["comment"] = comment
        if rng.random() < 0.05:
            rec["note"] = "Call back: 12:30" if latin else "Перезвонить в 12:30"
        if status == "done" and type_ in ("call", "meeting", "visit", "email") and rng.random() < 0.25:
            rec["next"] = when + timedelta(days=rng.randint(7, 45))
        rid = make_id(f"{type_} {cid}", "activity", self.sfx["activity"](i * ACTS_STRIDE + j))
        return rid, rec

    def stakeholder(self, k: int):
        rng = random.Random(f"{self.seed}/s/{k}")
        latin = rng.random() < 0.4
        word = rng.choice(EN_ORG_WORDS if latin else RU_ORG_WORDS)
        person = (f"{rng.choice(EN_FIRST_F)} {rng.choice(EN_SURNAMES)}" if latin
                  else f"{rng.choice(RU_FEMALE)} {rng.choice(RU_SURNAMES)}а")
        name = rng.choice(SH_NAMES_EN if latin else SH_NAMES_RU).format(w=word, n=person)
        group, subgroup = rng.choice(SH_GROUPS)
        rec: dict = {"name": name, "group": group, "subgroup": subgroup,
                     "status": rng.choice(("partner", "client", "moderator", "lobbyist")),
                     "goal": rng.choice(SH_GOALS)}
        start = self.day(rng, self.start + timedelta(days=self.span // 2), self.today)
        target = start + timedelta(days=rng.randint(60, 540))
        rec["target_date"] = target
        if target <= self.today and rng.random() < 0.5:
            rec["achieved"] = target - timedelta(days=rng.randint(0, 40))
        if rng.random() < 0.2:
            c = min(k * 10 + rng.randrange(10), self.n - 1)
            rec["client"] = self.head(c)[5]
        owner = rng.choice(self.owners)
        rec["owner"] = owner
        actions = []
        plan = start
        for name_ in rng.sample(SH_ACTIONS, rng.randint(1, 4)):
            plan = plan + timedelta(days=rng.randint(7, 90))
            act = {"name": name_, "plan": plan}
            if plan <= self.today and rng.random() < 0.75:
                act["fact"] = plan + timedelta(days=rng.randint(0, 10))
                if act["fact"] > self.today:
                    act["fact"] = self.today
            act["responsible"] = owner if rng.random() < 0.7 else rng.choice(self.owners)
            res = rng.choice(SH_RESOURCES)
            if res:
                act["resource"] = res
            actions.append(act)
        rec["actions"] = actions
        return make_id(name, "stakeholder", self.sfx["stakeholder"](k)), rec


def make_rates(seed: int, start: date, today: date) -> dict[str, list[tuple[date, Decimal]]]:
    """Half-yearly rates (RUB for one unit) as a seeded random walk."""
    rng = random.Random(f"{seed}/rates")
    out = {}
    for cur, level, places in (("USD", 64.0, "0.1"), ("EUR", 72.0, "0.1"), ("KZT", 0.17, "0.0001")):
        table = []
        d = date(start.year, 1, 1)
        while d <= today:
            table.append((d, Decimal(str(level)).quantize(Decimal(places))))
            level *= 1 + rng.uniform(-0.08, 0.1)
            d = date(d.year + (d.month == 7), 1 if d.month == 7 else 7, 1)
        out[cur] = table
    return out


def rate_on(table, day: date) -> Decimal:
    rate = table[0][1]
    for d, r in table:
        if d <= day:
            rate = r
    return rate


# ------------------------------------------------------------------ writing


def write(path: str, text: str) -> int:
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return len(data)


_GEN: Gen | None = None


def _init(seed, clients, today, years):
    global _GEN
    _GEN = Gen(seed, clients, today, years)


def _work(args):
    out, lo, hi = args
    g = _GEN
    counts = [0, 0, 0, 0, 0]  # clients, deals, activities, stakeholders, bytes
    for i in range(lo, hi):
        rid, rec, deals, acts = g.client(i)
        counts[4] += write(f"{out}/clients/{rid}.yaml", dump_mapping(canonical("client", rec)))
        counts[0] += 1
        for did, d in deals:
            counts[4] += write(f"{out}/deals/{did}.yaml", dump_mapping(canonical("deal", d)))
        counts[1] += len(deals)
        for aid, a in acts:
            counts[4] += write(f"{out}/activities/{aid}.yaml", dump_mapping(canonical("activity", a)))
        counts[2] += len(acts)
        if i % 10 == 0:
            sid, s = g.stakeholder(i // 10)
            counts[4] += write(f"{out}/stakeholders/{sid}.yaml", dump_mapping(canonical("stakeholder", s)))
            counts[3] += 1
    return counts


def crm_yaml(g: Gen) -> str:
    cfg: dict = {
        "name": "Студия «Лотос» / Lotus Wellness Studio (benchmark data)",
        "currency": "RUB",
        "rates": {cur: {d.isoformat(): r for d, r in table} for cur, table in g.rates.items()},
        "pipeline": PIPELINE,
        "lost_stage": LOST,
        "owners": {},
        "cadence": {"customer": 90, "prospect": 60},
        "stuck_after": 30,
        "churn_after": 365,
        "sources": {s: {"cost": cost * g.n} for s, cost in SOURCES.items()},
        "activity_types": ["call", "meeting", "email", "letter", "visit", "complaint", "feedback", "task", "note"],
        "fields": {"psychotype": {"type": "choice", "values": PSYCHOTYPES},
                   "age": {"type": "integer"}, "loyalty_card": {"type": "text"}},
        "smtp": {"host": "localhost", "port": 25, "from": "studio@lotus.example"},
    }
    names = dict(OWNERS)
    for n, oid in enumerate(g.owners):
        info = {"name": names[oid], "email": f"{oid}@lotus.example"}
        if n:
            info["manager"] = g.owners[0] if n < 3 else g.owners[1 + n % 2]
        cfg["owners"][oid] = info
    return ("# generated by bench/gen.py: a benchmark folder, not real data\n"
            f"# today = {g.today.isoformat()}\n" + dump_mapping(cfg))


def generate(out: Path, clients: int, seed: int = 42, workers: int = 2, today: date = date(2026, 11, 27),
             years: int = 10, quiet: bool = False) -> dict:
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"gen.py: {out} exists and is not empty; choose a new folder")
    for sub in ("clients", "deals", "activities", "stakeholders", "competitors", ".crm"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / ".gitignore").write_text(".crm/\n")
    g = Gen(seed, clients, today, years)
    (out / "crm.yaml").write_text(crm_yaml(g), encoding="utf-8")
    for n, (name, site, strengths, weaknesses) in enumerate(COMPETITORS):
        rec = {"name": name, "website": site, "strengths": strengths, "weaknesses": weaknesses}
        write(str(out / "competitors" / f"{g.competitors[n]}.yaml"), dump_mapping(canonical("competitor", rec)))
    t0 = time.perf_counter()
    jobs = [(str(out), lo, min(lo + CHUNK, clients)) for lo in range(0, clients, CHUNK)]
    totals = [0, 0, 0, 0, 0]
    if workers <= 1 or len(jobs) <= 1:
        _init(seed, clients, today, years)
        results = map(_work, jobs)
    else:
        import multiprocessing
        pool = multiprocessing.get_context("fork").Pool(workers, _init, (seed, clients, today, years))
        results = pool.imap_unordered(_work, jobs)
    done = 0
    for counts in results:
        totals = [a + b for a, b in zip(totals, counts)]
        done += counts[0]
        if not quiet and sys.stderr.isatty():
            sys.stderr.write(f"\r{done}/{clients} clients")
    if workers > 1 and len(jobs) > 1:
        pool.close()
        pool.join()
    elapsed = time.perf_counter() - t0
    stats = {"clients": totals[0], "deals": totals[1], "activities": totals[2], "stakeholders": totals[3],
             "competitors": len(COMPETITORS), "files": sum(totals[:4]) + len(COMPETITORS),
             "record_bytes": totals[4], "seconds": round(elapsed, 2)}
    if not quiet:
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        sys.stderr.write(" ".join(f"{k}={v}" for k, v in stats.items()) + "\n")
    return stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="the folder to create (must not exist or be empty)")
    ap.add_argument("--clients", type=int, required=True, help="number of clients")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workers", type=int, default=2, help="processes writing files (default 2)")
    ap.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 27),
                    help="the day the history ends (default 2026-11-27)")
    ap.add_argument("--years", type=int, default=10, help="years of history (default 10)")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.clients < 1:
        ap.error("--clients must be at least 1")
    generate(args.out, args.clients, args.seed, args.workers, args.today, args.years, args.quiet)


if __name__ == "__main__":
    main()
