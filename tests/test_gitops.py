"""gitops in-process: commit messages, one commit for many writes, no git for plain folders."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from crmcli import gitops
from crmcli.store import Store, init_folder


@pytest.fixture
def git_env(tmp_path, monkeypatch):
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Anna")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "anna@studio.test")


def test_one_record_one_line():
    w = [("add", "client", "romashka-x3k9", "ООО Ромашка", Path("clients/romashka-x3k9.yaml"))]
    assert gitops.commit_message("client add", w) == "client add: ООО Ромашка (romashka-x3k9)\n"
    w = [("edit", "deal", "spa-equipment-x7k2", "Spa equipment", Path("x"))]
    assert gitops.commit_message("deal move", w, "-> won") == "deal move: Spa equipment (spa-equipment-x7k2) -> won\n"
    w = [("rm", "client", "acme-1", "acme-1", Path("x"))]
    assert gitops.commit_message("client rm", w) == "client rm: acme-1\n"
    w = [("add", "activity", "a-1", "a note\nover two lines", Path("x"))]
    assert gitops.commit_message("log", w) == "log: a note over two lines (a-1)\n"


def test_many_records_a_summary_and_a_body():
    w = [("add", "client", "a-1", "A", Path("a")), ("add", "client", "b-1", "B", Path("b")),
         ("edit", "client", "c-1", "C", Path("c"))]
    assert gitops.commit_message("import clients", w) == (
        "import clients: 3 records (2 added, 1 changed)\n\n"
        "client add: A (a-1)\nclient add: B (b-1)\nclient edit: C (c-1)\n")


def test_writes_merge_per_record():
    w = [("add", "client", "a-1", "A", Path("a")), ("edit", "client", "a-1", "A2", Path("a")),
         ("edit", "deal", "d-1", "D", Path("d")), ("rm", "deal", "d-1", "d-1", Path("d"))]
    assert gitops._merge_writes(w) == [("add", "client", "a-1", "A2", Path("a")),
                                       ("rm", "deal", "d-1", "D", Path("d"))]


def test_a_plain_folder_starts_no_git(tmp_path, monkeypatch):
    root = tmp_path / "crm"
    init_folder(root, "Plain")
    st = Store(root)
    st.create("client", {"name": "Acme"})

    def no_git(*a, **k):
        raise AssertionError("git was started for a folder outside any repository")
    monkeypatch.setattr(gitops.subprocess, "run", no_git)
    assert gitops.work_tree(root) is None
    assert gitops.autocommit(st, "client add") is False


def test_many_writes_are_one_commit_of_exactly_those_files(tmp_path, git_env):
    root = tmp_path / "crm"
    init_folder(root, "Team", git=True)
    (root / "crm.yaml").write_text((root / "crm.yaml").read_text() + "# a hand edit, not crm's\n")
    st = Store(root)
    ids = [st.create("client", {"name": name}) for name in ("Acme", "Bravo", "Zeta")]
    st.update("client", ids[0], lambda r: {**r, "notes": "x"})
    assert gitops.autocommit(st, "import clients") is True
    out = subprocess.run(["git", "log", "-1", "--format=%an%n%B", "--name-status"], cwd=root,
                         capture_output=True, text=True).stdout
    assert out.startswith("Anna\nimport clients: 3 records (3 added)\n\n"
                          f"client add: Acme ({ids[0]})\nclient add: Bravo ({ids[1]})\nclient add: Zeta ({ids[2]})\n")
    assert sorted(line.split("\t")[1] for line in out.splitlines() if "\t" in line) == \
        sorted(f"clients/{i}.yaml" for i in ids)
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout
    assert status == " M crm.yaml\n"


def test_a_folder_inside_a_bigger_repository(tmp_path, git_env):
    top = tmp_path / "project"
    top.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=top, check=True)
    root = top / "sales" / "crm"
    init_folder(root, "Sub")
    st = Store(root)
    rid = st.create("client", {"name": "Acme"})
    assert gitops.work_tree(root) == top
    assert gitops.autocommit(st, "client add") is True
    log = gitops.file_log(root, f"clients/{rid}.yaml")
    assert [(e["message"], e["path"]) for e in log] == [(f"client add: Acme ({rid})", f"clients/{rid}.yaml")]
