"""crm mail TEMPLATE: mail merge to clients, as .eml files, through SMTP, or as
printable letters (contract section 8)."""
from pathlib import Path
from typing import List, Optional

import typer

from crmcli.cli import common


def mail(
    template: str = typer.Argument(..., metavar="TEMPLATE",
                                    help="the template: 'Subject: ...' (and 'Reply-To: ...') lines, a blank line, "
                                         "the body; {{ name }}, {{ fields.age }}, {{ owner.name }}, {{ today }} ..."),
    tag: Optional[List[str]] = typer.Option(None, "--tag", metavar="TAG", help="clients with this tag (repeatable: all of them)"),
    owner: Optional[str] = typer.Option(None, "--owner", metavar="ID", help="clients managed by this owner"),
    source: Optional[str] = typer.Option(None, "--source", metavar="SOURCE", help="clients from this lead source"),
    status: Optional[str] = typer.Option(None, "--status", metavar="STATUS", help="prospect, customer or former"),
    where: Optional[List[str]] = typer.Option(None, "--where", metavar="FIELD=VALUE",
                                              help="field equals value (repeatable)"),
    send: bool = typer.Option(False, "--send", help="send through crm.yaml smtp; each sent mail is logged "
                                                    "as an email activity of its client"),
    out_dir: Optional[str] = typer.Option(None, "--out", metavar="DIR",
                                           help="write one .eml file per client (with --letters: one letter) here"),
    letters: bool = typer.Option(False, "--letters",
                                 help="printable plain-text letters to clients with a postal address, into --out DIR"),
):
    """Mail merge to the clients that have not opted out.  Without --send or
    --out, shows the messages and sends nothing."""
    import os

    from crmcli import mail as m
    from crmcli.cli.client import select_clients, statuses
    from crmcli.errors import CrmError, UsageError
    if letters and send:
        raise UsageError("--letters makes letters to print; it cannot be combined with --send")
    if letters and out_dir is None:
        raise UsageError("--letters needs --out DIR, the folder to write the letters into")
    st = common.store()
    cfg = st.config
    today = common.today()
    tpl = m.Template(read_template(Path(template)), template)
    out_dir = Path(out_dir) if out_dir is not None else None
    settings = m.smtp_settings(cfg.smtp, os.environ, cfg.name) if send else None
    if send and "email" not in cfg.activity_types:
        raise CrmError("crm.yaml activity_types has no 'email', so sent mail could not be logged; nothing was sent",
                       hint="add email to activity_types in crm.yaml")
    clients, problems = select_clients(st, tag, owner, source, status, where)
    status_of, more = statuses(st, today)
    chosen, skipped = choose(clients, letters)

    # render everything first: a template error stops the run before anything is written or sent
    rendered = []
    for c in chosen:
        headers, body = tpl.render(m.client_context(c, cfg, today, status_of(c["id"])), f"client {c['id']}")
        rendered.append((c, headers, body))

    if letters:
        files = [(f"{c['id']}.txt", m.letter_text(cfg.name, c.get("name") or c["id"], c["address"], today,
                                                   h["Subject"], body).encode("utf-8")) for c, h, body in rendered]
        m.write_files(out_dir, files)
        common.note(f"wrote {len(files)} letter(s) to {out_dir}" + skipped_text(skipped))
        return finish(problems + more, False)

    sender = settings.sender if settings else m.sender_address(cfg.smtp.get("from") or "crm@localhost", cfg.name)
    messages = []
    for c, h, body in rendered:
        try:
            to = m.address(c.get("name"), c["emails"][0])
        except m.MailError as exc:
            skipped["an invalid e-mail address"] = skipped.get("an invalid e-mail address", 0) + 1
            common.note(f"skipped {c['id']}: {exc.message}")
            continue
        messages.append((c, to, h["Subject"], m.build_message(sender, to, h["Subject"], body, h.get("Reply-To"))))

    if out_dir is not None:
        m.write_files(out_dir, [(f"{c['id']}.eml", m.eml_bytes(msg)) for c, _, _, msg in messages])
        common.note(f"wrote {len(messages)} message(s) to {out_dir}" + ("" if send else skipped_text(skipped)))
    if not send:
        if out_dir is None:
            common.out("\n".join(m.preview(msg) + "-" * 72 + "\n" for *_, msg in messages))
            common.note(f"{len(messages)} message(s) shown, none sent (use --send, or --out DIR for .eml files)"
                        + skipped_text(skipped))
        return finish(problems + more, False)

    sent, refused = send_all(st, settings, messages, today)
    common.note(f"sent {sent} message(s)" + (f", {refused} refused by the server" if refused else "")
                + skipped_text(skipped))
    return finish(problems + more, bool(refused), commit=True)


def read_template(path: Path) -> str:
    from crmcli.errors import CrmError
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CrmError(f"cannot read the template {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CrmError(f"{path}: the template is not UTF-8 text (byte {exc.start})") from None


def choose(clients: list[dict], letters: bool) -> tuple[list[dict], dict]:
    """The clients to write to, and how many were skipped, by reason."""
    chosen, skipped = [], {}
    for c in clients:
        if c.get("opt_out"):
            reason = "opted out"
        elif letters and not (c.get("address") or "").strip():
            reason = "without a postal address"
        elif not letters and not c.get("emails"):
            reason = "without an e-mail address"
        else:
            chosen.append(c)
            continue
        skipped[reason] = skipped.get(reason, 0) + 1
    return chosen, skipped


def skipped_text(skipped: dict) -> str:
    n = sum(skipped.values())
    if not n:
        return ""
    order = ["opted out", "without an e-mail address", "without a postal address", "an invalid e-mail address"]
    return f"; skipped {n} client(s): " + ", ".join(
        f"{skipped[k]} with {k}" if k.startswith("an ") else f"{skipped[k]} {k}"
        for k in sorted(skipped, key=lambda k: order.index(k) if k in order else len(order)))


def send_all(st, settings, messages, today) -> tuple[int, int]:
    """Send each message and log it as an email activity the moment the
    server has taken it; a lost connection stops the run, keeping what was sent."""
    from crmcli import mail as m
    sent = refused = 0
    with m.Sender(settings) as sender:
        for c, to, subject, msg in messages:
            try:
                sender.send(msg, to.addr_spec)
            except m.Refused as exc:
                refused += 1
                common.note(f"error: not sent to {c['id']} <{to.addr_spec}>: {exc}")
                continue
            except m.MailError as exc:
                exc.message += f"; {sent} message(s) were sent and logged before, {len(messages) - sent - refused} not sent"
                if sent:
                    common.after_command("mail")  # commit the activities of what did go out
                raise
            st.create("activity", {"client": c["id"], "type": "email", "status": "done", "date": today,
                                   "comment": subject})
            sent += 1
    return sent, refused


def finish(problems, failed: bool, commit: bool = False):
    if common.warn_problems(problems) or failed:
        if commit:
            common.after_command("mail")  # the mail that did go out stays logged, and committed
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("mail")(mail)
