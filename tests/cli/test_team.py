"""Teams (contract section 9): every write a commit, crm sync, crm history, with real git.

Each person is a clone of one bare remote in tmp_path, with their own git
identity in the environment; HOME points into tmp_path so no user config leaks.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Crm, clean_env, run_crm, tree_digest


def person(tmp_path: Path, name: str, **extra) -> dict:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    email = f"{name.lower()}@studio.test"
    return clean_env(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                     GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
                     GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email, **extra)


def git(root: Path, *args, env=None, check=True) -> str:
    p = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True)
    if check:
        assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p.stdout


def log(root: Path, env) -> list[str]:
    return git(root, "log", "--format=%an|%s", env=env).splitlines()


def no_conflict_state(root: Path, env) -> None:
    """No conflict markers in any file, no rebase in progress, nothing unmerged."""
    for path in root.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(root).parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "<<<<<<<" not in text and ">>>>>>>" not in text, path
    assert git(root, "status", "--porcelain", env=env) == ""
    assert git(root, "diff", "--name-only", "--diff-filter=U", env=env) == ""
    git_dir = root / ".git"
    assert not (git_dir / "rebase-merge").exists() and not (git_dir / "rebase-apply").exists()


@pytest.fixture
def repo(tmp_path):
    """A folder made by ``crm init --git``, worked on by Anna."""
    env = person(tmp_path, "Anna")
    root = tmp_path / "anna"
    r = run_crm("init", "--git", root, env=env)
    assert r.code == 0, r
    return Crm(root, env)


@pytest.fixture
def team(repo, tmp_path):
    """anna: the ``repo`` folder pushed to a bare remote; boris: a clone of it."""
    anna, boris_env = repo, person(tmp_path, "Boris")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote), env=anna.env)
    git(anna.root, "remote", "add", "origin", str(remote), env=anna.env)
    git(anna.root, "push", "-q", "-u", "origin", "HEAD", env=anna.env)
    git(tmp_path, "clone", "-q", str(remote), "boris", env=boris_env)
    return anna, Crm(tmp_path / "boris", boris_env)


def status(crm: Crm) -> str:
    return git(crm.root, "status", "--porcelain", "-uall", env=crm.env)


def records(crm: Crm) -> dict:
    return {k: v for k, v in tree_digest(crm.root).items() if not k.startswith(".git/")}


# ------------------------------------------------------------------ init and commits
def test_every_write_is_one_commit_naming_the_record(repo):
    anna = repo
    assert ".crm/" in (anna.root / ".gitignore").read_text().split()
    assert log(anna.root, anna.env) == ["Anna|crm init"]
    assert "crm.yaml" in git(anna.root, "ls-files", env=anna.env).split()
    rid = anna.ok("client", "add", "ООО Ромашка").strip()
    deal = anna.ok("deal", "add", rid, "Spa equipment", "--amount", "1000").strip()
    anna.ok("deal", "move", deal, "won")
    assert (anna.root / ".crm").is_dir()
    assert status(anna) == ""  # the derived .crm/ is ignored
    # a hand edit of another file, even staged, stays out of crm's commits
    (anna.root / "crm.yaml").write_text((anna.root / "crm.yaml").read_text() + "# mine\n")
    git(anna.root, "add", "crm.yaml", env=anna.env)
    anna.ok("client", "edit", rid, "--notes", "prefers mornings")
    other = anna.ok("client", "add", "Gone Co").strip()
    anna.ok("client", "rm", other)
    assert log(anna.root, anna.env) == [
        f"Anna|client rm: Gone Co ({other})",
        f"Anna|client add: Gone Co ({other})",
        f"Anna|client edit: ООО Ромашка ({rid})",
        f"Anna|deal move: Spa equipment ({deal}) -> won",
        f"Anna|deal add: Spa equipment ({deal})",
        f"Anna|client add: ООО Ромашка ({rid})",
        "Anna|crm init",
    ]
    show = git(anna.root, "show", "--name-status", "--format=", "HEAD~4", env=anna.env)
    assert show.split() == ["A", f"deals/{deal}.yaml"]
    assert status(anna) == "M  crm.yaml\n"


def test_no_commit_flag_and_setting_leave_the_change_uncommitted(repo):
    anna = repo
    rid = anna.ok("--no-commit", "client", "add", "Acme").strip()
    assert status(anna) == f"?? clients/{rid}.yaml\n"
    assert len(log(anna.root, anna.env)) == 1
    git(anna.root, "add", "-A", env=anna.env)
    git(anna.root, "commit", "-qm", "by hand", env=anna.env)
    cfg = anna.root / "crm.yaml"
    cfg.write_text(cfg.read_text() + "git: {autocommit: false}\n")
    git(anna.root, "commit", "-qam", "no autocommit", env=anna.env)
    anna.ok("client", "edit", rid, "--notes", "x")
    anna.ok("deal", "add", rid, "A deal")
    lines = status(anna).splitlines()
    assert lines[0] == f" M clients/{rid}.yaml" and lines[1].startswith("?? deals/") and len(lines) == 2
    assert log(anna.root, anna.env)[0] == "Anna|no autocommit"
    # and with no remote there is nothing to sync with
    r = anna.fails(1, "sync")
    assert "no git remote" in r.err and "git remote add" in r.err


def test_a_plain_folder_does_no_git_work(folder):
    rid = folder.ok("client", "add", "Acme").strip()
    assert not (folder.root / ".git").exists()
    r = folder.fails(1, "sync")
    assert "not in a git repository" in r.err and "crm init --git" in r.err
    assert "not in a git repository" in folder.fails(1, "history", rid).err


def test_a_failed_commit_keeps_the_data_and_warns(repo):
    anna = repo
    hook = anna.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    r = anna("client", "add", "Acme")
    assert r.code == 0, r
    assert (anna.root / "clients" / f"{r.out.strip()}.yaml").exists()
    assert r.err.startswith("warning:") and "not committed" in r.err and "hook says no" in r.err
    assert len(log(anna.root, anna.env)) == 1


def test_no_git_identity_falls_back_to_crm(repo):
    env = {k: v for k, v in repo.env.items() if not k.startswith(("GIT_AUTHOR", "GIT_COMMITTER"))}
    git(repo.root, "config", "user.useConfigOnly", "true", env=env)  # git may not guess one
    anna = Crm(repo.root, env)
    rid = anna.ok("client", "add", "Acme").strip()
    assert log(anna.root, env)[0] == f"crm|client add: Acme ({rid})"
    git(anna.root, "config", "user.name", "Anna Local", env=env)
    git(anna.root, "config", "user.email", "anna@local", env=env)
    anna.ok("client", "edit", rid, "--notes", "x")
    assert log(anna.root, env)[0] == f"Anna Local|client edit: Acme ({rid})"


# ------------------------------------------------------------------ sync
def test_two_people_sync_in_turns_and_end_with_the_same_records(team):
    anna, boris = team
    acme = anna.ok("client", "add", "Acme").strip()
    deal = anna.ok("--no-commit", "deal", "add", acme, "Spa equipment", "--amount", "500").strip()
    r = anna.fails(1, "sync")  # an uncommitted record is not silently left behind
    assert f"deals/{deal}.yaml" in r.err and "commit" in r.err
    git(anna.root, "add", "-A", env=anna.env)
    git(anna.root, "commit", "-qm", "deal by hand", env=anna.env)
    r = anna("sync")
    assert r.code == 0 and "pushed 2 commit(s)" in r.err, r

    boris.ok("sync")
    assert records(boris) == records(anna)
    bravo = boris.ok("client", "add", "Bravo").strip()
    boris.ok("deal", "move", deal, "won")            # Anna's deal, nobody else touches it
    boris.ok("log", acme, "call", "asked about prices")

    zeta = anna.ok("client", "add", "Zeta").strip()  # meanwhile, not yet pulled
    anna.ok("client", "edit", acme, "--notes", "key account")
    boris.ok("sync")
    r = anna("sync")                                 # rebases her two commits onto Boris's three
    assert r.code == 0 and "pulled 3 commit(s)" in r.err and "pushed 2 commit(s)" in r.err, r
    boris.ok("sync")
    boris.ok("client", "edit", zeta, "--phone", "+7 900 000-00-00")
    anna.ok("deal", "add", bravo, "Sauna")
    boris.ok("sync")
    anna.ok("sync")
    boris.ok("sync")

    assert records(anna) == records(boris)
    assert {p.stem for p in (anna.root / "clients").iterdir()} == {acme, bravo, zeta}
    assert "stage: won" in (anna.root / "deals" / f"{deal}.yaml").read_text()
    anna.ok("check")
    boris.ok("check")
    for who in (anna, boris):
        no_conflict_state(who.root, who.env)
    assert git(anna.root, "rev-parse", "HEAD", env=anna.env) == git(boris.root, "rev-parse", "HEAD", env=boris.env)
    assert {line.split("|")[0] for line in log(anna.root, anna.env)} == {"Anna", "Boris"}
    assert "already in sync" in anna("sync").err


def test_the_same_field_changed_on_both_sides_stops_cleanly(team):
    anna, boris = team
    acme = anna.ok("client", "add", "Acme", "--phone", "+7 100").strip()
    anna.ok("sync")
    boris.ok("sync")
    anna.ok("client", "edit", acme, "--phone", "+7 200")
    anna.ok("sync")
    boris.ok("client", "add", "Bravo")                  # unrelated, must survive
    boris.ok("client", "edit", acme, "--phone", "+7 300")
    mine = git(boris.root, "rev-parse", "HEAD", env=boris.env)

    r = boris.fails(1, "sync")
    assert f"clients/{acme}.yaml" in r.err
    assert "theirs: Anna" in r.err and "git pull --rebase" in r.err and "rebase --continue" in r.err
    no_conflict_state(boris.root, boris.env)
    assert git(boris.root, "rev-parse", "HEAD", env=boris.env) == mine   # his commits kept as they were
    assert "+7 300" in (boris.root / "clients" / f"{acme}.yaml").read_text()
    remote_head = git(anna.root, "rev-parse", "HEAD", env=anna.env)
    assert git(boris.root, "rev-parse", "@{upstream}", env=boris.env) == remote_head  # nothing pushed

    # the way out the message describes
    git(boris.root, "pull", "-q", "--rebase", env=boris.env, check=False)
    assert "<<<<<<<" in (boris.root / "clients" / f"{acme}.yaml").read_text()
    (boris.root / "clients" / f"{acme}.yaml").write_text("name: Acme\nphones:\n- +7 300\ncreated: 2026-11-27\n")
    git(boris.root, "add", "-A", env=boris.env)
    git(boris.root, "-c", "core.editor=true", "rebase", "--continue", env=boris.env)
    boris.ok("sync")
    anna.ok("sync")
    assert records(anna) == records(boris)


def test_sync_does_not_push_when_check_finds_errors(team):
    _, boris = team
    bad = boris.root / "clients" / "broken-x1.yaml"
    bad.parent.mkdir(exist_ok=True)
    bad.write_text("name: Broken\nbirthday: not-a-date\n")
    git(boris.root, "add", "-A", env=boris.env)
    git(boris.root, "commit", "-qm", "by hand", env=boris.env)
    r = boris.fails(1, "sync")
    assert "clients/broken-x1.yaml" in r.err and "not pushed" in r.err
    assert git(boris.root, "rev-list", "--count", "@{upstream}..HEAD", env=boris.env).strip() == "1"


# ------------------------------------------------------------------ history
def test_history_lists_add_and_edits_with_authors(repo, tmp_path):
    anna = repo
    boris = Crm(anna.root, person(tmp_path, "Boris"))
    acme = anna.ok("client", "add", "Acme").strip()
    boris.ok("client", "edit", acme, "--notes", "called back")
    anna.ok("client", "edit", "Acme", "--name", "Acme Ltd")
    acne = anna.ok("client", "add", "Acme Lte").strip()  # a near copy of Acme's file

    data = json.loads(anna.ok("history", "acme ltd", "--format", "json"))
    assert [(e["author"], e["message"]) for e in data] == [
        ("Anna", f"client edit: Acme Ltd ({acme})"),
        ("Boris", f"client edit: Acme ({acme})"),
        ("Anna", f"client add: Acme ({acme})"),
    ]
    assert data[0]["email"] == "anna@studio.test" and data[0]["date"].startswith("20")
    assert all(e["path"] == f"clients/{acme}.yaml" and len(e["commit"]) == 40 for e in data)
    table = anna.ok("history", acme).splitlines()
    assert table[0].split() == ["date", "author", "commit", "message"]
    assert "Boris" in table[3] and "client edit: Acme" in table[3]
    # git sees the new file as a copy of Acme's: its history must not borrow Acme's past
    data = json.loads(anna.ok("history", acne, "--format", "json"))
    assert [e["message"] for e in data] == [f"client add: Acme Lte ({acne})"]

    # a record moved into a subfolder by hand keeps its history
    (anna.root / "clients" / "old").mkdir()
    git(anna.root, "mv", f"clients/{acme}.yaml", "clients/old/", env=anna.env)
    git(anna.root, "commit", "-qm", "file away", env=anna.env)
    anna.ok("client", "rm", acme)
    data = json.loads(anna.ok("history", acme, "--format", "json"))   # removed: still in git
    assert [e["message"] for e in data][:3] == [f"client rm: Acme Ltd ({acme})", "file away",
                                                f"client edit: Acme Ltd ({acme})"]
    assert len(data) == 5 and data[1]["path"] == f"clients/old/{acme}.yaml"


def test_history_resolves_ids_across_kinds(repo):
    anna = repo
    for folder, text in (("clients", "name: Same\n"), ("competitors", "name: Same Inc\n")):
        (anna.root / folder).mkdir(exist_ok=True)
        (anna.root / folder / "same-x1.yaml").write_text(text)
    git(anna.root, "add", "-A", env=anna.env)
    git(anna.root, "commit", "-qm", "by hand", env=anna.env)
    r = anna.fails(1, "history", "same-x1")
    assert "client same-x1" in r.err and "competitor same-x1" in r.err and "--type" in r.err
    data = json.loads(anna.ok("history", "same-x1", "--type", "competitor", "--format", "json"))
    assert data[0]["message"] == "by hand" and data[0]["path"] == "competitors/same-x1.yaml"
    assert json.loads(anna.ok("history", "Same Inc", "--format", "json"))[0]["path"] == "competitors/same-x1.yaml"
    anna.fails(1, "history", "nothing-like-it")
    anna.fails(1, "history", "same-x1", "--type", "planet")
