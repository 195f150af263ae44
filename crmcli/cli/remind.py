"""crm remind: what is due, for cron, calendars and mail (contract section 6)."""
from typing import List, Optional

import typer

from crmcli.cli import common

FORMATS = ("table", "json", "csv", "ics")
# activities from which on remind keeps what it took from them for the next
# run (.crm/memo-remind.bin): below, the pass over them costs less than the
# memo (CRM_MEMO_MIN=N changes it; the tests set 1)
MEMO_MIN = 200_000


def remind(
    days: int = typer.Option(0, "--days", min=0, metavar="N",
                             help="also what falls due in the next N days (default 0: due today or overdue)"),
    owner: Optional[str] = typer.Option(None, "--owner", metavar="ID", help="only what this owner must do"),
    kind: Optional[List[str]] = typer.Option(None, "--kind", metavar="KIND",
                                             help="only this kind (repeatable): task, follow_up, no_contact, "
                                                  "stuck_deal, stakeholder_action, target_date, birthday"),
    fmt: str = typer.Option("table", "--format", "-f", metavar="FORMAT",
                            help="Output format: table, json, csv or ics (an iCalendar feed)."),
    exit_code: bool = typer.Option(False, "--exit-code", help="exit 1 when anything is overdue"),
    mail: bool = typer.Option(False, "--mail",
                              help="mail each owner their own list through crm.yaml smtp instead of printing it"),
):
    """What is due: tasks, follow-ups, clients past their contact cadence, stuck
    deals, stakeholder actions and goals, birthdays.  Prints nothing when
    nothing is due (cron then sends no mail)."""
    from crmcli.errors import CrmError
    from crmcli.reminders import KINDS
    common.check_format(fmt, FORMATS)
    for k in kind or []:
        if k not in KINDS:
            raise CrmError(f"--kind: unknown kind {k!r} (kinds: {', '.join(KINDS)})")
    if mail and fmt != "table":
        from crmcli.errors import UsageError
        raise UsageError("--mail sends plain-text lists; leave out --format")
    st = common.store()
    common.check_owner(owner)
    today = common.today()
    cfg = st.config

    items, text, problems = _answer(st, today, days, owner, kind, fmt, mail)
    failed = False
    if mail:
        failed = mail_lists(cfg, items, today)
    elif text is not None:  # nothing due: not a byte, so cron sends no mail
        common.out(text)
    bad_files = common.warn_problems(problems)
    if failed or bad_files or exit_code and any(i["overdue_days"] > 0 for i in items):
        raise typer.Exit(1)


def _answer(st, today, days, owner, kind, fmt, mail):
    """(items, text, problems) of the records as they are.  A large folder's
    activities are summed up once per change (``reminders.activity_summary``,
    kept in ``cache.Memo``): while they are exactly as when it was written,
    only one of their columns is loaded (to learn that), not the million
    rows."""
    import os

    import crmcli
    from crmcli.cache import Memo
    from crmcli.reminders import AS_COLUMNS, NeedActivities, due_items
    from crmcli.schema import FOLDERS
    cfg = st.config
    kinds = ("client", "deal", "activity", "stakeholder")
    memo = Memo(st, "remind", "activity") if not os.environ.get("CRM_NO_INDEX") else None
    key = memo.key() if memo is not None else None
    if key is not None and key["stamp"] != memo.index_stamp():
        key = None   # the index was written again since: the memo is of another generation
    bodies: dict = {}

    def work(data, problems):  # no side effects: see Store.answer
        acts = data.columns.get("activity")
        token = getattr(acts, "token", None)
        summary = None
        if key is not None and token == key["token"]:
            if token not in bodies:
                bodies[token] = memo.body(token)
            summary = bodies[token]
        kept: list = []
        try:
            items = due_items(data, cfg, today, days, owner, summary, kept)
        except NeedActivities:
            return NeedActivities, data, problems
        if kind:
            items = [i for i in items if i["kind"] in kind]
        fresh = None
        if token is not None and kept[0] is not summary and len(acts) >= _memo_min():
            fresh = (token, kept[0])   # worked out from exactly this generation: keep it
        return items, None if mail else render_items(cfg, items, fmt, today), problems, fresh

    columns = dict(AS_COLUMNS)
    if key is not None:  # one cheap column tells whether they are the memo's
        columns["activity"] = ("status",)
    result = st.answer(kinds, work, columns=columns)
    if result[0] is NeedActivities:
        # they are not the memo's: read them (the other types as they were read)
        _, data, problems = result
        key = None
        acts, act_problems = st.load_all(("activity",), columns={"activity": AS_COLUMNS["activity"]})
        data.columns["activity"] = acts.columns["activity"]
        # the problems come type by type, in the order of ``kinds``: the
        # activities' new ones go where the old ones were
        problems = [p for p in problems if not p.path.startswith(FOLDERS["activity"] + "/")]
        before = tuple(FOLDERS[k] + "/" for k in kinds[:kinds.index("activity")])
        where = sum(1 for p in problems if p.path.startswith(before))
        problems[where:where] = act_problems
        result = work(data, problems)
    items, text, problems, fresh = result
    if fresh is not None and memo is not None:
        stamp = memo.index_stamp()

        def keep():
            memo.write(fresh[0], stamp, fresh[1])
        if crmcli.LATER is not None:   # after the output, by the process that runs then
            crmcli.LATER.append(keep)
        else:
            keep()
    return items, text, problems


def _memo_min() -> int:
    import os
    value = os.environ.get("CRM_MEMO_MIN", "")
    return int(value) if value.isdigit() else MEMO_MIN


def render_items(cfg, items: list[dict], fmt: str, today) -> str | None:
    """The text to print, or None when nothing is due and the format is a
    table or CSV (not a byte then, so cron sends no mail)."""
    from crmcli import reminders, render
    if fmt == "json":
        return render.to_json(items)
    if fmt == "ics":
        return reminders.to_ics(items, cfg.name, today, cfg.owners).decode("utf-8")
    if not items:
        return None
    if fmt == "csv":
        headers, rows = reminders.csv_rows(items)
        rows = [[render.csv_cell(c, spreadsheet=True) if isinstance(c, str) else c for c in r] for r in rows]
        return render.to_csv(headers, rows)
    return render.columns_table(*reminders.table_columns(items))


def mail_lists(cfg, items: list[dict], today) -> bool:
    """Mail each owner their own list; items nobody can be mailed about are
    printed instead (so cron mails them to MAILTO).  True when some list was
    not sent."""
    import os
    import sys

    from crmcli import mail, reminders, render
    settings = mail.smtp_settings(cfg.smtp, os.environ, cfg.name)
    outbox, orphans = [], []
    for oid, mine in reminders.by_owner(items).items():
        info = cfg.owners.get(oid) if oid else None
        if not info or not info.get("email"):
            orphans.extend(mine)
            continue
        try:
            to = mail.address(info.get("name") or oid, info["email"])
        except mail.MailError as exc:
            common.note(f"error: crm.yaml owners: {oid}: {exc.message}")
            orphans.extend(mine)
            continue
        outbox.append((oid, to, mine, mail.build_message(settings.sender, to, digest_subject(cfg, mine, today),
                                                         digest_body(cfg, oid, info, mine, today))))
    sent, failed = [], []
    if outbox:
        try:
            with mail.Sender(settings) as sender:
                for oid, to, mine, msg in outbox:
                    try:
                        sender.send(msg, to.addr_spec)
                        sent.append(oid)
                    except mail.Refused as exc:
                        failed.append(oid)
                        common.note(f"error: the list for {oid} <{to.addr_spec}> was not sent: {exc}")
        except mail.MailError as exc:
            todo = [o for o, *_ in outbox if o not in sent]
            exc.message += f"; mailed: {', '.join(sent) or 'nobody'}; not mailed: {', '.join(todo)}"
            raise
    if sys.stderr.isatty() and sent:
        common.note(f"mailed {len(sent)} list(s): {', '.join(sent)}")
    if orphans:
        common.note(f"{len(orphans)} reminder(s) have no owner with an e-mail address in crm.yaml; "
                    "printed here instead of mailed")
        common.out(render.columns_table(*reminders.table_columns(orphans)))
    return bool(failed)


def digest_subject(cfg, items: list[dict], today) -> str:
    overdue = sum(1 for i in items if i["overdue_days"] > 0)
    text = f"{cfg.name}: {len(items)} reminder{'s' if len(items) != 1 else ''} for {today.isoformat()}"
    return text + (f" ({overdue} overdue)" if overdue else "")


def digest_body(cfg, oid: str, info: dict, items: list[dict], today) -> str:
    from crmcli import reminders, render
    name = info.get("name") or oid
    head = f"Reminders for {name} ({oid}) on {today.isoformat()}:\n\n"
    return head + render.columns_table(*reminders.table_columns(items, with_owner=False)) + \
        "\n-- \ncrm remind: your tasks, follow-ups and clients due for a contact.\n"


def register(app: typer.Typer) -> None:
    app.command("remind")(remind)
