"""``crm mail TEMPLATE``: .eml files, SMTP sending, letters (contract section 8)."""
from __future__ import annotations

import socket
from email import policy
from email.parser import BytesParser

import pytest

from crmcli.store import Store, init_folder
from tests.conftest import run_crm

TODAY = "2026-03-10"

CRM_YAML = """\
name: Студия «Тест»
owners:
  anna: {{name: Анна Петрова, email: anna@example.com}}
  boris: {{name: Boris Ivanov, email: boris@example.com}}
fields:
  age: {{type: integer}}
smtp: {{host: 127.0.0.1, port: {port}, from: crm@example.com}}
"""

CLIENTS = {
    "alina": "name: Алина Ким\nkind: person\nowner: anna\nemails: [alina@example.com]\ntags: [vip]\n"
             "fields:\n  age: 25\n",
    # a name with a line break, as a hand-edited file may hold: it must not add a header
    "evil": 'name: "Evil\\nBcc: victim@evil.example"\nemails: [evil@example.com]\ntags: [vip]\n',
    "optout": "name: Opted Out\nemails: [no@example.com]\ntags: [vip]\nopt_out: true\n"
              "address: |-\n  1 Quiet Lane\n  London\n",
    "postal": "name: Пётр Почтов\nowner: boris\ntags: [vip]\naddress: |-\n  ул. Ленина, д. 1, кв. 2\n  Москва 101000\n",
    "both": "name: Boris Client\nowner: boris\nemails: [both@example.com, second@example.com]\ntags: [vip]\n"
            "address: 5 Main St, Springfield\n",
    "other": "name: Not VIP\nemails: [other@example.com]\n",
}

TEMPLATE = """\
Subject: Привет, {{ name }}!
Reply-To: {{ owner.email }}

Здравствуйте, {{ name }}!
{% if fields.age %}Вам {{ fields.age }}.
{% endif %}Ваш менеджер: {{ owner.name }}.
{{ studio }}, {{ today }}
"""

VIP_MAIL = {"alina", "evil", "both"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def shop(tmp_path):
    def make(port=None):
        root = tmp_path / "crm"
        init_folder(root, "test")
        (root / "crm.yaml").write_text(CRM_YAML.format(port=port or free_port()), encoding="utf-8")
        for rid, text in CLIENTS.items():
            (root / "clients" / f"{rid}.yaml").write_text(text, encoding="utf-8")
        tpl = tmp_path / "offer.txt"
        tpl.write_text(TEMPLATE, encoding="utf-8")
        return root, tpl
    return make


def crm(root, *args):
    return run_crm("--dir", root, "--today", TODAY, *args)


def email_activities(root):
    """The email activities in the folder, read back as typed records."""
    acts, problems = Store(root).load("activity")
    assert problems == []
    return sorted((a["client"], a["type"], a["status"], a["date"].isoformat(), a["comment"]) for a in acts
                  if a.get("type") == "email")


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


class Inbox:
    def __init__(self):
        self.messages = []
        self.refuse = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    inbox, port = Inbox(), free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, port
    ctl.stop()


def test_out_writes_one_parsable_eml_per_client(shop, tmp_path):
    root, tpl = shop()
    out = tmp_path / "outbox"
    r = crm(root, "mail", tpl, "--tag", "vip", "--out", out)
    assert r.code == 0 and r.out == "", r
    assert "skipped 2 client(s): 1 opted out, 1 without an e-mail address" in r.err
    assert {p.name for p in out.iterdir()} == {f"{c}.eml" for c in VIP_MAIL}
    raw = (out / "alina.eml").read_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # every header RFC 2047 encoded
    msg = parse(raw)
    assert msg["Subject"] == "Привет, Алина Ким!"
    assert msg["To"].addresses[0].display_name == "Алина Ким"
    assert msg["To"].addresses[0].addr_spec == "alina@example.com"
    assert str(msg["Reply-To"]) == "anna@example.com"
    assert msg["From"].addresses[0].addr_spec == "crm@example.com" and msg["Message-ID"] and msg["Date"]
    assert msg.get_content().replace("\r\n", "\n") == ("Здравствуйте, Алина Ким!\nВам 25.\nВаш менеджер: Анна Петрова.\n"
                                 "Студия «Тест», 2026-03-10\n")
    both = parse((out / "both.eml").read_bytes())
    assert [a.addr_spec for a in both["To"].addresses] == ["both@example.com"]  # the first address only
    assert "Вам" not in both.get_content()  # fields.age is declared, empty for this client
    assert email_activities(root) == []  # writing files is not sending


def test_header_injection_through_a_name_is_harmless(shop, tmp_path):
    root, tpl = shop()
    out = tmp_path / "outbox"
    assert crm(root, "mail", tpl, "--where", "emails=evil@example.com", "--out", out).code == 0
    raw = (out / "evil.eml").read_bytes()
    assert b"\r\nBcc:" not in raw and not raw.startswith(b"Bcc:")
    msg = parse(raw)
    assert msg["Bcc"] is None and msg["Subject"] == "Привет, Evil Bcc: victim@evil.example!"
    assert [a.addr_spec for a in msg["To"].addresses] == ["evil@example.com"]


def test_send_delivers_logs_and_encodes(shop, smtp_server):
    inbox, port = smtp_server
    root, tpl = shop(port)
    r = crm(root, "mail", tpl, "--tag", "vip", "--send")
    assert r.code == 0, r
    assert "sent 3 message(s)" in r.err and "1 opted out, 1 without an e-mail address" in r.err
    got = {tuple(rcpt): parse(data) for rcpt, data in inbox.messages}
    assert set(got) == {("alina@example.com",), ("evil@example.com",), ("both@example.com",)}
    assert all("victim@evil.example" not in rcpt for rcpt, _ in inbox.messages)
    assert got["alina@example.com",]["Subject"] == "Привет, Алина Ким!"
    assert got["evil@example.com",]["Bcc"] is None
    assert email_activities(root) == [
        ("alina", "email", "done", TODAY, "Привет, Алина Ким!"),
        ("both", "email", "done", TODAY, "Привет, Boris Client!"),
        ("evil", "email", "done", TODAY, "Привет, Evil Bcc: victim@evil.example!"),
    ]
    assert crm(root, "check").code == 0  # the logged activities are valid records


def test_a_refused_recipient_is_not_logged_as_sent(shop, smtp_server):
    inbox, port = smtp_server
    inbox.refuse.add("evil@example.com")
    root, tpl = shop(port)
    r = crm(root, "mail", tpl, "--tag", "vip", "--send")
    assert r.code == 1 and "not sent to evil <evil@example.com>: evil@example.com: 550" in r.err, r
    assert "sent 2 message(s), 1 refused by the server" in r.err
    assert sorted(rcpt[0] for rcpt, _ in inbox.messages) == ["alina@example.com", "both@example.com"]
    assert [a[0] for a in email_activities(root)] == ["alina", "both"]


@pytest.mark.parametrize("template, what", [
    ("Subject: Hi {{ nmae }}\n\nBody\n", "'nmae' is undefined"),
    ("Subject: Hi\n\nBody {{ fields.agee }}\n", "agee"),
    ("Subject: Hi\n\nOne\n{% if name %}\n", "template syntax error"),
    ("Hello {{ name }}\n", "header"),
])
def test_template_errors_stop_before_anything_is_written_or_sent(shop, smtp_server, tmp_path, template, what):
    inbox, port = smtp_server
    root, tpl = shop(port)
    tpl.write_text(template, encoding="utf-8")
    out = tmp_path / "outbox"
    r = crm(root, "mail", tpl, "--send", "--out", out)
    assert r.code == 1 and r.out == "", r
    assert r.err.startswith(f"error: {tpl}:") and what in r.err and "Traceback" not in r.err
    assert not out.exists() and inbox.messages == [] and email_activities(root) == []


def test_unreachable_server_sends_and_logs_nothing(shop):
    root, tpl = shop()
    r = crm(root, "mail", tpl, "--send")
    assert r.code == 1 and "cannot reach the SMTP server 127.0.0.1:" in r.err, r
    assert email_activities(root) == []


def test_letters_for_clients_with_a_postal_address(shop, tmp_path):
    root, tpl = shop()
    out = tmp_path / "letters"
    r = crm(root, "mail", tpl, "--tag", "vip", "--letters", "--out", out)
    assert r.code == 0, r
    assert "wrote 2 letter(s)" in r.err and "1 opted out, 2 without a postal address" in r.err
    assert sorted(p.name for p in out.iterdir()) == ["both.txt", "postal.txt"]
    letter = (out / "postal.txt").read_text(encoding="utf-8")
    assert letter.splitlines()[:9] == ["Студия «Тест»", "", "", "Пётр Почтов", "ул. Ленина, д. 1, кв. 2",
                                       "Москва 101000", "", "", "2026-03-10"]
    assert "Привет, Пётр Почтов!" in letter and "Ваш менеджер: Boris Ivanov." in letter
    assert crm(root, "mail", tpl, "--letters").code == 2  # letters need --out
    assert crm(root, "mail", tpl, "--letters", "--send", "--out", out).code == 2


def test_without_send_or_out_it_only_shows(shop):
    root, tpl = shop()
    r = crm(root, "mail", tpl, "--owner", "anna")
    assert r.code == 0 and "To: Алина Ким <alina@example.com>" in r.out and "Subject: Привет, Алина Ким!" in r.out
    assert "none sent" in r.err and email_activities(root) == []
