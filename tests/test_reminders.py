"""crmcli.reminders: the rules of contract section 6, on typed records, without disk or clock."""
from __future__ import annotations

from datetime import date, datetime

from crmcli.config import Config
from crmcli.reminders import FIELDS, due_items, to_ics, uid
from crmcli.store import Dataset

TODAY = date(2026, 3, 10)
D = date.fromisoformat


def cfg(**kw) -> Config:
    return Config(owners={"anna": {"name": "Anna", "email": "anna@example.com"},
                          "boris": {"name": "Boris", "email": "boris@example.com"}}, **kw)


def data(clients=(), deals=(), activities=(), stakeholders=()) -> Dataset:
    return Dataset(clients=list(clients), deals=list(deals), activities=list(activities),
                   stakeholders=list(stakeholders))


def kinds(items):
    return [(i["kind"], i["due"], i["overdue_days"], i["owner"], i["record"]) for i in items]


def test_item_has_exactly_the_contract_fields():
    items = due_items(data(clients=[{"id": "c", "name": "C", "created": D("2025-01-01")}]), cfg(), TODAY)
    assert [list(i) for i in items] == [list(FIELDS)]
    assert FIELDS == ("kind", "due", "overdue_days", "owner", "record", "client", "text")


def test_task_date_time_window_and_statuses():
    acts = [
        {"id": "t1", "client": "c", "type": "task", "status": "planned", "date": datetime(2026, 3, 12, 9, 30),
         "comment": "Call\nback"},
        {"id": "t2", "client": "c", "type": "call", "status": "planned", "date": D("2026-03-13")},
        {"id": "t3", "client": "c", "type": "task", "status": "cancelled", "date": D("2026-03-01")},
        {"id": "t4", "client": "c", "type": "task", "status": "planned"},  # no date: nothing to remind
    ]
    clients = [{"id": "c", "name": "Acme", "owner": "boris"}]
    items = due_items(data(clients, activities=acts), cfg(), TODAY, days=2)
    assert kinds(items) == [("task", "2026-03-12", -2, "boris", "t1")]
    assert items[0]["text"] == "Acme: Call back" and items[0]["client"] == "c"
    items = due_items(data(clients, activities=acts), cfg(), TODAY, days=3)
    assert [i["record"] for i in items] == ["t1", "t2"] and items[1]["text"] == "Acme: call"


def test_task_owner_activity_then_deal_then_client():
    clients = [{"id": "c", "name": "Acme", "owner": "anna"}]
    deals = [{"id": "d", "title": "Big", "client": "c", "owner": "boris", "stage": "won",
              "history": [{"stage": "won", "date": D("2026-01-01")}]}]
    acts = [{"id": "a1", "client": "c", "status": "planned", "date": TODAY, "owner": "vera"},
            {"id": "a2", "deal": "d", "status": "planned", "date": TODAY},
            {"id": "a3", "client": "c", "status": "planned", "date": TODAY}]
    got = {i["record"]: (i["owner"], i["client"]) for i in due_items(data(clients, deals, acts), cfg(), TODAY)
           if i["kind"] == "task"}
    assert got == {"a1": ("vera", "c"), "a2": ("boris", "c"), "a3": ("anna", "c")}


def test_follow_up_only_from_the_latest_done_activity_up_to_today():
    clients = [{"id": "c", "name": "Acme", "owner": "anna", "created": D("2026-01-01")}]
    acts = [
        {"id": "old", "client": "c", "type": "call", "status": "done", "date": D("2026-02-01"), "next": D("2026-02-05")},
        {"id": "new", "client": "c", "type": "meeting", "status": "done", "date": datetime(2026, 2, 20, 15, 0),
         "next": D("2026-03-09"), "owner": "boris", "comment": "Talked"},
        # a done activity dated after today does not count (--today looks back in time)
        {"id": "later", "client": "c", "type": "call", "status": "done", "date": D("2026-03-20")},
    ]
    items = due_items(data(clients, activities=acts), cfg(), TODAY)
    assert kinds(items) == [("follow_up", "2026-03-09", 1, "boris", "new")]
    assert items[0]["text"] == "Acme: follow up on the meeting of 2026-02-20 (Talked)"
    # the latest has no next: no follow-up, even though an older one had
    acts[1] = {**acts[1], "next": None}
    assert due_items(data(clients, activities=acts), cfg(), TODAY) == []


def test_no_contact_cadence_by_status_and_created_fallback():
    clients = [{"id": "cust", "name": "Cust", "owner": "anna", "created": D("2024-01-01")},
               {"id": "pros", "name": "Pros", "owner": "boris", "created": D("2026-01-09")},
               {"id": "former", "name": "Former", "created": D("2020-01-01")},
               {"id": "blank", "name": "No dates at all"}]
    deals = [{"id": "w1", "title": "W", "client": "cust", "stage": "won", "history": [{"stage": "won", "date": D("2025-10-01")}]},
             {"id": "w2", "title": "W", "client": "former", "stage": "won", "history": [{"stage": "won", "date": D("2024-01-01")}]},
             # won only after today: not a customer yet on TODAY
             {"id": "w3", "title": "W", "client": "pros", "stage": "won", "history": [{"stage": "won", "date": D("2026-05-01")}]}]
    acts = [{"id": "a", "client": "cust", "type": "call", "status": "done", "date": D("2025-12-10")},
            {"id": "b", "deal": "w2", "type": "call", "status": "done", "date": D("2025-12-11")}]
    c = cfg(cadence={"customer": 90, "prospect": 60})
    got = kinds(due_items(data(clients, deals, acts), c, TODAY))
    # cust: 2025-12-10 + 90 = 2026-03-10; pros: created + 60 = 2026-03-10; former (via its deal's
    # activity) 2025-12-11 + 90 = 2026-03-11 (customer cadence for former customers too)
    assert got == [("no_contact", "2026-03-10", 0, "anna", "cust"), ("no_contact", "2026-03-10", 0, "boris", "pros")]
    got = kinds(due_items(data(clients, deals, acts), c, TODAY, days=1))
    assert got[-1] == ("no_contact", "2026-03-11", -1, None, "former")
    texts = [i["text"] for i in due_items(data(clients, deals, acts), c, TODAY, days=1)]
    assert texts[0] == "Cust: last contact 2025-12-10 (90 days ago); customers are contacted every 90 days"
    assert texts[1] == "Pros: no contact since added on 2026-01-09; prospects are contacted every 60 days"
    assert "former customers are contacted every 90 days" in texts[2]


def test_stuck_deal_from_the_last_entry_into_its_stage():
    clients = [{"id": "c", "name": "Acme", "owner": "anna"}]
    deals = [
        {"id": "d1", "title": "Deal one", "client": "c", "stage": "proposal",
         "history": [{"stage": "proposal", "date": D("2025-12-01")}, {"stage": "lead", "date": D("2026-01-01")},
                     {"stage": "proposal", "date": D("2026-02-08")}]},           # due 03-10
        {"id": "d2", "title": "Deal two", "client": "c", "stage": "lead", "owner": "boris",
         "created": D("2026-02-09")},                                           # no history: created, due 03-11
        {"id": "d3", "title": "Won", "client": "c", "stage": "won", "created": D("2020-01-01")},
        {"id": "d4", "title": "Lost", "client": "c", "stage": "lost", "created": D("2020-01-01")},
    ]
    got = due_items(data(clients, deals), cfg(stuck_after=30), TODAY, days=1)
    assert kinds(got) == [("stuck_deal", "2026-03-10", 0, "anna", "d1"), ("stuck_deal", "2026-03-11", -1, "boris", "d2")]
    assert got[0]["text"] == 'Acme: deal "Deal one" in proposal since 2026-02-08 (30 days)'


def test_stakeholder_actions_and_target_date():
    sh = {"id": "s", "name": "City Hall", "owner": "boris", "goal": "A permit", "target_date": D("2026-03-01"),
          "actions": [{"name": "Letter", "plan": D("2026-03-05"), "fact": None, "responsible": "anna"},
                      {"name": "Meeting", "plan": D("2026-02-01"), "fact": D("2026-02-02"), "responsible": "anna"},
                      {"name": "Show", "plan": D("2026-03-11"), "fact": None, "responsible": "an agency"}]}
    got = due_items(data(stakeholders=[sh]), cfg(), TODAY, days=1)
    assert kinds(got) == [("target_date", "2026-03-01", 9, "boris", "s"),
                          ("stakeholder_action", "2026-03-05", 5, "anna", "s"),
                          ("stakeholder_action", "2026-03-11", -1, "boris", "s")]  # not an owner: the stakeholder's
    assert got[0]["text"] == "City Hall: goal due by 2026-03-01: A permit"
    assert got[1]["text"] == "City Hall: Letter"
    achieved = {**sh, "achieved": D("2026-02-28"), "actions": []}
    assert due_items(data(stakeholders=[achieved]), cfg(), TODAY) == []
    achieved_later = {**achieved, "achieved": D("2026-03-20")}  # not yet on TODAY
    assert len(due_items(data(stakeholders=[achieved_later]), cfg(), TODAY)) == 1


def test_birthdays_only_inside_the_window_and_29_february():
    clients = [{"id": "a", "name": "Ann", "owner": "anna", "birthday": D("1990-03-10")},
               {"id": "b", "name": "Bob", "birthday": D("1992-02-29")},
               {"id": "p", "name": "Past", "birthday": D("1980-03-09")}]  # yesterday: not "overdue"
    got = due_items(data(clients), cfg(), D("2027-02-27"), days=2)
    assert kinds(got) == [("birthday", "2027-02-28", -1, None, "b")]
    got = due_items(data(clients), cfg(), TODAY)
    assert kinds(got) == [("birthday", "2026-03-10", 0, "anna", "a")] and got[0]["text"] == "Ann: birthday, turns 36"


def test_sorted_by_due_then_kind_and_owner_filter():
    clients = [{"id": "c", "name": "Acme", "owner": "anna", "birthday": D("1990-03-10"), "created": D("2026-01-09")}]
    acts = [{"id": "t", "client": "c", "status": "planned", "date": TODAY, "owner": "boris"},
            {"id": "u", "client": "c", "status": "planned", "date": D("2026-03-01")}]
    items = due_items(data(clients, activities=acts), cfg(), TODAY)
    assert [(i["kind"], i["record"]) for i in items] == [("task", "u"), ("task", "t"), ("no_contact", "c"),
                                                       ("birthday", "c")]
    assert [i["record"] for i in due_items(data(clients, activities=acts), cfg(), TODAY, owner="boris")] == ["t"]


def test_ics_uids_are_stable_and_distinct():
    sh = {"id": "s", "name": "City", "actions": [{"name": "A", "plan": TODAY}, {"name": "A", "plan": TODAY},
                                                 {"name": "B", "plan": TODAY}]}
    items = due_items(data(stakeholders=[sh]), cfg(), TODAY)
    assert uid(items[0]) == uid(dict(items[0], due="2026-03-11"))  # a moved plan keeps its event
    from icalendar import Calendar
    cal = Calendar.from_ical(to_ics(items, "Studio", TODAY))
    uids = [str(e["UID"]) for e in cal.walk("VEVENT")]
    assert len(uids) == 3 == len(set(uids))
    assert to_ics(items, "Studio", TODAY) == to_ics(items, "Studio", TODAY)


def test_a_kept_summary_of_the_activities_gives_the_same_items_while_it_holds():
    """remind keeps ``activity_summary`` between runs (see
    tests/cli/test_remind_memo.py): by hand, when it holds and when not."""
    from crmcli.records import Columns
    from crmcli.reminders import ACTIVITY_FIELDS, activity_summary, summary_holds
    clients = [{"id": "c", "name": "C", "created": D("2025-01-01")},
               {"id": "e", "name": "E", "created": D("2025-01-01")}]
    deals = [{"id": "d", "client": "c", "stage": "lead", "created": D("2026-01-05")}]
    acts = [
        {"id": "a1", "client": "c", "type": "call", "status": "done", "date": D("2026-02-01"), "next": D("2026-03-01")},
        {"id": "a2", "deal": "d", "type": "call", "status": "done", "date": datetime(2026, 2, 1, 10, 0),
         "next": D("2026-03-02"), "comment": "via the deal"},   # same day, with a time: the latest
        {"id": "a3", "client": "c", "type": "meeting", "status": "done", "date": D("2026-03-20")},  # after TODAY
        {"id": "t1", "client": "e", "type": "task", "status": "planned", "date": D("2026-03-11"), "comment": "Call"},
    ]
    whole = data(clients, deals, acts)
    summary = activity_summary(Columns.of_records(acts, ACTIVITY_FIELDS), {"d": "c"}, TODAY)
    assert summary["last"]["c"][2] == "a2" and summary["via"] == {"d": "c"}
    assert summary["after"] == D("2026-03-20") and [p[0] for p in summary["planned"]] == ["t1"]
    assert summary_holds(summary, {"d": "c"}, TODAY)
    assert summary_holds(summary, {"d": "c"}, D("2026-03-19"))        # nothing done in between
    assert not summary_holds(summary, {"d": "c"}, D("2026-03-20"))    # a3 counts from then on
    assert not summary_holds(summary, {"d": "c"}, D("2026-03-09"))    # an earlier day: not known
    assert not summary_holds(summary, {"d": "e"}, TODAY)              # the deal's client changed
    assert not summary_holds(summary, {}, TODAY)                      # the deal is gone
    for day, days, who in ((TODAY, 0, None), (TODAY, 30, "anna"), (D("2026-03-19"), 5, None),
                           (D("2026-03-25"), 0, None), (D("2026-03-01"), 10, None)):
        assert due_items(whole, cfg(), day, days, who, summary) == due_items(whole, cfg(), day, days, who)
    # a summary that does not hold, and no activities to work one out from
    import pytest
    from crmcli.reminders import NeedActivities
    bare = data(clients, deals)
    bare.columns["activity"] = Columns({"id": []}, 0)
    with pytest.raises(NeedActivities):
        due_items(bare, cfg(), D("2026-03-25"), 0, None, summary)
    assert due_items(bare, cfg(), TODAY, 0, None, summary) == due_items(whole, cfg(), TODAY)
