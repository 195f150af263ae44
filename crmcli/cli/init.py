"""crm init: make a data folder."""

from typing import Optional

import typer

from crmcli.cli import common


def init(path: Optional[str] = typer.Argument(None, metavar="[PATH]", help="where (default: the current folder)"),
         git: bool = typer.Option(False, "--git", help="make it a git repository with a first commit"),
         name: Optional[str] = typer.Option(None, "--name", help="the team's or studio's name")):
    """Make a new data folder; refuses to touch an existing one."""
    from pathlib import Path

    from crmcli.store import init_folder
    target = Path(path or ".").expanduser()
    init_folder(target, name or (target.absolute().name or "My CRM"), git=git)
    common.note(f"initialised a crm data folder in {target}")
