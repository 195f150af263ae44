"""git: the folder as a repository (contract section 9)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from crmcli.errors import CrmError


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    except FileNotFoundError:
        raise CrmError("git is not installed") from None
    if check and proc.returncode != 0:
        raise CrmError(f"git {args[0]} failed: {(proc.stderr or proc.stdout).strip()}")
    return proc


def init_repo(root: Path) -> None:
    """``git init``, the derived .crm/ ignored, and a first commit."""
    git(root, "init", "-q")
    git(root, "add", "-A")
    proc = git(root, "commit", "-q", "-m", "crm init", check=False)
    if proc.returncode != 0:
        # no identity configured: commit as crm so the folder still starts clean
        git(root, "-c", "user.name=crm", "-c", "user.email=crm@localhost", "commit", "-q", "-m", "crm init")
