"""The documentation keeps up with the commands.

* Every command registered in the Typer app has help text and is named
  (``crm report funnel``) in docs/commands.md or another page of docs/.
* Every option of the commands docs/commands.md documents in full appears there.
* The shell examples of docs/commands.md run: each line of a ```sh block that
  starts with ``crm `` is run, in order, from a folder holding a copy of
  data_example/ (with CRM_TODAY=2026-11-27), and must exit 0, or the code its
  trailing ``# exit N`` comment states.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

import crmcli.cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
COMMANDS_MD = DOCS / "commands.md"
# command words whose full description lives on a page of its own
# (reports.md, cron.md, import-export.md, team.md); they need only be named
DELEGATED = {"report", "remind", "mail", "import", "export", "sync", "history"}
EXIT_RE = re.compile(r"#\s*exit\s+(\d+)\s*$")


def walk(cmd, path=()):
    yield path, cmd
    for name, sub in sorted((getattr(cmd, "commands", None) or {}).items()):
        yield from walk(sub, (*path, name))


COMMANDS = list(walk(typer.main.get_command(crmcli.cli.app)))


def docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))


def test_every_command_has_help():
    missing = [" ".join(("crm", *path)) for path, cmd in COMMANDS
               if not (cmd.help or cmd.short_help or "").strip()]
    assert not missing, f"commands without help text: {missing}"


def test_every_command_is_documented():
    text = docs_text()
    missing = [" ".join(("crm", *path)) for path, _ in COMMANDS
               if path and " ".join(("crm", *path)) not in text]
    assert not missing, f"commands named in no page of docs/: {missing}"


def _mentioned(option: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def test_every_option_is_documented():
    text = COMMANDS_MD.read_text(encoding="utf-8")
    missing = []
    for path, cmd in COMMANDS:
        if path and path[0] in DELEGATED:
            continue
        for param in cmd.params:
            if param.param_type_name != "option":
                continue
            for opt in (*param.opts, *param.secondary_opts):
                if opt.startswith("--") and opt != "--help" and not _mentioned(opt, text):
                    missing.append(f"{' '.join(('crm', *path))} {opt}")
    assert not missing, f"options not in docs/commands.md: {missing}"


def examples() -> list[tuple[int, str, int]]:
    """(line number, command, expected exit code) of every example."""
    out = []
    in_sh = False
    for n, line in enumerate(COMMANDS_MD.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            in_sh = stripped == "```sh" if not in_sh else False
            continue
        if in_sh and stripped.startswith("crm "):
            m = EXIT_RE.search(stripped)
            out.append((n, stripped, int(m.group(1)) if m else 0))
    return out


def test_docs_have_examples():
    found = examples()
    assert len(found) >= 30
    assert any(code == 1 for _, _, code in found) and any(code == 2 for _, _, code in found)


@pytest.fixture
def demo(tmp_path):
    """A folder holding a copy of data_example/, and a PATH whose crm is ours."""
    shutil.copytree(ROOT / "data_example", tmp_path / "data_example",
                    ignore=shutil.ignore_patterns(".crm"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = Path(sys.executable).with_name("crm")
    wrapper = bin_dir / "crm"
    if script.exists():
        wrapper.symlink_to(script)
    else:  # not installed as a console script: the same interpreter, as a module
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m crmcli "$@"\n')
        wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", CRM_TODAY="2026-11-27", NO_COLOR="1")
    return tmp_path, env


def test_examples_run(demo):
    cwd, env = demo
    failures = []
    for line, command, expected in examples():
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=cwd, env=env,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        if proc.returncode != expected:
            failures.append(f"docs/commands.md:{line}: exit {proc.returncode}, expected {expected}: {command}\n"
                            f"    {proc.stderr.strip()[-500:]}")
        elif "Traceback" in proc.stderr:
            failures.append(f"docs/commands.md:{line}: a traceback: {command}\n    {proc.stderr[-500:]}")
        elif expected and not proc.stderr.startswith(("error:", "Usage:")):
            failures.append(f"docs/commands.md:{line}: a failure without 'error:' on stderr: {command}\n"
                            f"    {proc.stderr.strip()[-300:]}")
    assert not failures, "\n".join(failures)
    # the examples that write left a folder crm check still accepts
    proc = subprocess.run(["crm", "--dir", "data_example", "check"], cwd=cwd, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
