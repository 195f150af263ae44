"""``crm remind`` as cron, a calendar and a mail client see it (contract section 6)."""
from __future__ import annotations

import json
import socket
import subprocess
import textwrap
from email import policy
from email.parser import BytesParser

import pytest

from crmcli.store import init_folder
from tests.conftest import CRM, clean_env, run_crm

TODAY = "2026-03-10"

CRM_YAML = """\
name: Студия «Тест»
currency: RUB
pipeline: [lead, qualified, proposal, won]
lost_stage: lost
owners:
  anna: {{name: Анна Петрова, email: anna@example.com}}
  boris: {{name: Boris Ivanov, email: boris@example.com, manager: anna}}
  nomail: {{name: No Mail}}
cadence: {{customer: 90, prospect: 60}}
stuck_after: 30
churn_after: 365
smtp: {{host: 127.0.0.1, port: {port}, from: crm@example.com{extra}}}
"""

FILES = {
    "clients/acme.yaml": """
        name: ООО «Акме»
        owner: anna
        emails: [info@acme.example]
        created: 2025-01-01
    """,
    "clients/vera.yaml": """
        name: Вера Соколова
        kind: person
        owner: boris
        birthday: 1990-03-12
        created: 2026-01-01
    """,
    "clients/gleb.yaml": """
        name: Gleb Nobody
        kind: person
        birthday: 1985-03-10
        created: 2026-02-01
    """,
    "deals/won.yaml": """
        title: Первый заказ
        client: acme
        stage: won
        history:
        - {stage: lead, date: 2025-10-01}
        - {stage: won, date: 2025-12-01}
    """,
    "deals/stuck.yaml": """
        title: Годовой контракт
        client: acme
        stage: proposal
        history:
        - {stage: lead, date: 2026-01-05}
        - {stage: proposal, date: 2026-02-01}
    """,
    "deals/fresh.yaml": """
        title: Абонемент
        client: vera
        owner: boris
        stage: lead
        created: 2026-02-10
    """,
    "deals/gone.yaml": """
        title: Old
        client: vera
        stage: lost
        lost_reason: price
        created: 2025-01-01
    """,
    "activities/a1.yaml": """
        client: acme
        type: call
        status: done
        date: 2025-11-01
        owner: anna
        next: 2025-11-20
    """,
    "activities/a2.yaml": """
        client: acme
        type: call
        status: done
        date: 2025-12-05
        owner: boris
        comment: Обсудили продление
        next: 2026-03-08
    """,
    "activities/g1.yaml": """
        client: gleb
        type: meeting
        status: done
        date: 2026-02-15
    """,
    "activities/t1.yaml": """
        client: vera
        type: task
        status: planned
        date: 2026-03-09
        owner: anna
        comment: Перезвонить Вере
    """,
    "activities/t2.yaml": """
        client: acme
        type: call
        status: planned
        date: 2026-03-17T10:30
        comment: Презентация
    """,
    "activities/t3.yaml": """
        client: acme
        type: task
        status: cancelled
        date: 2026-03-01
    """,
    "activities/t5.yaml": """
        client: acme
        type: task
        status: planned
        date: 2026-03-18
        comment: Later
    """,
    "stakeholders/city.yaml": """
        name: Городская управа
        owner: boris
        goal: Разрешение на вывеску
        target_date: 2026-03-01
        actions:
        - {name: Письмо мэру, plan: 2026-03-05, responsible: anna}
        - {name: Встреча, plan: 2026-02-01, fact: 2026-02-02, responsible: anna}
        - {name: Презентация, plan: 2026-03-14, responsible: agency}
    """,
    "stakeholders/done.yaml": """
        name: Done Ltd
        owner: anna
        target_date: 2026-02-01
        achieved: 2026-01-20
    """,
}

# (kind, due, overdue_days, owner, record, client), hand-computed for 2026-03-10
DUE_TODAY = [
    ("target_date", "2026-03-01", 9, "boris", "city", None),        # not achieved
    ("no_contact", "2026-03-02", 8, "boris", "vera", "vera"),        # prospect, created + 60
    ("stuck_deal", "2026-03-03", 7, "anna", "stuck", "acme"),        # proposal 02-01 + 30, the client's owner
    ("no_contact", "2026-03-05", 5, "anna", "acme", "acme"),         # customer, last call 12-05 + 90
    ("stakeholder_action", "2026-03-05", 5, "anna", "city", None),   # the action's responsible
    ("follow_up", "2026-03-08", 2, "boris", "a2", "acme"),           # latest done call's next, its owner
    ("task", "2026-03-09", 1, "anna", "t1", "vera"),                 # the task's owner, not the client's
    ("birthday", "2026-03-10", 0, None, "gleb", "gleb"),             # nobody owns Gleb
]
DUE_WEEK = DUE_TODAY + [
    ("stuck_deal", "2026-03-12", -2, "boris", "fresh", "vera"),      # no history: created + 30
    ("birthday", "2026-03-12", -2, "boris", "vera", "vera"),
    ("stakeholder_action", "2026-03-14", -4, "boris", "city", None), # "agency" is no owner: the stakeholder's
    ("task", "2026-03-17", -7, "anna", "t2", "acme"),                # the window's last day is in
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_folder(root, port=None, extra=""):
    init_folder(root, "test")
    (root / "crm.yaml").write_text(CRM_YAML.format(port=port or free_port(), extra=extra), encoding="utf-8")
    for name, text in FILES.items():
        (root / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


@pytest.fixture
def scenario(tmp_path):
    return make_folder(tmp_path / "crm")


def remind(root, *args, env=None):
    return run_crm("--dir", root, "--today", TODAY, "remind", *args, env=env)


def rows(items):
    return [(i["kind"], i["due"], i["overdue_days"], i["owner"], i["record"], i["client"]) for i in items]


def test_scenario_every_kind_window_owner_and_order(scenario):
    r = remind(scenario, "--format", "json")
    assert r.code == 0 and r.err == "", r
    items = json.loads(r.out)
    assert rows(items) == DUE_TODAY
    assert all(list(i) == ["kind", "due", "overdue_days", "owner", "record", "client", "text"] for i in items)
    text = {(i["kind"], i["record"]): i["text"] for i in items}
    assert text["task", "t1"] == "Вера Соколова: Перезвонить Вере"
    assert text["follow_up", "a2"] == "ООО «Акме»: follow up on the call of 2025-12-05 (Обсудили продление)"
    assert text["stuck_deal", "stuck"] == 'ООО «Акме»: deal "Годовой контракт" in proposal since 2026-02-01 (37 days)'
    assert text["stakeholder_action", "city"] == "Городская управа: Письмо мэру"
    assert text["target_date", "city"] == "Городская управа: goal due by 2026-03-01: Разрешение на вывеску"
    assert text["birthday", "gleb"] == "Gleb Nobody: birthday, turns 41"

    week = json.loads(remind(scenario, "--days", "7", "-f", "json").out)
    assert rows(week) == DUE_WEEK
    anna = json.loads(remind(scenario, "--days", "7", "--owner", "anna", "-f", "json").out)
    assert rows(anna) == [row for row in DUE_WEEK if row[3] == "anna"]

    stuck = json.loads(remind(scenario, "--days", "7", "--kind", "stuck_deal", "--kind", "task", "-f", "json").out)
    assert rows(stuck) == [row for row in DUE_WEEK if row[0] in ("stuck_deal", "task")]

    table = remind(scenario, "--days", "7").out
    lines = table.splitlines()
    assert lines[0].split() == ["due", "when", "kind", "owner", "text"]
    assert len(lines) == 2 + len(DUE_WEEK)
    assert "9 days overdue" in lines[2] and "Городская управа" in lines[2]
    assert "today" in lines[9] and lines[-1].split()[1:4] == ["in", "7", "days"]
    assert not any(ch in table for ch in "│┌─\x1b")  # plain text, no box drawing, no colour


def test_bad_arguments_are_clear_errors(scenario):
    r = remind(scenario, "--owner", "nobody")
    assert r.code == 1 and r.out == "" and r.err.startswith("error:") and "unknown owner" in r.err
    r = remind(scenario, "--kind", "stuck")
    assert r.code == 1 and r.out == "" and "unknown kind 'stuck'" in r.err
    r = remind(scenario, "--days", "-1")
    assert r.code == 2 and r.out == ""
    r = remind(scenario, "--format", "xml")
    assert r.code == 2 and r.out == ""


def test_nothing_due_prints_nothing_under_cron(tmp_path):
    root = tmp_path / "empty"
    init_folder(root, "test")
    for env in ({"CRM_DIR": str(root)}, {"PATH": "/usr/bin:/bin", "LANG": "C", "CRM_DIR": str(root)}):
        p = subprocess.run([str(CRM), "remind", "--exit-code"], cwd="/", env=env, capture_output=True)
        assert (p.returncode, p.stdout, p.stderr) == (0, b"", b""), p


def test_cron_environment_plain_utf8(scenario):
    p = subprocess.run([str(CRM), "--today", TODAY, "remind"], cwd="/",
                       env={"PATH": "/usr/bin:/bin", "LANG": "C", "CRM_DIR": str(scenario)}, capture_output=True)
    assert p.returncode == 0 and p.stderr == b"", p
    out = p.stdout.decode("utf-8")
    assert "Городская управа" in out and "\x1b" not in out
    q = subprocess.run([str(CRM), "--dir", str(scenario), "--today", TODAY, "remind"], cwd="/", env={},
                       capture_output=True)
    assert q.returncode == 0 and q.stdout == p.stdout and q.stderr == b""


def test_exit_code_only_for_overdue(scenario, tmp_path):
    assert remind(scenario, "--exit-code").code == 1
    r = remind(scenario, "--exit-code", "--owner", "anna")
    assert r.code == 1 and r.out  # it still prints the list
    # a client added today is due a contact in 60 days: listed, not overdue
    root = tmp_path / "fresh"
    init_folder(root, "test")
    (root / "clients" / "new.yaml").write_text("name: New\ncreated: 2026-03-10\n", encoding="utf-8")
    r = remind(root, "--exit-code", "--days", "60")
    assert r.code == 0 and "in 60 days" in r.out


def test_broken_file_still_lists_the_rest_and_exits_1(scenario):
    (scenario / "clients" / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    r = remind(scenario, "-f", "json")
    assert r.code == 1 and "clients/broken.yaml" in r.err and "Traceback" not in r.err
    assert rows(json.loads(r.out)) == DUE_TODAY


def test_csv_and_formula_escaping(scenario):
    (scenario / "clients" / "evil.yaml").write_text('name: "=HYPERLINK(1)"\ncreated: 2026-01-09\n', encoding="utf-8")
    out = remind(scenario, "-f", "csv").out
    lines = out.splitlines()
    assert lines[0] == "kind,due,overdue_days,owner,record,client,text"
    assert "target_date,2026-03-01,9,boris,city,,Городская управа: goal due by 2026-03-01: Разрешение на вывеску" in lines
    assert any(line.startswith("no_contact,2026-03-10,0,,evil,evil,'=HYPERLINK(1)") for line in lines)


def test_ics_feed_parses_and_keeps_its_uids(scenario):
    from icalendar import Calendar
    first = remind(scenario, "--days", "7", "-f", "ics")
    assert first.code == 0 and first.out.startswith("BEGIN:VCALENDAR")
    cal = Calendar.from_ical(first.out)
    events = list(cal.walk("VEVENT"))
    assert len(events) == len(DUE_WEEK)
    assert [e.decoded("dtstart").isoformat() for e in events] == [row[1] for row in DUE_WEEK]
    assert str(events[0]["summary"]) == "Городская управа: goal due by 2026-03-01: Разрешение на вывеску"
    uids = [str(e["uid"]) for e in events]
    assert len(set(uids)) == len(uids)
    again = Calendar.from_ical(remind(scenario, "--days", "7", "-f", "ics").out)
    assert [str(e["uid"]) for e in again.walk("VEVENT")] == uids
    # a day later the same reminders keep their UIDs, so a subscribed calendar updates them
    later = run_crm("--dir", scenario, "--today", "2026-03-11", "remind", "--days", "6", "-f", "ics").out
    later_uids = {str(e["uid"]) for e in Calendar.from_ical(later).walk("VEVENT")}
    assert set(uids) - {"birthday-gleb-2026@crmcli"} <= later_uids  # Gleb's birthday is past
    # nothing due: still a valid (empty) calendar, so the subscribed feed empties instead of breaking
    empty = run_crm("--dir", scenario, "--today", "2020-01-01", "remind", "-f", "ics")
    assert empty.code == 0 and list(Calendar.from_ical(empty.out).walk("VEVENT")) == []


# --------------------------------------------------------------------- --mail

class Inbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self, auth=None):
        self.messages = []  # (envelope from, [rcpt], parsed message)
        self.logins = []
        self.auth = auth

    async def handle_DATA(self, server, session, envelope):
        msg = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
    servers = []

    def start(password=None):
        inbox = Inbox()
        kw = {}
        if password is not None:
            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = auth_data.login == b"crm" and auth_data.password == password.encode()
                inbox.logins.append((auth_data.login, ok))
                return AuthResult(success=ok)
            kw = {"authenticator": authenticator, "auth_require_tls": False, "auth_required": True}
        port = free_port()
        ctl = Controller(inbox, hostname="127.0.0.1", port=port, **kw)
        ctl.start()
        servers.append(ctl)
        return inbox, port

    yield start
    for ctl in servers:
        ctl.stop()


def test_mail_sends_each_owner_their_own_list(tmp_path, smtp_server):
    inbox, port = smtp_server()
    root = make_folder(tmp_path / "crm", port)
    r = remind(root, "--days", "7", "--mail")
    assert r.code == 0, r
    got = {tuple(rcpt): msg for _, rcpt, msg in inbox.messages}
    assert set(got) == {("anna@example.com",), ("boris@example.com",)}
    assert all(frm == "crm@example.com" for frm, _, _ in inbox.messages)
    anna, boris = got["anna@example.com",], got["boris@example.com",]
    assert anna["Subject"] == "Студия «Тест»: 5 reminders for 2026-03-10 (4 overdue)"
    assert str(anna["To"]) == "Анна Петрова <anna@example.com>"
    body = anna.get_content()
    assert "Вера Соколова: Перезвонить Вере" in body and "Письмо мэру" in body
    assert "Gleb" not in body and "Абонемент" not in body
    assert "Абонемент" in boris.get_content() and "Перезвонить" not in boris.get_content()
    # Gleb's birthday has no owner to mail: printed for cron's MAILTO, said on stderr
    assert "Gleb Nobody: birthday" in r.out and "no owner with an e-mail" in r.err


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_mail_with_login_password_from_the_environment(tmp_path, smtp_server):
    inbox, port = smtp_server(password="s3cret")
    root = make_folder(tmp_path / "crm", port, ", user: crm, password_env: CRM_SMTP_PASSWORD")
    r = remind(root, "--owner", "anna", "--mail", env=clean_env(CRM_SMTP_PASSWORD="s3cret"))
    assert r.code == 0 and r.out == "", r
    assert inbox.logins == [(b"crm", True)] and [rc for _, rc, _ in inbox.messages] == [["anna@example.com"]]
    r = remind(root, "--owner", "anna", "--mail")  # the variable is not set
    assert r.code == 1 and "CRM_SMTP_PASSWORD" in r.err and len(inbox.messages) == 1


def test_mail_unreachable_server_is_a_clear_error(scenario):
    r = remind(scenario, "--mail")
    assert r.code == 1, r
    assert r.err.startswith("error: cannot reach the SMTP server 127.0.0.1:") and "mailed: nobody" in r.err
    assert "Traceback" not in r.err


def test_mail_with_nothing_due_is_silent_and_connects_to_nothing(scenario):
    r = run_crm("--dir", scenario, "--today", "2020-01-01", "remind", "--mail")
    assert (r.code, r.out, r.err) == (0, "", "")
