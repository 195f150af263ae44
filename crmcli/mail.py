"""Mail merge and sending (contract sections 6 and 8).

- ``Template``: an e-mail as text (header lines, a blank line, the body) with
  Jinja2 placeholders, rendered in Jinja2's sandbox with ``StrictUndefined``,
  so a misspelt variable is an error, not a blank.  Header lines and the body
  are rendered separately, and a rendered header value is put on one line, so
  no field value can add a header (no header injection).
- ``build_message``: an ``EmailMessage`` whose non-ASCII headers are RFC 2047
  encoded and whose body is 7-bit clean (quoted-printable or base64).
- ``Sender``: one SMTP connection (STARTTLS or SSL, and login, where crm.yaml
  ``smtp`` says so); the password comes from the environment variable that
  ``smtp.password_env`` names, never from the data folder.
- ``.eml`` files and printable letters written atomically into a folder.
"""
from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

from crmcli.errors import CrmError
from crmcli.schema import SCHEMAS, FieldValueError, parse_bool, parse_int

# a message made here is 7-bit clean, with CRLF line ends, as SMTP wants
POLICY = policy.SMTP.clone(cte_type="7bit")
HEADERS = {"subject": "Subject", "reply-to": "Reply-To"}
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")
_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:(.*)$")


class MailError(CrmError):
    """Mail could not be built, rendered or sent."""


def header_text(value) -> str:
    """A header value on one line: line breaks and control characters become
    spaces, so a value can never start a header of its own."""
    text = _LINE_BREAKS.sub(" ", str(value))
    return re.sub(r"[ \t]+", " ", _CONTROL.sub(" ", text)).strip()


# --------------------------------------------------------------- templates

def _environment():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _template_line(exc: BaseException) -> int | None:
    """The template line a rendering error happened on, from Jinja's rewritten traceback."""
    import traceback
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>":
            line = frame.lineno
    return line


class Template:
    """A mail template: ``Subject:`` (and optionally ``Reply-To:``) header
    lines, a blank line, then the body; every part may use ``{{ ... }}``."""

    def __init__(self, text: str, path: str = "template"):
        from jinja2 import TemplateSyntaxError
        self.path = path
        text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        headers: list[tuple[str, str, int]] = []  # (name, source, line)
        i = 0
        while i < len(lines) and lines[i].strip():
            line = lines[i]
            if line[:1] in (" ", "\t") and headers:  # a folded header goes on
                name, source, at = headers[-1]
                headers[-1] = (name, source + " " + line.strip(), at)
            else:
                m = _HEADER_LINE.match(line)
                if not m:
                    raise MailError(
                        "a template begins with header lines (Subject: ...), then a blank line, then the body; "
                        f"this line is not a header: {line.strip()[:60]!r}", path, i + 1,
                        hint="put 'Subject: ...' on the first line and a blank line before the body")
                key = m.group(1).lower()
                if key not in HEADERS:
                    raise MailError(f"unknown header {m.group(1)!r} (a template may set: Subject, Reply-To)",
                                    path, i + 1)
                if any(h[0] == HEADERS[key] for h in headers):
                    raise MailError(f"{HEADERS[key]} is given twice", path, i + 1)
                headers.append((HEADERS[key], m.group(2).strip(), i + 1))
            i += 1
        if not any(h[0] == "Subject" for h in headers):
            raise MailError("the template has no Subject: line", path, 1,
                            hint="begin the template with 'Subject: ...', then a blank line, then the body")
        if i >= len(lines):
            raise MailError("the template has no body: a blank line must follow the header lines", path, i)
        body_first = i + 2  # the line number of the body's first line
        env = _environment()
        self._headers = []
        try:
            for name, source, at in headers:
                offset = at - 1
                self._headers.append((name, env.from_string(source), offset))
            offset = body_first - 1
            self._body = env.from_string("\n".join(lines[i + 1:]))
        except TemplateSyntaxError as exc:
            raise MailError(f"template syntax error: {exc.message}", path, (exc.lineno or 1) + offset) from None
        self._body_offset = body_first - 1

    def render(self, context: dict, who: str = "") -> tuple[dict[str, str], str]:
        """``({header: one-line value}, body)`` for one recipient; a MailError
        naming the template line and the recipient when it does not render."""
        from jinja2 import TemplateError
        part, offset = "body", self._body_offset
        try:
            headers = {}
            for name, tpl, offset in self._headers:
                part = name
                headers[name] = header_text(tpl.render(context))
            part, offset = "body", self._body_offset
            body = self._body.render(context)
        except (TemplateError, TypeError, ValueError, AttributeError, ArithmeticError, LookupError) as exc:
            from jinja2 import UndefinedError
            line = _template_line(exc)
            message = getattr(exc, "message", None) or str(exc)
            hint = None
            if isinstance(exc, UndefinedError):
                hint = ("variables: the client's fields (name, emails, address, fields.NAME, ...), owner.name, "
                        "owner.email, today, studio; write {{ x | default('') }} for one that may be missing")
            raise MailError(f"template error in the {part}: {message}" + (f" (for {who})" if who else ""),
                            self.path, (line + offset) if line else None, hint=hint) from None
        if not headers.get("Subject"):
            raise MailError("the Subject renders empty" + (f" (for {who})" if who else ""), self.path, 1)
        body = body.replace("\r\n", "\n")
        if not body.endswith("\n"):
            body += "\n"
        return headers, body


def client_context(client: dict, cfg, today: date, status: str | None = None) -> dict:
    """The variables a template sees for one client.

    Every field of a client is there (``""`` or ``[]`` when the client has
    none), so ``{{ address }}`` never fails; so is every custom field crm.yaml
    declares (``{{ fields.age }}``); an unknown name is an error.
    """
    ctx: dict = {}
    for fld in SCHEMAS["client"]:
        value = client.get(fld.name)
        if value is None:
            value = [] if fld.type in ("list", "refs") else False if fld.type == "bool" else ""
        ctx[fld.name] = value
    fields = {name: "" for name in cfg.fields}
    fields.update(client.get("fields") or {})
    ctx["fields"] = fields
    ctx["id"] = client["id"]
    ctx["status"] = status or ""
    oid = client.get("owner")
    info = cfg.owners.get(oid, {}) if oid else {}
    ctx["owner"] = {"id": oid or "", "name": info.get("name") or oid or "",
                    "email": info.get("email") or "", "manager": info.get("manager") or ""}
    ctx["email"] = (client.get("emails") or [""])[0]
    ctx["today"] = today
    ctx["studio"] = cfg.name
    return ctx


# --------------------------------------------------------------- messages

def address(name: str | None, addr: str) -> Address:
    """An Address; a MailError when ``addr`` is not one plain e-mail address."""
    addr = (addr or "").strip()
    try:
        if not addr or any(c in addr for c in "\r\n<>,;") or "@" not in addr:
            raise ValueError(addr)
        return Address(display_name=header_text(name or ""), addr_spec=addr)
    except Exception:  # noqa: BLE001 - the email package raises several kinds
        raise MailError(f"{addr!r} is not a valid e-mail address") from None


def sender_address(smtp_from: str, display_name: str | None = None) -> Address:
    """crm.yaml ``smtp.from``: ``crm@example.com`` or ``Studio <crm@example.com>``."""
    from email.utils import parseaddr
    text = header_text(smtp_from or "")
    name, addr = parseaddr(text)
    if not addr or "@" not in addr:
        raise MailError(f"crm.yaml smtp.from: {smtp_from!r} is not an e-mail address")
    return address(name or display_name, addr)


def build_message(sender: Address, to: Address, subject: str, body: str,
                  reply_to: str | None = None) -> EmailMessage:
    """A plain-text message: headers encoded as RFC 2047 where not ASCII,
    the body 7-bit clean, a Date and a Message-ID."""
    from email.utils import formatdate, make_msgid
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = header_text(subject)
    if reply_to:
        msg["Reply-To"] = header_text(reply_to)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.domain or None)
    msg.set_content(body, charset="utf-8")
    return msg


def eml_bytes(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=POLICY)


def preview(msg: EmailMessage) -> str:
    """A message as a person reads it: decoded headers, then the body."""
    lines = [f"{h}: {msg[h]}" for h in ("From", "To", "Reply-To", "Subject") if msg[h] is not None]
    return "\n".join(lines) + "\n\n" + msg.get_content()


def letter_text(studio: str, name: str, postal: str, today: date, subject: str, body: str) -> str:
    """A printable plain-text letter: the sender, the recipient's name and
    postal address (placed for a window envelope), the date, the subject, the body."""
    lines = [header_text(studio), "", "", header_text(name)]
    lines += [line.rstrip() for line in postal.replace("\r\n", "\n").split("\n") if line.strip()]
    lines += ["", "", today.isoformat(), "", header_text(subject), ""]
    return "\n".join(lines) + "\n" + body.rstrip("\n") + "\n"


def write_files(folder: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    """Write each (name, bytes) into ``folder`` (made if missing), atomically."""
    from crmcli.store import atomic_write
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MailError(f"cannot make the folder {folder}: {exc.strerror}") from None
    if not folder.is_dir():
        raise MailError(f"{folder} is not a folder")
    written = []
    for name, data in files:
        path = folder / name
        try:
            atomic_write(path, data)
        except OSError as exc:
            raise MailError(f"cannot write {path}: {exc.strerror}") from None
        written.append(path)
    return written


# --------------------------------------------------------------- SMTP

@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: Address
    starttls: bool = False
    ssl: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def smtp_settings(smtp: dict, environ, studio: str | None = None) -> SmtpSettings:
    """Read crm.yaml ``smtp``: ``host``, ``port``, ``from``, ``starttls``,
    ``ssl``, ``user``, ``password_env`` (the name of an environment variable
    holding the password), ``timeout``."""
    smtp = smtp or {}
    where = "crm.yaml smtp"
    if not smtp:
        raise MailError(f"{where}: no mail settings", hint="add to crm.yaml: smtp: {host: HOST, port: 25, from: ADDRESS}")
    known = {"host", "port", "from", "starttls", "ssl", "user", "username", "password_env", "timeout"}
    if "password" in smtp:
        raise MailError(f"{where}: a password is never read from the data folder",
                        hint="remove it, put it in an environment variable and name that variable in "
                             "smtp.password_env (for example password_env: CRM_SMTP_PASSWORD)")
    unknown = sorted(str(k) for k in smtp if k not in known)
    if unknown:
        raise MailError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    if not smtp.get("from"):
        raise MailError(f"{where}: no 'from' address", hint="add from: crm@example.com under smtp: in crm.yaml")
    sender = sender_address(str(smtp["from"]), studio)
    try:
        use_ssl = parse_bool(smtp["ssl"]) if smtp.get("ssl") is not None else False
        starttls = parse_bool(smtp["starttls"]) if smtp.get("starttls") is not None else False
        port = parse_int(smtp["port"]) if smtp.get("port") is not None else (465 if use_ssl else 587 if starttls else 25)
        timeout = float(parse_int(smtp["timeout"])) if smtp.get("timeout") is not None else 30.0
    except FieldValueError as exc:
        raise MailError(f"{where}: {exc}") from None
    if not 0 < port < 65536:
        raise MailError(f"{where}: port {port} is out of range")
    if use_ssl and starttls:
        raise MailError(f"{where}: choose ssl (port 465) or starttls (port 587), not both")
    host = str(smtp.get("host") or "localhost")
    user = smtp.get("user") or smtp.get("username")
    password = None
    var = smtp.get("password_env")
    if user is not None:
        if not var:
            raise MailError(f"{where}: user {user!r} is set but password_env is not",
                            hint="name the environment variable that holds the password: password_env: CRM_SMTP_PASSWORD")
        password = environ.get(str(var))
        if not password:
            raise MailError(f"the environment variable {var} (crm.yaml smtp.password_env) is not set",
                            hint=f"export {var}=... in the environment crm runs in (for cron: in the crontab "
                                 "or a file only you can read)")
        if not (use_ssl or starttls) and host not in ("localhost", "127.0.0.1", "::1"):
            raise MailError(f"{where}: refusing to send the password unencrypted to {host}",
                            hint="set starttls: true (port 587) or ssl: true (port 465)")
    elif var:
        raise MailError(f"{where}: password_env is set but user is not")
    return SmtpSettings(host, port, sender, starttls, use_ssl, str(user) if user is not None else None,
                        password, timeout)


class Refused(Exception):
    """The server would not take one message; the connection is still good."""


class Sender:
    """``with Sender(settings) as s: s.send(msg, to_addr)`` over one connection."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Sender":
        s = self.settings
        try:
            if s.ssl:
                self.smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                             context=ssl.create_default_context())
            else:
                self.smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            self.smtp.ehlo_or_helo_if_needed()
            if s.starttls:
                self.smtp.starttls(context=ssl.create_default_context())
                self.smtp.ehlo()
            if s.user is not None:
                self.smtp.login(s.user, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            raise MailError(f"the SMTP server {s.where} refused the login of {s.user!r}: {_reason(exc)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise MailError(f"cannot reach the SMTP server {s.where}: {_reason(exc)}",
                            hint="check host and port under smtp: in crm.yaml") from None
        return self

    def send(self, msg: EmailMessage, to_addr: str) -> None:
        """Send one message to exactly ``to_addr``; ``Refused`` when the server
        turns this one down, MailError when the connection is lost."""
        assert self.smtp is not None
        try:
            refused = self.smtp.send_message(msg, from_addr=self.settings.sender.addr_spec, to_addrs=[to_addr])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError,
                smtplib.SMTPNotSupportedError) as exc:
            self._reset()
            raise Refused(_reason(exc)) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise MailError(f"lost the connection to the SMTP server {self.settings.where}: {_reason(exc)}") from None
        if refused:
            raise Refused(_reason(refused))

    def _reset(self):
        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            pass

    def _drop(self):
        if self.smtp is not None:
            try:
                self.smtp.close()
            except OSError:
                pass
        self.smtp = None

    def __exit__(self, *exc) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._drop()


def _reason(exc) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        exc = exc.recipients
    if isinstance(exc, dict):
        parts = []
        for rcpt, (code, text) in exc.items():
            parts.append(f"{rcpt}: {code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}")
        return "; ".join(parts)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
