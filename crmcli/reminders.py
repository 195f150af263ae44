"""What is due: the reminders of contract section 6, from records and a given today.

Pure: typed records and settings in, plain data out.  Nothing here reads the
disk or the clock; ``today`` is always an argument.

An item is a dict with exactly the keys of the contract's JSON::

    {"kind", "due", "overdue_days", "owner", "record", "client", "text"}

``due`` is an ISO date, ``overdue_days`` = today - due (negative for items
still ahead), ``owner`` whoever must act, ``record`` the id the item comes
from, ``client`` the client it concerns (or None), ``text`` one line naming the
client or stakeholder and what is due.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from operator import itemgetter

from crmcli.query import won_statuses

KINDS = ("task", "follow_up", "no_contact", "stuck_deal", "stakeholder_action", "target_date", "birthday")
FIELDS = ("kind", "due", "overdue_days", "owner", "record", "client", "text")
# what the rules read of clients, deals and activities: they read them as
# columns (``Store.load_all(columns=AS_COLUMNS)``), stakeholders as records
CLIENT_FIELDS = ("id", "name", "owner", "created", "birthday")
DEAL_FIELDS = ("id", "client", "owner", "stage", "@entered", "@won_day", "title")   # @: records.derived
ACTIVITY_FIELDS = ("id", "status", "date", "client", "deal", "stakeholder", "owner", "comment", "type", "next")
AS_COLUMNS = {"client": CLIENT_FIELDS, "deal": DEAL_FIELDS, "activity": ACTIVITY_FIELDS}
_GROUP = {"customer": "customers", "former": "former customers", "prospect": "prospects"}


def _day(value) -> date | None:
    kind = type(value)
    if kind is date:
        return value
    if kind is datetime or isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _when(value) -> tuple:
    """A sort key for a date or a date-time (a date sorts before its times)."""
    if isinstance(value, datetime):
        return (value.date(), 1, value.time())
    return (value, 0, None)


def one_line(text) -> str:
    """Text on one line: any run of whitespace (newlines too) becomes a space."""
    return " ".join(str(text).split()) if text is not None else ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class NeedActivities(Exception):
    """``due_items`` was given a summary of the activities that does not
    hold, and no activities to work it out from."""


def activity_summary(acts, deal_client: dict, today: date) -> dict:
    """What the rules take from the activities, worked out in one pass over
    them (at 100,000 clients, a million): each client's latest done
    activity up to ``today`` and every planned one, with what ``summary_holds``
    needs to tell whether it still holds on another day.

    ``last``: client id -> (day, date, id, next, type, comment, owner) of
    its latest done activity (by date, then time -- a date alone before its
    times --, then id); ``planned``: (id, day, client, deal, stakeholder,
    owner, comment, type) of each planned activity, in the columns' order;
    ``via``: deal id -> its client, for the done activities that name only
    a deal; ``upto``: ``today``; ``after``: the first day after it that
    has a done activity of a known client (None: none)."""
    a_id, a_date, a_client, a_next, a_type, a_comment, a_owner = (
        acts[f] for f in ("id", "date", "client", "next", "type", "comment", "owner"))
    a_sh = acts["stakeholder"]
    last_done: dict[str, tuple[date, int]] = {}   # client id -> (day, its latest done activity)
    planned: list[tuple] = []
    via: dict = {}
    after = None
    for i, (status, when, cid, did) in enumerate(zip(acts["status"], a_date, a_client, acts["deal"])):
        if status is None:
            status = "done"
        elif status != "planned" and status != "done":
            continue
        if type(when) is date:
            day = when
        else:
            day = _day(when)
            if day is None:
                continue
        if status == "planned":
            planned.append((a_id[i], day, cid, did, a_sh[i], a_owner[i], a_comment[i], a_type[i]))
            continue
        if cid is None:
            cid = via[did] = deal_client.get(did)
            if cid is None:
                continue
        if day <= today:
            prev = last_done.get(cid)
            # the latest by date, then time (a date alone before its times), then id
            if prev is None or day > prev[0] or (day == prev[0] and (_when(when), a_id[i])
                                                 > (_when(a_date[prev[1]]), a_id[prev[1]])):
                last_done[cid] = (day, i)
        elif after is None or day < after:
            after = day
    last = {cid: (day, a_date[i], a_id[i], a_next[i], a_type[i], a_comment[i], a_owner[i])
            for cid, (day, i) in last_done.items()}
    return {"last": last, "planned": planned, "via": via, "upto": today, "after": after}


def summary_holds(summary: dict, deal_client: dict, today: date) -> bool:
    """Does ``activity_summary`` of the same activities give ``summary``
    on ``today``, with the deals' clients as ``deal_client`` says?"""
    if today != summary["upto"]:
        after = summary["after"]
        if today < summary["upto"] or after is not None and after <= today:
            return False
    get = deal_client.get
    return all(get(did) == cid for did, cid in summary["via"].items())


def due_items(data, cfg, today: date, days: int = 0, owner: str | None = None,
              summary: dict | None = None, kept: list | None = None) -> list[dict]:
    """Every reminder due on or before ``today + days`` (birthdays: in
    ``[today, today + days]``), for everyone or one ``owner``, sorted by due
    date (so overdue first), then by kind, text and record.

    ``summary``: the activities' ``activity_summary`` as kept from an
    earlier run, used when it holds (``summary_holds``); else the
    activities are read (``NeedActivities`` when they were not loaded);
    the summary used is appended to ``kept``."""
    horizon = today + timedelta(days=days)
    clients = data.columns_of("client", CLIENT_FIELDS)
    deals = data.columns_of("deal", DEAL_FIELDS, cfg)
    names = dict(zip(clients["id"], clients["name"]))
    owners = dict(zip(clients["id"], clients["owner"]))
    deal_client = dict(zip(deals["id"], deals["client"]))
    deal_owner = dict(zip(deals["id"], deals["owner"]))
    stakeholders = {s["id"]: s for s in data.stakeholders}
    items: list[dict] = []

    def client_name(cid):
        name = names.get(cid)
        return one_line(name) if name else (cid or "")

    client_owner = owners.get

    def add(kind, due, who, record, client, text):
        if owner is not None and who != owner:
            return
        items.append({"kind": kind, "due": due.isoformat(), "overdue_days": (today - due).days,
                      "owner": who, "record": record, "client": client, "text": text})

    # --- activities: tasks, and each client's last contact --------------------
    if summary is None or not summary_holds(summary, deal_client, today):
        acts = data.columns_of("activity", ACTIVITY_FIELDS)
        if not acts.cols.keys() >= set(ACTIVITY_FIELDS):   # loaded for the summary's sake only
            raise NeedActivities()
        summary = activity_summary(acts, deal_client, today)
    if kept is not None:
        kept.append(summary)
    for aid, day, cid, did, sid, a_owner, comment, a_type in summary["planned"]:
        if day > horizon:
            continue
        direct = cid
        if cid is None and did in deal_client:
            cid = deal_client[did]
        sh = stakeholders.get(sid)
        if cid is None and sh is not None:
            cid = sh.get("client")
        who = (a_owner or deal_owner.get(did) or (sh or {}).get("owner")
               or client_owner(cid))
        if direct is None and sh is not None:
            name = one_line(sh.get("name")) or sh["id"]
        elif cid is not None:
            name = client_name(cid)
        else:
            name = aid
        what = one_line(comment)
        kind_word = a_type or "task"
        if not what:
            what = kind_word
        elif kind_word != "task":
            what = f"{kind_word}: {what}"
        add("task", day, who, aid, cid, f"{name}: {what}")
    last_done = summary["last"]

    # --- follow-ups and contact cadence, per client ---------------------------
    status_of = won_statuses(deals["stage"], deals["client"], deals["@won_day"], cfg.won_stage,
                             cfg.churn_after, today).get
    for cid, c_owner, created in zip(clients["id"], clients["owner"], clients["created"]):
        last = last_done.get(cid)
        if last is not None:
            since, _, aid, nxt, a_type, comment, a_owner = last
            due = _day(nxt)
            if due is not None and due <= horizon:
                what = f"follow up on the {a_type or 'contact'} of {since.isoformat()}"
                comment = one_line(comment)
                if comment:
                    what += f" ({comment})"
                add("follow_up", due, a_owner or c_owner, aid, cid,
                    f"{client_name(cid)}: {what}")
        else:
            since = _day(created)
        status = status_of(cid, "prospect")
        cadence = cfg.cadence.get("prospect" if status == "prospect" else "customer")
        if cadence is None or since is None:
            continue
        due = since + timedelta(days=cadence)
        if due <= horizon:
            name = client_name(cid)
            if last is not None:
                age = (today - since).days
                what = f"last contact {since.isoformat()} ({_plural(age, 'day')} ago)"
            else:
                what = f"no contact since added on {since.isoformat()}"
            add("no_contact", due, c_owner, cid, cid,
                f"{name}: {what}; {_GROUP[status]} are contacted every {_plural(cadence, 'day')}")

    # --- deals stuck in a stage ---------------------------------------------
    closed = {cfg.won_stage, cfg.lost_stage}
    stuck_after = timedelta(days=cfg.stuck_after)
    for did, cid, d_owner, stage, entered, _, title in zip(*(deals[f] for f in DEAL_FIELDS)):
        if stage is None or stage in closed or entered is None:
            continue
        due = entered + stuck_after
        if due > horizon:
            continue
        title = one_line(title) or did
        add("stuck_deal", due, d_owner or client_owner(cid), did, cid,
            f"{client_name(cid)}: deal \"{title}\" in {stage} since {entered.isoformat()}"
            f" ({_plural((today - entered).days, 'day')})")

    # --- stakeholders: planned actions and goals ------------------------------
    for sid, s in stakeholders.items():
        name = one_line(s.get("name")) or sid
        cid = s.get("client")
        fallback = s.get("owner") or client_owner(cid)
        for act in s.get("actions") or []:
            plan = _day(act.get("plan"))
            if plan is None or act.get("fact") is not None or plan > horizon:
                continue
            resp = act.get("responsible")
            who = resp if resp is not None and (resp in cfg.owners or not cfg.owners) else fallback
            if who is None:
                who = resp
            add("stakeholder_action", plan, who, sid, cid, f"{name}: {one_line(act.get('name'))}")
        target = _day(s.get("target_date"))
        achieved = _day(s.get("achieved"))
        if target is not None and target <= horizon and (achieved is None or achieved > today):
            goal = one_line(s.get("goal"))
            add("target_date", target, fallback, sid, cid,
                f"{name}: goal due by {target.isoformat()}" + (f": {goal}" if goal else ""))

    # --- birthdays in [today, horizon] ----------------------------------------
    for cid, c_owner, birthday in zip(clients["id"], clients["owner"], clients["birthday"]):
        born = _day(birthday)
        if born is None:
            continue
        for year in range(today.year, horizon.year + 1):
            day = _anniversary(born, year)
            if day is None or day < today or day > horizon or year <= born.year:
                continue
            age = year - born.year
            turns = f", turns {age}" if age < 130 else ""
            add("birthday", day, c_owner, cid, cid, f"{client_name(cid)}: birthday{turns}")

    order = {k: i for i, k in enumerate(KINDS)}
    items.sort(key=lambda i: (i["due"], order[i["kind"]], i["text"], i["record"]))
    return items


def stage_entered(deal: dict) -> date | None:
    """The day a deal entered its current stage, as the stuck-deal rule
    takes it: its history's last entry into that stage, else its last entry,
    else ``created`` (kept in the index as the deals' ``@entered``)."""
    stage = deal.get("stage")
    history = deal.get("history") or []
    entered = None
    for h in history:
        if h.get("stage") == stage:
            entered = _day(h.get("date"))
    if entered is None:
        entered = _day(history[-1].get("date")) if history else _day(deal.get("created"))
    return entered


def _anniversary(born: date, year: int) -> date | None:
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February in a common year: the 28th
        return date(year, 2, 28)


# --- rendering -----------------------------------------------------------------

def when_text(overdue_days: int) -> str:
    if overdue_days > 0:
        return f"{_plural(overdue_days, 'day')} overdue"
    if overdue_days == 0:
        return "today"
    return f"in {_plural(-overdue_days, 'day')}"


def table_columns(items: list[dict], with_owner: bool = True) -> tuple[list[str], list[list]]:
    """The table's headers and its cells column by column (for
    ``render.columns_table``; each column taken out in C)."""
    headers = ["due", "when", "kind"] + (["owner"] if with_owner else []) + ["text"]
    columns = [list(map(itemgetter("due"), items)),
               list(map(when_text, map(itemgetter("overdue_days"), items))),
               list(map(itemgetter("kind"), items))]
    if with_owner:
        columns.append([who or "" for who in map(itemgetter("owner"), items)])
    columns.append(list(map(itemgetter("text"), items)))
    return headers, columns


def csv_rows(items: list[dict]) -> tuple[list[str], list[list]]:
    return list(FIELDS), [[i[k] for k in FIELDS] for i in items]


def uid(item: dict) -> str:
    """A UID that stays the same from run to run for the same reminder, so a
    subscribed calendar updates an event instead of adding a second one."""
    kind, record = item["kind"], item["record"]
    if kind == "stakeholder_action":
        # a stakeholder has several actions: tell them apart by their text
        import hashlib
        key = hashlib.sha1(item["text"].encode("utf-8")).hexdigest()[:10]
        return f"{kind}-{record}-{key}@crmcli"
    if kind == "birthday":
        return f"{kind}-{record}-{item['due'][:4]}@crmcli"
    return f"{kind}-{record}@crmcli"


def to_ics(items: list[dict], calendar_name: str, today: date, owners: dict | None = None) -> bytes:
    """An iCalendar feed (RFC 5545) with one all-day event per item."""
    from datetime import timezone

    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//crmcli//crm remind//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{calendar_name}: reminders")
    stamp = datetime(today.year, today.month, today.day, tzinfo=timezone.utc)
    seen: dict[str, int] = {}
    for item in items:
        due = date.fromisoformat(item["due"])
        ev = Event()
        key = uid(item)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:  # the same action twice in one stakeholder
            key = key.replace("@", f"-{seen[key]}@", 1)
        ev.add("uid", key)
        ev.add("dtstamp", stamp)
        ev.add("dtstart", due)
        ev.add("dtend", due + timedelta(days=1))
        ev.add("summary", item["text"])
        who = item["owner"]
        if who and owners and owners.get(who, {}).get("name"):
            who = f"{owners[who]['name']} ({who})"
        lines = [f"kind: {item['kind']}", f"record: {item['record']}"]
        if item["client"]:
            lines.append(f"client: {item['client']}")
        if who:
            lines.append(f"owner: {who}")
        ev.add("description", "\n".join(lines))
        ev.add("categories", [item["kind"]])
        ev.add("transp", "TRANSPARENT")
        cal.add_component(ev)
    return cal.to_ical()


def by_owner(items: list[dict]) -> dict:
    """Items grouped by owner (None for items nobody owns), in first-seen order."""
    out: dict = {}
    for i in items:
        out.setdefault(i["owner"], []).append(i)
    return out
