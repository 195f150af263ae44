"""``crm report`` as a user runs it: the installed ``crm`` in a real process.

Three kinds of proof (issue 3):

* golden files: every report on data_example/ with today fixed at 2026-11-27,
  compared byte for byte with tests/golden/ (``tools/regen_golden.py``
  rewrites them; review the diff);
* figures computed here by hand from the YAML files, read with plain PyYAML
  and nothing of crmcli, compared with ``--format json``; and the worked
  example of docs/reports.md checked against the same JSON;
* edge cases: an empty folder, a window with no deals, bad filter values,
  filters that compose, a folder with a broken deal file.

Every command runs on a private copy of data_example/ (or a ``crm init``
folder) in tmp: nothing here writes into the repository.
"""
from __future__ import annotations

import ast
import difflib
import importlib.util
import json
import os
import re
import shlex
import statistics
import subprocess
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reports.md"
TODAY = date(2026, 11, 27)


def _load_regen():
    spec = importlib.util.spec_from_file_location("regen_golden", ROOT / "tools" / "regen_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


regen = _load_regen()        # the one definition of how a golden output is made
CASES = regen.read_manifest()
GOLDEN_ARGS = dict(CASES)


class Runs:
    """Commands on one private copy of data_example/, run once each."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.done: dict[tuple, subprocess.CompletedProcess] = {}

    def prefetch(self, arg_lists):
        todo = [list(a) for a in dict.fromkeys(tuple(a) for a in arg_lists) if tuple(a) not in self.done]
        for args, p in zip(todo, regen.run_many(self.folder, todo)):
            self.done[tuple(args)] = p

    def __call__(self, *args) -> subprocess.CompletedProcess:
        if args not in self.done:
            self.done[args] = regen.run(self.folder, list(args))
        return self.done[args]

    def json(self, *args) -> dict:
        p = self(*args)
        assert p.returncode == 0 and not p.stderr, (args, p.returncode, p.stderr.decode())
        return json.loads(p.stdout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    """Every golden command, run side by side on one copy of data_example/."""
    r = Runs(regen.copy_example(tmp_path_factory.mktemp("golden") / "data_example"))
    r.prefetch(args for _, args in CASES)
    return r


def failed(p: subprocess.CompletedProcess, code: int) -> str:
    """Assert a clear refusal: exit ``code``, ``error:`` on stderr, no traceback,
    nothing on stdout.  Returns stderr."""
    err = p.stderr.decode("utf-8")
    assert p.returncode == code, (p.returncode, err)
    assert "Traceback" not in err, err
    assert err.startswith("error:") or "\nerror:" in err, err
    assert p.stdout == b"", p.stdout
    return err


# =================================================================== golden files

@pytest.mark.parametrize("name", [n for n, _ in CASES])
def test_golden(runs, name):
    args = GOLDEN_ARGS[name]
    p = runs(*args)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stderr == b"", p.stderr.decode()
    path = regen.GOLDEN / name
    assert path.exists(), f"{path} is missing: run `python tools/regen_golden.py` and review the diff"
    expected = path.read_bytes()
    if p.stdout != expected:
        diff = "".join(difflib.unified_diff(
            expected.decode("utf-8").splitlines(keepends=True),
            p.stdout.decode("utf-8").splitlines(keepends=True),
            f"tests/golden/{name}", f"crm {shlex.join(args)}"))
        pytest.fail(f"`crm {shlex.join(args)}` differs from tests/golden/{name}:\n{diff}\n"
                    "If the change is meant: python tools/regen_golden.py, then review git diff tests/golden",
                    pytrace=False)
    text = expected.decode("utf-8")
    if name.endswith(".txt"):
        # a pipe gets plain characters: no block bars, box rules or shades
        assert not set(text) & set("█▏▎▍▌▋▊▉─░▒▓✓"), name
    elif name.endswith(".json"):
        json.loads(text)
    elif name.endswith(".yaml"):
        yaml.safe_load(text)


def test_golden_folder_holds_only_listed_files():
    listed = {n for n, _ in CASES} | {regen.MANIFEST.name}
    present = {p.name for p in regen.GOLDEN.iterdir() if p.is_file()}
    assert present - listed == set(), "golden files no line of commands.txt makes"
    assert listed - present == set(), "run `python tools/regen_golden.py`"
    reports = {args[1] for _, args in CASES}
    assert reports == {"funnel", "retention", "sales", "managers", "sources", "competitors",
                       "segments", "prices", "stakeholders"}
    for report in reports:
        kinds = {n.rsplit(".", 1)[1] for n, args in CASES if args[1] == report}
        assert {"txt"} <= kinds and kinds & {"json", "yaml"}, report


def test_bars_are_block_characters_on_a_terminal(tmp_path):
    pty = pytest.importorskip("pty")
    folder = regen.copy_example(tmp_path / "data_example")
    master, slave = pty.openpty()
    env = regen.plain_env(TERM="xterm", LC_ALL="C.UTF-8")
    try:
        p = subprocess.Popen([*regen.crm_command(), "--dir", str(folder), "--today", "2026-11-27",
                              "report", "funnel"], stdout=slave, stderr=subprocess.PIPE, env=env)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert p.wait(timeout=60) == 0, p.stderr.read()
        p.stderr.close()
    finally:
        os.close(master)
    shown = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    assert "█" in shown and "─" in shown
    # the same figures as the plain golden output, only drawn differently
    plain = (regen.GOLDEN / "funnel.txt").read_text(encoding="utf-8")
    assert re.findall(r"\d[\d,.]*", shown) == re.findall(r"\d[\d,.]*", plain)


# =================================================================== by hand

D = Decimal


def as_date(v) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def dec(v) -> Decimal:
    return D(str(v))


def r2(x) -> float:
    return float(D(x).quantize(D("0.01"), ROUND_HALF_UP))


def r4(x) -> float:
    return float(D(x).quantize(D("0.0001"), ROUND_HALF_UP))


class Example:
    """data_example/ read with yaml.safe_load: the figures below owe nothing to crmcli.

    Only what this data needs: every deal has a history and a created date
    (asserted), amounts are plain numbers, and a rate table per currency.
    """

    def __init__(self, root: Path):
        self.cfg = yaml.safe_load((root / "crm.yaml").read_text(encoding="utf-8"))
        self.clients = self._load(root / "clients")
        self.deals = self._load(root / "deals")
        self.pipeline = self.cfg["pipeline"]
        self.won_stage, self.lost_stage = self.pipeline[-1], self.cfg["lost_stage"]
        self.base = self.cfg["currency"]
        self.rates = {cur: sorted((as_date(k), dec(v)) for k, v in table.items())
                      for cur, table in self.cfg["rates"].items()}
        for did, d in self.deals.items():
            assert d.get("history") and d.get("created"), did

    @staticmethod
    def _load(folder: Path) -> dict[str, dict]:
        return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
                for p in folder.rglob("*.yaml") if not p.name.startswith(".")}

    def rate(self, currency: str, day: date) -> Decimal:
        if currency == self.base:
            return D(1)
        table = self.rates[currency]
        in_force = [r for d, r in table if d <= day]
        return in_force[-1] if in_force else table[0][1]

    def history(self, deal) -> list[tuple[str, date]]:
        return [(h["stage"], as_date(h["date"])) for h in deal["history"]]

    def entered(self, deal, *stages) -> date:
        """The date of the last entry into one of ``stages``."""
        return [day for s, day in self.history(deal) if s in stages][-1]

    def outcome(self, deal) -> str:
        return {self.won_stage: "won", self.lost_stage: "lost"}.get(deal["stage"], "open")

    def closed(self, deal) -> date | None:
        return None if self.outcome(deal) == "open" else self.entered(deal, self.won_stage, self.lost_stage)

    def amount(self, deal) -> Decimal | None:
        if "amount" in deal:
            return dec(deal["amount"])
        if "quantity" in deal and "unit_price" in deal:
            return dec(deal["quantity"]) * dec(deal["unit_price"])
        return None

    def value(self, deal, day: date | None = None) -> Decimal:
        """In the base currency at the rate of ``day`` (default: the close date, or today)."""
        day = day or self.closed(deal) or TODAY
        return self.amount(deal) * self.rate(deal.get("currency", self.base), day)

    def owner(self, deal):
        return deal.get("owner") or self.clients[deal["client"]].get("owner")

    def tags(self, deal) -> list:
        return self.clients[deal["client"]].get("tags") or []

    def by_outcome(self, deals=None):
        deals = list(self.deals.values()) if deals is None else deals
        return tuple([d for d in deals if self.outcome(d) == o] for o in ("open", "won", "lost"))

    def furthest(self, deal) -> int:
        """Index of the furthest pipeline stage the deal reached."""
        if self.outcome(deal) == "won":
            return len(self.pipeline) - 1
        stages = [s for s, _ in self.history(deal)]
        if self.outcome(deal) == "lost":
            stages = stages[:len(stages) - 1 - stages[::-1].index(self.lost_stage)]
        else:
            stages.append(deal["stage"])
        return max(self.pipeline.index(s) for s in stages if s in self.pipeline)


@pytest.fixture(scope="module")
def ex(runs) -> Example:
    return Example(runs.folder)


def test_funnel_by_hand(runs, ex):
    got = runs.json("report", "funnel", "--format", "json")
    open_, won, lost = ex.by_outcome()
    deals = list(ex.deals.values())
    reached = [sum(1 for d in deals if ex.furthest(d) >= i) for i in range(len(ex.pipeline))]
    gaps = {s: [] for s in ex.pipeline}
    for d in deals:
        h = ex.history(d)
        for (stage, day), (_, next_day) in zip(h, h[1:]):
            if stage in gaps:
                gaps[stage].append((next_day - day).days)
    assert got["stages"] == [
        {"stage": s, "reached": reached[i],
         "conversion": r4(D(reached[i + 1]) / reached[i]) if i + 1 < len(reached) else None,
         "median_days": float(statistics.median(gaps[s])) if gaps[s] else None}
        for i, s in enumerate(ex.pipeline)]
    assert reached[0] == len(deals) == got["deals"] == 74
    assert (got["open"], got["won"], got["lost"]) == (len(open_), len(won), len(lost)) == (19, 37, 18)

    win_rate = D(len(won)) / (len(won) + len(lost))
    won_amount = sum(ex.value(d) for d in won)
    avg = won_amount / len(won)
    cycle = statistics.median((ex.entered(d, ex.won_stage) - as_date(d["created"])).days for d in won)
    assert got["win_rate"] == r4(win_rate)
    assert got["won_amount"] == r2(won_amount)
    assert got["avg_won_amount"] == r2(avg)
    assert got["lost_amount"] == r2(sum(ex.value(d) for d in lost))
    assert got["cycle_days"] == float(cycle)
    # contract §5: velocity = open × win_rate × avg_won_amount / cycle_days
    assert got["velocity"] == r2(len(open_) * win_rate * avg / dec(cycle))
    reasons = Counter(d["lost_reason"] for d in lost if d.get("lost_reason"))
    assert got["lost_reasons"] == [{"reason": r, "deals": n}
                                   for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
    # foreign-currency deals are converted at the rate of their own close date
    foreign = [d for d in won if d.get("currency", ex.base) != ex.base]
    assert {d.get("currency") for d in foreign} == {"USD", "EUR"}
    assert len({ex.rate(d["currency"], ex.closed(d)) for d in foreign}) > 1


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
def test_retention_by_hand(runs, ex, period):
    got = runs.json("report", "retention", "--period", period, "--format", "json")

    def index(day):
        return {"month": day.year * 12 + day.month - 1,
                "quarter": day.year * 4 + (day.month - 1) // 3, "year": day.year}[period]

    def label(i):
        return {"month": f"{i // 12}-{i % 12 + 1:02d}", "quarter": f"{i // 4}-Q{i % 4 + 1}",
                "year": str(i)}[period]

    purchases: dict[str, list] = {}
    for d in ex.by_outcome()[1]:
        purchases.setdefault(d["client"], []).append((ex.entered(d, ex.won_stage), ex.value(d)))
    customers = len(purchases)
    repeat = sum(1 for p in purchases.values() if len(p) >= 2)
    churned = [c for c, p in purchases.items()
               if (TODAY - max(day for day, _ in p)).days > ex.cfg["churn_after"]]
    revenue = sum(v for p in purchases.values() for _, v in p)
    assert (got["customers"], got["repeat_customers"], got["churned"]) == (customers, repeat, len(churned))
    assert got["repeat_rate"] == r4(D(repeat) / customers)
    assert got["churn_rate"] == r4(D(len(churned)) / customers)
    assert got["revenue"] == r2(revenue)
    assert got["revenue_per_customer"] == r2(revenue / customers)
    assert got["churned_revenue"] == r2(sum(v for c in churned for _, v in purchases[c]))

    cohorts: dict[int, list[set]] = {}
    for p in purchases.values():
        periods = {index(day) for day, _ in p}
        cohorts.setdefault(min(periods), []).append(periods)
    now = index(TODAY)
    assert got["cohorts"] == [
        {"cohort": label(start), "size": len(members),
         "retention": [r4(D(sum(1 for m in members if start + k in m)) / len(members))
                       for k in range(now - start + 1)]}
        for start, members in sorted(cohorts.items())]
    assert sum(c["size"] for c in got["cohorts"]) == customers == 20


def test_sales_by_hand(runs, ex):
    """By quarter, at the close-date rates and at today's (constant) rates."""
    got = runs.json("report", "sales", "--by", "quarter", "--format", "json")
    groups: dict[str, list] = {}
    for d in ex.by_outcome()[1]:
        day = ex.closed(d)
        g = groups.setdefault(f"{day.year}-Q{(day.month - 1) // 3 + 1}", [0, D(0), D(0)])
        g[0] += 1
        g[1] += ex.value(d)
        g[2] += ex.value(d, TODAY)
    assert got["foreign_currency"] is True
    first, last = min(groups), max(groups)
    labels = [f"{y}-Q{q}" for y in range(int(first[:4]), int(last[:4]) + 1) for q in range(1, 5)]
    labels = [q for q in labels if first <= q <= last]
    empty = [0, D(0), D(0)]       # a quarter with no sale is listed, with zeros
    assert got["rows"] == [{"quarter": q, "won": groups.get(q, empty)[0],
                            "revenue": r2(groups.get(q, empty)[1]),
                            "revenue_constant": r2(groups.get(q, empty)[2])} for q in labels]
    revenue = sum(g[1] for g in groups.values())
    constant = sum(g[2] for g in groups.values())
    assert got["won"] == 37 and got["revenue"] == r2(revenue)
    assert got["revenue_constant"] == r2(constant)
    assert got["currency_effect"] == r2(revenue - constant) != 0


def test_sources_by_hand(runs, ex):
    got = runs.json("report", "sources", "--format", "json")
    won = ex.by_outcome()[1]
    rows = []
    for name, info in ex.cfg["sources"].items():
        clients = [cid for cid, c in ex.clients.items() if c.get("source") == name]
        customers = [cid for cid in clients if any(d["client"] == cid for d in won)]
        revenue = sum((ex.value(d) for d in won
                       if (d.get("source") or ex.clients[d["client"]].get("source")) == name), D(0))
        cost = dec(info["cost"])
        rows.append({"source": name, "clients": len(clients), "customers": len(customers),
                     "conversion": r4(D(len(customers)) / len(clients)), "revenue": r2(revenue),
                     "cost": r2(cost), "cost_per_lead": r2(cost / len(clients)),
                     "cost_per_customer": r2(cost / len(customers)),
                     "roi": r4((revenue - cost) / cost) if cost else None})
    assert got["rows"] == rows
    assert got["clients"] == len(ex.clients) and got["customers"] == 20
    cost = sum(dec(i["cost"]) for i in ex.cfg["sources"].values())
    assert got["cost"] == r2(cost) and got["roi"] == r4((dec(got["revenue"]) - cost) / cost)


def test_reports_agree_with_each_other(runs):
    """The same facts seen by different reports give the same totals."""
    funnel = runs.json("report", "funnel", "--format", "json")
    sales = runs.json("report", "sales", "--format", "json")
    others = {name: runs.json(*GOLDEN_ARGS[name]) for name in (
        "retention.json", "managers.json", "sources.json", "segments-kind.json",
        "segments-tag.json", "sales-owner.json", "sales-season.json")}
    revenue = funnel["won_amount"]
    assert revenue == sales["revenue"] == others["retention.json"]["revenue"]
    for name in ("managers.json", "sources.json", "segments-kind.json", "segments-tag.json",
                 "sales-owner.json", "sales-season.json"):
        assert others[name]["revenue"] == revenue, name
    assert funnel["won"] == sales["won"] == others["managers.json"]["won"] == 37
    assert funnel["lost"] == others["managers.json"]["lost"]
    assert funnel["open"] == others["managers.json"]["open"]
    customers = others["retention.json"]["customers"]
    assert customers == others["sources.json"]["customers"] == others["segments-kind.json"]["customers"]
    # rows add up to the totals (by tag a deal counts under each tag: more)
    for report in (sales, others["sales-owner.json"], others["sales-season.json"],
                   others["managers.json"], others["segments-kind.json"]):
        assert round(sum(r["revenue"] for r in report["rows"]), 2) == revenue
    assert sum(r["revenue"] for r in others["segments-tag.json"]["rows"]) > revenue


# =================================================================== the worked example in docs/reports.md

def worked_example() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Worked example on data_example")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def doc_golden_blocks() -> list[tuple[str, str, str]]:
    """(golden name, command line, output) of each ``<!-- golden: NAME -->`` block."""
    pattern = re.compile(r"<!-- golden: (\S+) -->\n```text\n\$ ([^\n]*)\n(.*?)```\n", re.S)
    return pattern.findall(worked_example())


def doc_checks() -> list[tuple[list[str], list[tuple[str, str, str]]]]:
    """(crm args, rows of (JSON path, by hand, value)) of each ``<!-- check: ARGS -->`` table."""
    out = []
    for m in re.finditer(r"<!-- check: (.*?) -->\n((?:\|.*\n)+)", worked_example()):
        lines = m.group(2).splitlines()
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        rows = []
        for line in lines[2:]:
            cells = dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
            rows.append((cells["JSON key"].strip("`"), cells["by hand"], cells["value"]))
        out.append((shlex.split(m.group(1)), rows))
    return out


def json_path(data, path: str):
    """``stages[qualified].reached``: a key, then ``[X]`` picks the row of a
    list whose first value is X (or item X of a list of plain values)."""
    for key, pick in re.findall(r"\.?([^.\[\]]+)?(?:\[([^\]]+)\])?", path):
        if key:
            data = data[key]
        if pick:
            if data and isinstance(data[0], dict):
                hits = [row for row in data if str(next(iter(row.values()))) == pick]
                assert len(hits) == 1, (path, pick)
                data = hits[0]
            else:
                data = data[int(pick)]
    return data


def doc_number(text: str) -> Decimal:
    return D(text.replace(",", ""))


def evaluate(expr: str) -> Decimal:
    """The arithmetic of a "by hand" cell, in exact decimals: numbers (with
    thousands commas), + − × / and parentheses, nothing else."""
    src = expr.replace(",", "").replace("×", "*").replace("−", "-").replace("÷", "/")

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return D(ast.get_source_segment(src, node))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            ops = {ast.Add: a.__add__, ast.Sub: a.__sub__, ast.Mult: a.__mul__, ast.Div: a.__truediv__}
            return ops[type(node.op)](b)
        raise AssertionError(f"not plain arithmetic: {expr!r}")

    return ev(ast.parse(src, mode="eval"))


def test_worked_example_figures_are_the_commands(runs):
    checks = doc_checks()
    assert len(checks) >= 4 and sum(len(rows) for _, rows in checks) >= 25
    evaluated = 0
    for args, rows in checks:
        got = runs.json(*args)
        for path, by_hand, value in rows:
            actual = json_path(got, path)
            where = f"docs/reports.md: crm {shlex.join(args)}: {path}"
            if value == "null":
                assert actual is None, where
                continue
            assert actual is not None and doc_number(value) == D(str(actual)), (where, value, actual)
            for expr in re.findall(r"`([^`]+)`", by_hand):
                places = -doc_number(value).as_tuple().exponent
                result = evaluate(expr).quantize(D(1).scaleb(-places), ROUND_HALF_UP)
                assert result == doc_number(value), (where, expr, result, value)
                evaluated += 1
    assert evaluated >= 15


def test_worked_example_outputs_are_the_golden_files():
    blocks = doc_golden_blocks()
    assert {name for name, _, _ in blocks} >= {"funnel.txt", "retention-year.txt", "sales-quarter.txt"}
    for name, command, output in blocks:
        assert command == f"crm --dir data_example --today 2026-11-27 {shlex.join(GOLDEN_ARGS[name])}", name
        assert output == (regen.GOLDEN / name).read_text(encoding="utf-8"), \
            f"docs/reports.md shows an old {name}: paste the new tests/golden/{name}"


# =================================================================== edge cases

REPORTS = [["funnel"], ["retention"], ["sales"], ["managers"], ["sources"], ["competitors"],
           ["segments", "--by", "kind"], ["stakeholders"]]


@pytest.fixture
def empty(tmp_path) -> Path:
    root = tmp_path / "empty"
    p = subprocess.run([*regen.crm_command(), "init", str(root)], capture_output=True,
                       env=regen.plain_env())
    assert p.returncode == 0, p.stderr
    return root


def test_every_report_answers_on_an_empty_folder(empty):
    extra = [["segments", "--by", "fields.psychotype"], ["segments", "--by", "status"],
             ["sales", "--by", "owner"], ["sales", "--season"], ["retention", "--period", "year"]]
    formats = {"funnel": ("csv", "yaml"), "retention": ("csv", "yaml"), "sales": ("csv",)}
    cmds = [["report", *r, "--format", f] for r in REPORTS + extra
            for f in ("table", "json", *formats.get(r[0], ()))]
    results = dict(zip(map(tuple, cmds), regen.run_many(empty, cmds)))
    for args, p in results.items():
        assert p.returncode == 0 and p.stderr == b"", (args, p.stderr.decode())
        if args[-1] == "json":
            json.loads(p.stdout)
        elif args[-1] == "yaml":
            yaml.safe_load(p.stdout)
    j = {args[1]: json.loads(p.stdout) for args, p in results.items()
         if args[-1] == "json" and len(args) == 4}
    f = j["funnel"]
    assert f["deals"] == 0 and all(s["reached"] == 0 and s["conversion"] is None
                                   and s["median_days"] is None for s in f["stages"])
    assert [f[k] for k in ("win_rate", "avg_won_amount", "cycle_days", "velocity")] == [None] * 4
    assert f["won_amount"] == 0 and f["lost_reasons"] == []
    r = j["retention"]
    assert r["customers"] == 0 and r["cohorts"] == []
    assert [r[k] for k in ("repeat_rate", "churn_rate", "revenue_per_customer")] == [None] * 3
    assert j["sales"]["rows"] == [] and j["sales"]["revenue"] == 0
    assert j["managers"]["win_rate"] is None and j["managers"]["cycle_days"] is None
    assert j["sources"]["conversion"] is None and j["sources"]["roi"] is None
    assert j["competitors"]["rows"] == [] and j["competitors"]["win_rate"] is None
    assert j["stakeholders"]["stakeholders"] == 0


def test_prices_on_a_folder_without_that_product(empty):
    """No deal names a product yet: the product is unknown, and the error says why."""
    err = failed(regen.run(empty, ["report", "prices", "--product", "yoga-mat"]), 1)
    assert "no deal names a product" in err
    # a product whose only deal is still open: an answer with nothing in it
    client = regen.run(empty, ["client", "add", "Acme"]).stdout.decode().strip()
    p = regen.run(empty, ["deal", "add", client, "Mats", "--product", "yoga-mat", "--quantity", "3",
                          "--unit-price", "1200"])
    assert p.returncode == 0, p.stderr
    got = json.loads(regen.run(empty, ["report", "prices", "--product", "yoga-mat", "-f", "json"]).stdout)
    assert got["rows"] == [] and got["deals"] == 0 and got["quantity"] == 0
    assert got["revenue"] == 0 and got["avg_price"] is None


def test_a_window_with_no_deals(runs, ex):
    # in the middle of the data: no deal was won from June to August 2025
    won_then = [d for d in ex.by_outcome()[1] if date(2025, 6, 1) <= ex.closed(d) <= date(2025, 8, 31)]
    assert won_then == []
    got = runs.json("report", "sales", "--from", "2025-06-01", "--to", "2025-08-31", "-f", "json")
    assert got["rows"] == [{"month": m, "won": 0, "revenue": 0.0, "revenue_constant": 0.0}
                           for m in ("2025-06", "2025-07", "2025-08")]
    assert (got["won"], got["revenue"], got["currency_effect"]) == (0, 0.0, 0.0)
    assert got["foreign_currency"] is False

    # after all the data: every windowed report answers, with nothing in it
    window = ["--from", "2030-01-01", "--to", "2030-03-31", "--format", "json"]
    cmds = [["report", *r, *window] for r in REPORTS if r[0] not in ("retention", "stakeholders")]
    cmds.append(["report", "prices", "--product", "Абонемент массаж 10", *window])
    runs.prefetch(cmds)
    j = {args[1]: runs.json(*args) for args in cmds}
    assert j["funnel"]["deals"] == 0 and j["funnel"]["win_rate"] is None and j["funnel"]["velocity"] is None
    assert (j["funnel"]["from"], j["funnel"]["to"]) == ("2030-01-01", "2030-03-31")
    assert [r["month"] for r in j["sales"]["rows"]] == ["2030-01", "2030-02", "2030-03"]
    assert j["sales"]["won"] == 0
    m = j["managers"]
    assert (m["won"], m["lost"], m["activities_done"], m["win_rate"]) == (0, 0, 0, None)
    assert m["open"] == 19      # open deals are counted as of today, whatever the window
    s = j["sources"]
    assert s["clients"] == 0 and s["revenue"] == 0 and s["conversion"] is None
    assert all(r["roi"] in (-1.0, None) for r in s["rows"])   # the cost is spent, nothing came back
    assert j["competitors"]["deals_contested"] == 0 and j["competitors"]["win_rate"] is None
    assert j["segments"]["customers"] == 0 and j["segments"]["revenue"] == 0
    p = j["prices"]
    assert p["rows"] == [] and p["deals"] == 0 and p["avg_price"] is None


BAD = [
    (["segments", "--by", "nonsense"], 1, ["nonsense", "kind", "fields.psychotype"]),
    (["sales", "--by", "nonsense"], 1, ["month, quarter, owner, source, product, tag"]),
    (["sales", "--by", "owner", "--season"], 1, ["--season"]),
    (["retention", "--period", "week"], 1, ["month, quarter, year"]),
    (["funnel", "--from", "2026-13-01"], 2, ["--from", "2026-13-01"]),
    (["sales", "--to", "someday"], 2, ["--to"]),
    (["funnel", "--from", "2026-12-01", "--to", "2026-01-01"], 1, ["--from 2026-12-01 is after --to"]),
    (["prices", "--product", "yoga-mat"], 1, ["unknown product 'yoga-mat'", "Абонемент массаж 10"]),
    (["prices"], 2, ["--product"]),
    (["segments"], 2, ["--by"]),
    (["stakeholders", "--status", "friend"], 1, ["partner, client, moderator, lobbyist"]),
    (["funnel", "--format", "xml"], 2, ["table, json, csv, yaml"]),
    (["velocity"], 2, ["velocity"]),
] + [([*r, "--owner", "nobody"], 1, ["unknown owner 'nobody'", "anna, boris, dmitry, olga"])
     for r in (["funnel"], ["retention"], ["managers"], ["stakeholders"],
               ["prices", "--product", "Абонемент массаж 10"])]


def test_bad_filter_values_are_clear_errors(runs):
    runs.prefetch(["report", *args] for args, _, _ in BAD)
    for args, code, words in BAD:
        err = failed(runs("report", *args), code)
        for word in words:
            assert word in err, (args, err)


def test_filters_compose(runs, ex):
    """--owner + --tag + --from select the deals that pass all three, and the
    subsets add up to the unfiltered figures."""
    owners = ("anna", "boris", "olga", "dmitry")
    combo = ["--owner", "boris", "--tag", "massage", "--from", "2025-01-01"]
    cmds = ([["report", "funnel", *combo, "-f", "json"],
             ["report", "sales", *combo, "-f", "json"],
             ["report", "sales", "--by", "owner", "--tag", "massage", "--from", "2025-01-01", "-f", "json"],
             ["report", "sales", "--owner", "boris", "-f", "json"],
             ["report", "funnel", "--owner", "boris", "-f", "json"],
             ["report", "funnel", "--tag", "massage", "-f", "json"]]
            + [["report", "funnel", "--owner", o, "-f", "json"] for o in owners])
    runs.prefetch(cmds)
    all_ = runs.json("report", "funnel", "--format", "json")

    # funnel: by the created date
    chosen = [d for d in ex.deals.values() if ex.owner(d) == "boris" and "massage" in ex.tags(d)
              and as_date(d["created"]) >= date(2025, 1, 1)]
    open_, won, lost = ex.by_outcome(chosen)
    f = runs.json(*cmds[0])
    assert 0 < f["deals"] == len(chosen) < all_["deals"]
    assert (f["open"], f["won"], f["lost"]) == (len(open_), len(won), len(lost))
    assert f["won_amount"] == r2(sum((ex.value(d) for d in won), D(0)))
    assert f["from"] == "2025-01-01"
    for single in (runs.json(*cmds[4]), runs.json(*cmds[5])):
        assert f["deals"] <= single["deals"] <= all_["deals"]
        assert all(a["reached"] <= b["reached"] for a, b in zip(f["stages"], single["stages"]))
    per_owner = [runs.json(*c) for c in cmds[6:]]
    for key in ("deals", "open", "won", "lost"):
        assert sum(r[key] for r in per_owner) == all_[key], key
    assert round(sum(r["won_amount"] for r in per_owner), 2) == all_["won_amount"]

    # sales: by the close date; the same subset whichever way it is asked
    s = runs.json(*cmds[1])
    sold = [d for d in ex.by_outcome()[1] if ex.owner(d) == "boris" and "massage" in ex.tags(d)
            and ex.closed(d) >= date(2025, 1, 1)]
    assert 0 < s["won"] == len(sold) and s["revenue"] == r2(sum(ex.value(d) for d in sold))
    by_owner = {r["owner"]: r for r in runs.json(*cmds[2])["rows"]}
    assert (by_owner["boris"]["won"], by_owner["boris"]["revenue"]) == (s["won"], s["revenue"])
    assert s["revenue"] <= runs.json(*cmds[3])["revenue"]


BROKEN = "title: Broken on purpose\nclient: [unclosed\nstage: won\n"
WRONG_TYPE = "title: Not a number\nclient: romashka-unzq\nstage: won\namount: lots\ncreated: 2026-01-05\n"


def test_a_broken_deal_file_is_named_and_the_rest_reported(tmp_path, ex):
    folder = regen.copy_example(tmp_path / "data_example")
    assert regen.run(folder, ["report", "funnel"]).returncode == 0    # the index is built
    broken = folder / "deals" / "broken-deal-zz99.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    wrong = folder / "deals" / "2026" / "wrong-type-zz98.yaml"      # in a subfolder, too
    wrong.parent.mkdir()
    wrong.write_text(WRONG_TYPE, encoding="utf-8")
    cmds = [["report", *r, "--format", "json"] for r in REPORTS if r[0] != "stakeholders"]
    cmds += [["report", "prices", "--product", "Абонемент массаж 10", "--format", "json"],
             ["report", "funnel"], ["report", "funnel", "--format", "json"]]   # twice: indexed again
    for args, p in zip(cmds, regen.run_many(folder, cmds)):
        err = p.stderr.decode("utf-8")
        assert p.returncode == 1, (args, err)
        assert "Traceback" not in err
        assert re.search(r"^error: deals/broken-deal-zz99\.yaml:\d+: ", err, re.M), (args, err)
        assert re.search(r"^error: deals/2026/wrong-type-zz98\.yaml:4: amount", err, re.M), (args, err)
        assert p.stdout, args
        if args[-1] == "json":
            result = json.loads(p.stdout)
            if args[1] == "funnel":
                assert result["deals"] == len(ex.deals) == 74
            if args[1] == "sales":
                assert result["won"] == 37
        else:
            assert p.stdout.decode("utf-8").startswith("stage ")
    assert broken.read_text(encoding="utf-8") == BROKEN       # never rewritten
    assert wrong.read_text(encoding="utf-8") == WRONG_TYPE
