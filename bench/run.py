#!/usr/bin/env python3
"""Time whole ``crm`` commands and print a Markdown table.

    python bench/run.py startup            # issue 2: start-up vs a bare Typer app
    python bench/run.py single             # issue 2: one-record commands, 10 vs 10,000 clients
    python bench/run.py scale [--large]    # issue 7: reports, remind, lists, find, check at 1k/10k(/100k)

Every figure is a whole process, started with ``subprocess`` and timed with
``time.perf_counter`` around it; peak RSS is the child's own ``ru_maxrss``
from ``os.wait4``.  Each preset runs its commands round-robin (A B C A B C
...) after ``--warmup`` rounds, so drift of a shared machine hits them alike;
a table shows the median of ``--runs`` runs and, where two commands are
compared, the median of the per-round ratios (and the ratio of the medians).

Data folders come from bench/gen.py (seed 42, today 2026-11-27) under
``--data`` (default /tmp/bench): ``clients-N``; missing ones are generated.
Commands that write (``client add``, ``edit``, ``log``, ``deal move``) add to
or change those folders a little on every run; that is part of the test.

The children run with this environment minus ``PYTHONDONTWRITEBYTECODE``, so
stale bytecode of an editable checkout is rewritten once instead of being
recompiled on every start (an installed package has its bytecode compiled at
install time).  ``--keep-env`` runs them with the environment as it is.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
TODAY = "2026-11-27"
ENV: dict = {}


# ------------------------------------------------------------------ running


@dataclass
class Cmd:
    label: str
    argv: list[str] | Callable[[int], list[str]]
    ok: tuple[int, ...] = (0,)
    before: Callable[[], None] | None = None
    times: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # KiB
    failures: list[str] = field(default_factory=list)
    calls: int = 0

    def args(self) -> list[str]:
        self.calls += 1
        return self.argv(self.calls) if callable(self.argv) else self.argv


def run_once(argv: list[str]) -> tuple[float, int, int, str]:
    """(seconds, peak RSS in KiB, exit code, stderr tail) of one whole process."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-400:].decode("utf-8", "replace")
    return elapsed, usage.ru_maxrss, proc.returncode, tail


def measure(cmds: list[Cmd], runs: int, warmup: int, progress: str = "") -> None:
    """Round-robin: every round runs every command once, in order."""
    total = (runs + warmup) * len(cmds)
    n = 0
    for rnd in range(warmup + runs):
        for c in cmds:
            if c.before:
                c.before()
            argv = c.args()
            dt, rss, code, tail = run_once(argv)
            n += 1
            if sys.stderr.isatty():
                sys.stderr.write(f"\r{progress} {n}/{total} {c.label[:50]:<50}")
            if code not in c.ok:
                c.failures.append(f"exit {code}: {' '.join(argv)}\n{tail.strip()}")
            if rnd >= warmup:
                c.times.append(dt)
                c.rss.append(rss)
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 80 + "\r")


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def pair_ratio(a: Cmd, b: Cmd) -> float:
    return med([x / y for x, y in zip(a.times, b.times)])


def ms(t: float) -> str:
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"


def mib(kib_list) -> str:
    return f"{max(kib_list) / 1024:.0f} MiB" if kib_list else "–"


def spread(c: Cmd) -> str:
    if len(c.times) < 2:
        return ms(c.times[0]) if c.times else "–"
    return f"{ms(min(c.times))} – {ms(max(c.times))}"


# ------------------------------------------------------------------ folders


def crm_path(explicit: str | None) -> str:
    if explicit:
        return explicit
    near = Path(sys.executable).with_name("crm")
    return str(near) if near.exists() else (shutil.which("crm") or "crm")


def crm_python(crm: str) -> str:
    """The interpreter of the crm console script (its shebang), for baselines."""
    try:
        first = Path(crm).read_text(errors="replace").splitlines()[0]
        if first.startswith("#!") and "python" in first:
            return first[2:].strip().split()[0]
    except (OSError, IndexError):
        pass
    return sys.executable


def folder(data: Path, clients: int, workers: int) -> Path:
    out = data / f"clients-{clients}"
    if not (out / "crm.yaml").exists():
        sys.path.insert(0, str(HERE))
        import gen
        sys.stderr.write(f"generating {out} ({clients} clients) ...\n")
        gen.generate(out, clients, seed=42, workers=workers)
    return out


def pick(folder_: Path) -> dict:
    """A client with an open deal, that deal and its stage (read with PyYAML)."""
    import yaml
    open_stages = ("lead", "qualified", "proposal", "negotiation")
    with os.scandir(folder_ / "deals") as it:
        names = sorted(e.name for e in it if e.name.endswith(".yaml") and not e.name.startswith("."))
    for name in names:
        rec = yaml.load((folder_ / "deals" / name).read_bytes(), Loader=yaml.CBaseLoader)
        if rec.get("stage") in open_stages and rec.get("client"):
            return {"client": rec["client"], "deal": name[:-5], "stage": rec["stage"]}
    raise SystemExit(f"run.py: no open deal in {folder_}")


def exists(crm: str, words: list[str]) -> bool:
    proc = subprocess.run([crm, *words, "--help"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return proc.returncode == 0


# ------------------------------------------------------------------ presets


def preset_startup(a, crm: str) -> str:
    py = crm_python(crm)
    tmp = Path(tempfile.mkdtemp(prefix="crm-startup-"))
    try:
        subprocess.run([crm, "init", str(tmp / "f"), "--name", "startup"], check=True, env=ENV,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        f = str(tmp / "f")
        cmds = [
            Cmd("python -c pass", [py, "-c", "pass"]),
            Cmd("bare Typer app, one command (bench/bare_typer.py)", [py, str(HERE / "bare_typer.py")]),
            Cmd("crm --version", [crm, "--version"]),
            Cmd("crm client add NAME (empty folder)", [crm, "--dir", f, "--today", TODAY, "client", "add", "Start Up"]),
            # a command that reads (through the index) instead of writing
            Cmd("crm deal list (empty folder)", [crm, "--dir", f, "--today", TODAY, "deal", "list"]),
        ]
        measure(cmds, a.runs, a.warmup, "startup")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base, bare = cmds[0], cmds[1]
    lines = [f"Start-up, {a.runs} rounds after {a.warmup} warm-up (round-robin: pass, bare Typer, "
             "crm --version, crm client add, crm deal list).", "",
             "| command | median | min – max | peak RSS | / bare Typer (median of per-round ratios) "
             "| / bare Typer (ratio of medians) | / python -c pass (per-round) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for c in cmds:
        lines.append(f"| `{c.label}` | {ms(med(c.times))} | {spread(c)} | {mib(c.rss)} | "
                     f"{pair_ratio(c, bare):.2f} | {med(c.times) / med(bare.times):.2f} | "
                     f"{pair_ratio(c, base):.2f} |")
    return "\n".join(lines) + failures(cmds)


def preset_single(a, crm: str) -> str:
    small = folder(Path(a.data), a.small, a.workers)
    big = folder(Path(a.data), a.big, a.workers)
    cmds: list[Cmd] = []
    targets = {}
    for f in (small, big):
        targets[f] = pick(f)
    specs = [
        ("client add NAME", lambda t, i: ["client", "add", f"Bench Client {i}"]),
        ("client show ID", lambda t, i: ["client", "show", t["client"]]),
        ("deal show ID", lambda t, i: ["deal", "show", t["deal"]]),
        ("client edit ID --set notes=…", lambda t, i: ["client", "edit", t["client"], "--set", f"notes=bench run {i}"]),
        ("log ID call COMMENT", lambda t, i: ["log", t["client"], "call", f"bench call {i}"]),
        ("deal move ID STAGE", lambda t, i: ["deal", "move", t["deal"], _alternate(t, i)]),
    ]
    pairs = []
    for label, make in specs:
        row = []
        for f in (small, big):
            t = targets[f]
            row.append(Cmd(f"{label} @ {f.name}",
                           (lambda i, f=f, t=t, make=make: [crm, "--dir", str(f), "--today", TODAY, *make(t, i)])))
        cmds.extend(row)
        pairs.append((label, row[0], row[1]))
    measure(cmds, a.runs, a.warmup, "single")
    lines = [f"One-record commands, {a.runs} rounds after {a.warmup} warm-up; each command alternates "
             f"between the {a.small}-client and the {a.big:,}-client folder.", "",
             f"| command | {a.small} clients | {a.big:,} clients | ratio (per-round median) "
             f"| peak RSS {a.small} / {a.big:,} |",
             "|---|---:|---:|---:|---:|"]
    for label, s, b in pairs:
        lines.append(f"| `crm {label}` | {ms(med(s.times))} | {ms(med(b.times))} | {pair_ratio(b, s):.2f} | "
                     f"{mib(s.rss)} / {mib(b.rss)} |")
    return "\n".join(lines) + failures(cmds)


def _alternate(t: dict, i: int) -> str:
    """Two stages to move between, never the deal's current one."""
    a, b = ("negotiation", "proposal") if t["stage"] == "proposal" else ("proposal", "negotiation")
    return a if i % 2 else b


SCALE_COMMANDS = [
    (["report", "funnel"], []),
    (["report", "retention"], []),
    (["remind"], []),
    (["client", "list"], []),
    (["find"], ["Смирнова"]),
    (["check"], []),
]

# --reports: the other seven reports too (issue 7 at 100,000 clients: "every
# report and crm remind under 3 s warm")
REPORT_COMMANDS = [
    (["report", "sales"], []),
    (["report", "managers"], []),
    (["report", "sources"], []),
    (["report", "competitors"], []),
    (["report", "segments"], ["--by", "source"]),
    (["report", "prices"], ["--product", "Подарочный сертификат"]),
    (["report", "stakeholders"], []),
]


def preset_scale(a, crm: str) -> str:
    sizes = [1000, 10000] + ([100000] if a.large else [])
    if a.sizes:
        sizes = [int(s) for s in a.sizes.split(",")]
    py = crm_python(crm)
    present, skipped = [], []
    for words, extra in SCALE_COMMANDS + (REPORT_COMMANDS if a.reports else []):
        (present if exists(crm, words) else skipped).append((words, extra))
    out = []
    for n in sizes:
        f = folder(Path(a.data), n, a.workers)
        files = sum(1 for kind in ("clients", "deals", "activities", "stakeholders", "competitors")
                    for _ in os.scandir(f / kind))
        before = None
        if a.no_index:
            before = lambda f=f: _drop_index(f)
        elif a.touch:
            before = lambda f=f: _touch(f, a.touch)
        floor = Cmd("parse every file, PyYAML CLoader, one process (bench/parse_floor.py)",
                    [py, str(HERE / "parse_floor.py"), str(f)])
        base = Cmd("python -c pass", [py, "-c", "pass"])
        cmds = [base] + ([] if a.no_floor else [floor])
        for words, extra in present:
            # check and lists exit 1 on a bad file; the generated folders have none
            cmds.append(Cmd("crm " + " ".join(words + extra),
                            [crm, "--dir", str(f), "--today", TODAY, *words, *extra], before=before))
        measure(cmds, a.runs, a.warmup, f"scale {n}")
        mode = ("no index (`.crm/` emptied before each run)" if a.no_index else
                f"{a.touch}% of the files changed by hand before each run" if a.touch else "warm (as left by the previous run)")
        lines = [f"### {n:,} clients ({files:,} record files) — {mode}", "",
                 f"{a.runs} rounds after {a.warmup} warm-up, round-robin.", "",
                 "| command | median | min – max | peak RSS | / parse floor (per-round) |",
                 "|---|---:|---:|---:|---:|"]
        for c in cmds:
            lines.append(f"| `{c.label}` | {ms(med(c.times))} | {spread(c)} | {mib(c.rss)} | "
                         + ("— |" if a.no_floor else f"{pair_ratio(c, floor):.2f} |"))
        out.append("\n".join(lines) + failures(cmds))
    if skipped:
        out.append("Not measured (the command does not exist in this build): "
                   + ", ".join("`crm " + " ".join(w) + "`" for w, _ in skipped) + ".")
    return "\n\n".join(out)


def _drop_index(f: Path) -> None:
    crm_dir = f / ".crm"
    if not crm_dir.is_dir():
        return
    for entry in crm_dir.iterdir():
        if entry.name == "lock":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _touch(f: Path, percent: float) -> None:
    """Change ``percent`` % of the record files as a person would: append a comment."""
    import random
    rng = random.Random()
    for kind in ("clients", "deals", "activities"):
        with os.scandir(f / kind) as it:
            names = [e.name for e in it if e.name.endswith(".yaml")]
        for name in rng.sample(names, max(1, int(len(names) * percent / 100))):
            with open(f / kind / name, "a", encoding="utf-8") as fh:
                fh.write("# touched by bench/run.py\n")


def failures(cmds: list[Cmd]) -> str:
    bad = [c for c in cmds if c.failures]
    if not bad:
        return ""
    text = ["", "", "**Failed runs** (their times are still in the table):", ""]
    for c in bad:
        text.append(f"- `{c.label}`: {len(c.failures)} failed; first: `{c.failures[0].splitlines()[0]}`")
        for line in c.failures[0].splitlines()[1:4]:
            text.append(f"  > {line}")
    return "\n".join(text)


# ------------------------------------------------------------------ the machine


def machine(crm: str) -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    py = crm_python(crm)
    pyver = subprocess.run([py, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                           text=True).stdout.strip()
    libs = subprocess.run([py, "-c", "import importlib.metadata as m\n"
                           "print(', '.join(f'{p} {m.version(p)}' for p in ('typer', 'PyYAML', 'ruamel.yaml')))"],
                          capture_output=True, text=True).stdout.strip()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    rev = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "--", "crmcli"],
                           capture_output=True, text=True).stdout.strip()
    return "\n".join([
        "| item | value |", "|---|---|",
        f"| crmcli source | commit {rev}" + (" + uncommitted changes in crmcli/" if dirty else "") + " |",
        f"| CPU | {cpu}; `nproc` = {os.cpu_count()} |",
        f"| memory | {mem} |",
        f"| kernel | {platform.system()} {platform.release()} |",
        f"| Python | {pyver} (`{py}`) |",
        f"| packages | {libs} |",
        f"| crm | `{crm}` |",
        f"| load average at start (1/5/15 min) | {load} |",
    ])


def main(argv=None) -> None:
    global ENV
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("preset", nargs="+", choices=("startup", "single", "scale"))
    ap.add_argument("--crm", help="the crm executable (default: crm next to this Python)")
    ap.add_argument("--data", default="/tmp/bench", help="where the generated folders live (default /tmp/bench)")
    ap.add_argument("--runs", type=int, help="measured rounds (default: startup 20, single 10, scale 3)")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured rounds first (default 2)")
    ap.add_argument("--small", type=int, default=10, help="clients in the small folder of 'single' (default 10)")
    ap.add_argument("--big", type=int, default=10000, help="clients in the big folder of 'single' (default 10000)")
    ap.add_argument("--large", action="store_true", help="'scale' also at 100,000 clients (1.4 M files)")
    ap.add_argument("--sizes", help="'scale' at these client counts instead, e.g. 10,1000")
    ap.add_argument("--reports", action="store_true", help="'scale': the other seven reports too")
    ap.add_argument("--no-floor", action="store_true", help="'scale': leave out the parse floor (minutes at 100k)")
    ap.add_argument("--no-index", action="store_true", help="'scale': empty .crm/ (but the lock) before each crm run")
    ap.add_argument("--touch", type=float, default=0, metavar="PERCENT",
                    help="'scale': append a comment to PERCENT %% of the files before each crm run")
    ap.add_argument("--workers", type=int, default=2, help="processes for generating folders (default 2)")
    ap.add_argument("--keep-env", action="store_true", help="run children with the environment as it is")
    ap.add_argument("--out", help="also append the Markdown to this file")
    a = ap.parse_args(argv)
    ENV = dict(os.environ)
    if not a.keep_env:
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    for k in ("CRM_DIR", "CRM_TODAY"):
        ENV.pop(k, None)
    crm = crm_path(a.crm)
    parts = [f"## crmcli benchmark, {time.strftime('%Y-%m-%d %H:%M')}", "", machine(crm)]
    defaults = {"startup": 20, "single": 10, "scale": 3}
    for p in a.preset:
        runs = a.runs or defaults[p]
        ns = argparse.Namespace(**{**vars(a), "runs": runs})
        t0 = time.perf_counter()
        body = {"startup": preset_startup, "single": preset_single, "scale": preset_scale}[p](ns, crm)
        parts += ["", f"### preset `{p}` ({time.perf_counter() - t0:.0f} s)", "", body]
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    parts += ["", f"Load average at the end (1/5/15 min): {load}.", ""]
    text = "\n".join(parts)
    sys.stdout.write(text)
    if a.out:
        with open(a.out, "a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
