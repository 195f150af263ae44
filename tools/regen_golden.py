#!/usr/bin/env python3
"""Rewrite the golden report outputs in tests/golden/ from the current code.

    python tools/regen_golden.py            # every file listed in tests/golden/commands.txt
    python tools/regen_golden.py sales      # only the files whose name starts with "sales"
    python tools/regen_golden.py --check    # change nothing; exit 1 if a file is out of date
    git diff tests/golden                   # then review: every change must be one you meant

Run it with the Python of the environment where crmcli is installed (the `crm`
script next to that Python is used; without one, `python -m crmcli`).

Each command of tests/golden/commands.txt runs exactly as
tests/cli/test_reports_cli.py runs it:

    crm --dir <a fresh copy of data_example> --today 2026-11-27 ARGS

with stdout a pipe (so tables draw with plain characters), in an environment
without CRM_*, GIT_*, NO_COLOR or PYTHONIOENCODING.  A command that fails or
writes anything on stderr stops the run before any file is written: a golden
file records a report that works.  Files in tests/golden/ that no line lists
are named (``--prune`` deletes them).
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data_example"
GOLDEN = ROOT / "tests" / "golden"
MANIFEST = GOLDEN / "commands.txt"
TODAY = "2026-11-27"


def read_manifest(path: Path = MANIFEST) -> list[tuple[str, list[str]]]:
    """(file name, crm arguments) for each line of the manifest, in order."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, *args = shlex.split(line)
        if not args or "/" in name or name == path.name:
            raise SystemExit(f"{path}:{number}: expected 'FILE ARGS...', got {line!r}")
        cases.append((name, args))
    names = [n for n, _ in cases]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SystemExit(f"{path}: listed twice: {', '.join(dupes)}")
    return cases


def crm_command() -> list[str]:
    """The installed ``crm`` next to this Python, else ``python -m crmcli``."""
    script = Path(sys.executable).with_name("crm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "crmcli"]


def plain_env(**extra) -> dict:
    """The environment of a golden run: nothing of the developer's crm, git or
    terminal settings that could change the output."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CRM_", "GIT_")) and k not in ("NO_COLOR", "PYTHONIOENCODING")}
    env.update(extra)
    return env


def copy_example(dest: Path) -> Path:
    """A private copy of data_example/ (without its derived .crm/) at ``dest``."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".crm"))
    return dest


def run(folder: Path, args: list[str], env: dict | None = None,
        today: str | None = TODAY, timeout: float = 60) -> subprocess.CompletedProcess:
    """``crm --dir FOLDER [--today TODAY] ARGS`` with stdout and stderr as bytes."""
    cmd = [*crm_command(), "--dir", str(folder)]
    if today is not None:
        cmd += ["--today", today]
    return subprocess.run([*cmd, *args], capture_output=True, env=env or plain_env(),
                          stdin=subprocess.DEVNULL, timeout=timeout)


def run_many(folder: Path, arg_lists: list[list[str]], workers: int = 4,
             **kw) -> list[subprocess.CompletedProcess]:
    """Run several read-only commands on one folder side by side; results in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda args: run(folder, args, **kw), arg_lists))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefix", nargs="*", help="only the golden files whose name starts with one of these")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file differs")
    parser.add_argument("--prune", action="store_true", help="delete golden files the manifest does not list")
    opts = parser.parse_args(argv)

    cases = [(n, a) for n, a in read_manifest() if not opts.prefix or n.startswith(tuple(opts.prefix))]
    if not cases:
        print("no golden file matches", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="crm-golden-") as tmp:
        folder = copy_example(Path(tmp) / "data_example")
        results = run_many(folder, [a for _, a in cases])

    failed = False
    for (name, args), p in zip(cases, results):
        if p.returncode != 0 or p.stderr:
            failed = True
            print(f"{name}: `crm {shlex.join(args)}` exited {p.returncode}:\n"
                  f"{p.stderr.decode('utf-8', 'replace')}", file=sys.stderr)
    if failed:
        print("nothing written", file=sys.stderr)
        return 1

    changed = []
    for (name, _), p in zip(cases, results):
        path = GOLDEN / name
        if not path.exists() or path.read_bytes() != p.stdout:
            changed.append(name)
            if not opts.check:
                path.write_bytes(p.stdout)

    listed = {n for n, _ in read_manifest()} | {MANIFEST.name}
    strays = sorted(p.name for p in GOLDEN.iterdir() if p.is_file() and p.name not in listed)
    for name in strays:
        if opts.prune and not opts.check:
            (GOLDEN / name).unlink()
            print(f"deleted {name} (not in {MANIFEST.name})")
        else:
            print(f"{name} is not listed in {MANIFEST.name} (--prune deletes it)", file=sys.stderr)

    if opts.check:
        for name in changed:
            print(f"out of date: {name}")
        return 1 if changed or strays else 0
    print(f"{len(cases)} golden files checked, {len(changed)} rewritten"
          + (": " + ", ".join(changed) if changed else ""))
    if changed:
        print("review with: git diff tests/golden")
    return 0


if __name__ == "__main__":
    sys.exit(main())
