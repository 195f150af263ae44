"""The ``crm`` command: a thin Typer shell over the library.

Only this package touches argv, stdout, stderr, exit codes and today's date.
Each command module imports nothing heavy at the top, so ``crm --version`` and
``crm client add`` start fast.
"""

import os
import sys

from crmcli import __version__

# command word -> module of crmcli.cli that provides it; only the module a
# command needs is imported, so a single command starts fast
COMMANDS = {
    "init": "init", "client": "client", "deal": "deal", "log": "log", "activity": "activity",
    "task": "task", "stakeholder": "stakeholder", "competitor": "competitor", "check": "check",
    "find": "find", "report": "report", "remind": "remind", "mail": "mail",
    "import": "importexport", "export": "importexport", "sync": "team", "history": "team",
}
GROUP_HELP = {
    "client": "People and organizations you sell to.",
    "deal": "Deals and their way through the pipeline.",
    "activity": "The contact log: calls, meetings, letters, complaints ...",
    "task": "Planned activities: what is to be done, by whom, by when.",
    "stakeholder": "The stakeholder map: goals, plans and facts.",
    "competitor": "Competitors around your clients.",
}
_GLOBAL_WITH_VALUE = ("--dir", "--today")


def build_app(only: str | None = None):
    """The Typer app with every command, or with just the one named."""
    import typer

    from crmcli.cli import common

    app = typer.Typer(
        name="crm",
        help="A customer-relationship manager for people who live in the shell.\n\n"
             "Data is a folder of YAML files (see docs/data-format.md).",
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        add_completion=False,
        no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    def _version(value: bool):
        if value:
            print(f"crm {__version__}")
            raise typer.Exit()

    @app.callback()
    def root(
        dir: str = typer.Option(None, "--dir", metavar="PATH",
                                help="The data folder (default: $CRM_DIR, else the nearest crm.yaml above)."),
        today: str = typer.Option(None, "--today", metavar="DATE",
                                  help="Fix 'today' (YYYY-MM-DD) for reports and reminders; also $CRM_TODAY."),
        no_commit: bool = typer.Option(False, "--no-commit", help="In a git folder, do not commit this change."),
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                     help="Print the version and exit."),
    ):
        common.STATE.dir = dir
        common.STATE.today_text = today
        common.STATE.no_commit = no_commit

    modules = []
    for word, name in COMMANDS.items():
        if only is not None and word != only or name in modules:
            continue
        modules.append(name)
    import importlib
    for name in modules:
        try:
            mod = importlib.import_module(f"crmcli.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"crmcli.cli.{name}":
                raise
            continue
        if hasattr(mod, "register"):
            mod.register(app)
        elif hasattr(mod, "app"):
            app.add_typer(mod.app, name=name, help=GROUP_HELP.get(name))
        else:
            app.command(name)(getattr(mod, name))
    return app


def __getattr__(name):
    if name == "app":
        return build_app()
    raise AttributeError(name)


def _command_word(args: list[str]) -> str | None:
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in _GLOBAL_WITH_VALUE:
            skip = True
            continue
        if a.startswith("-"):
            continue
        return a if a in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> None:
    """Run ``crm``; the one error boundary: no traceback reaches a user."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        sys.stdout.write(f"crm {__version__}\n")
        sys.exit(0)
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
    from typer.exceptions import Abort, Exit
    from typer.main import get_command

    from crmcli.cli import common
    from crmcli.errors import CrmError

    code = 0
    if argv is None:  # a process of its own: see crmcli.KEEP_ALIVE and LATER
        import crmcli
        crmcli.KEEP_ALIVE = []
        crmcli.LATER = []
    try:
        command = get_command(build_app(_command_word(args)))
        rv = command.main(args=args, prog_name="crm", standalone_mode=False)
        if isinstance(rv, int) and not isinstance(rv, bool):
            code = rv
        if code == 0:
            common.after_command(_command_path(args))
    except Exit as exc:
        code = exc.exit_code
    except Abort:
        sys.stderr.write("error: aborted\n")
        code = 130
    except NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n")
        code = 2
    except ClickException as exc:  # usage errors: exit 2
        msg = exc.format_message()
        ctx = getattr(exc, "ctx", None)
        if ctx is not None and getattr(exc, "exit_code", 1) == 2:
            sys.stderr.write(ctx.get_usage() + "\n")
        sys.stderr.write(f"error: {msg}\n")
        code = exc.exit_code
    except CrmError as exc:
        sys.stderr.write(exc.render() + "\n")
        code = exc.code
    except BrokenPipeError:
        code = _quiet_pipe()
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        code = 130
    except OSError as exc:  # a full disk, a read-only folder, an I/O error
        where = f" ({exc.filename})" if exc.filename else ""
        sys.stderr.write(f"error: {exc.strerror or exc}{where}; nothing more was written\n")
        code = 1
    except RecursionError:
        sys.stderr.write("error: input nested too deeply\n")
        code = 1
    except Exception as exc:  # noqa: BLE001 - the boundary
        if os.environ.get("CRM_DEBUG"):
            raise
        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {exc}\n"
                         "hint: this is a bug in crm; rerun with CRM_DEBUG=1 to see where\n")
        code = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _quiet_pipe()
    except (ValueError, OSError):
        pass
    if argv is None:
        # leave without freeing what was loaded, object by object (nothing
        # else is left to do: output is flushed, files closed, children reaped)
        try:
            sys.stderr.flush()
        except (ValueError, OSError):
            pass
        import crmcli
        if crmcli.LATER:
            _detached(crmcli.LATER)
        os._exit(code if isinstance(code, int) else 1)
    sys.exit(code)


def _detached(jobs) -> None:
    """Run ``jobs`` (upkeep of derived files, such as an index written
    afresh) in a process of its own, after the command's output is out: this
    one leaves at once, so a shell, a pipe or cron waits for nothing more.
    The process is in a session of its own (a Ctrl-C meant for the next
    command does not reach it), has no terminal, stdin, stdout or stderr,
    and runs at the lowest priority (Linux: ``SCHED_IDLE``).  If it dies, nothing is lost: the next
    command finds the index as the command left it."""
    import contextlib
    try:
        pid = os.fork()
    except (AttributeError, OSError):  # no fork here: the work is left undone
        return
    if pid:
        return
    try:
        os.setsid()
        with contextlib.suppress(OSError):
            os.nice(10)
        # and, where there is such a thing, only on a core nobody else wants:
        # at nice 10 it still took a share of the next command's two cores
        # (a 1 % edit at 10,000 clients: 0.96 s instead of 0.75 s).  It
        # holds no lock, so being starved only leaves the index longer.
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        for job in jobs:
            with contextlib.suppress(Exception):
                job()
    finally:
        os._exit(0)


def _command_path(args: list[str]) -> str:
    """The words of the command that ran ("deal move"), for commit messages."""
    words = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("--dir", "--today"):
            skip = True
            continue
        if a.startswith("-"):
            continue
        words.append(a)
        if len(words) == 2 or words[0] in ("log", "init", "check", "find", "sync", "remind", "mail"):
            break
    return " ".join(words)


def _quiet_pipe() -> int:
    # the reader went away (crm ... | head): stop quietly
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return 0
