"""Shared fixtures: run the installed ``crm`` as a real process, in a fresh
folder or in a private copy of data_example/."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data_example"
TODAY = "2026-11-27"
CRM = Path(sys.executable).with_name("crm")


def clean_env(**extra) -> dict:
    """An environment with nothing of the developer's crm or git settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CRM_", "GIT_")) and k not in ("NO_COLOR",)}
    env.update({"CRM_TODAY": TODAY, "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
                "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"})
    env.update(extra)
    return env


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __repr__(self):
        return f"Result(code={self.code}, out={self.out[:500]!r}, err={self.err[:500]!r})"


def run_crm(*args, cwd=None, env=None, input=None, timeout=60) -> Result:
    cmd = [str(CRM) if CRM.exists() else sys.executable, *([] if CRM.exists() else ["-m", "crmcli"]), *map(str, args)]
    p = subprocess.run(cmd, cwd=cwd, env=env or clean_env(), input=input, capture_output=True,
                       text=True, timeout=timeout)
    return Result(p.returncode, p.stdout, p.stderr)


class Crm:
    """``crm`` bound to one data folder."""

    def __init__(self, root: Path, env: dict | None = None):
        self.root = root
        self.env = env or clean_env()

    def __call__(self, *args, **kw) -> Result:
        return run_crm("--dir", self.root, *args, env=kw.pop("env", self.env), **kw)

    def ok(self, *args, **kw) -> str:
        r = self(*args, **kw)
        assert r.code == 0, r
        assert "Traceback" not in r.err
        return r.out

    def fails(self, code: int, *args, **kw) -> Result:
        r = self(*args, **kw)
        assert r.code == code, r
        assert "Traceback" not in r.err, r.err
        assert r.err.startswith("error:") or "\nerror:" in r.err, r.err
        return r

    def file(self, kind_folder: str, rid: str) -> Path:
        hits = list((self.root / kind_folder).rglob(f"{rid}.yaml"))
        assert len(hits) == 1, hits
        return hits[0]


OWNERS_YAML = """\
name: Test Studio
currency: RUB
rates:
  USD: {2026-01-01: 90, 2026-06-01: 80}
owners:
  anna: {name: Anna Petrova, email: anna@example.com}
  boris: {name: Boris Ivanov, email: boris@example.com, manager: anna}
sources:
  exhibition: {cost: 150000}
  website: {}
fields:
  psychotype: {type: choice, values: [diplomat, analyst, driver, expressive]}
  age: {type: integer}
"""


@pytest.fixture
def folder(tmp_path) -> Crm:
    """A fresh data folder made by ``crm init`` with two owners."""
    root = tmp_path / "crm"
    r = run_crm("init", root)
    assert r.code == 0, r
    (root / "crm.yaml").write_text(OWNERS_YAML, encoding="utf-8")
    return Crm(root)


@pytest.fixture
def example(tmp_path) -> Crm:
    """A private copy of data_example/."""
    root = tmp_path / "example"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".crm"))
    return Crm(root)


def tree_digest(root: Path) -> dict:
    """Every file's bytes under root (but .crm/), to show nothing changed."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".crm" not in p.relative_to(root).parts}
