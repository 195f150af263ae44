"""``crm report stakeholders``: the stakeholder map and how its plan goes (contract §5)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from crmcli.config import Config
from crmcli.reports.common import (
    Dataset, as_date, check_choice, check_owner, fmt_group, format_pairs, format_table, iso,
    rows_csv,
)
from crmcli.schema import STAKEHOLDER_STATUSES

COLUMNS = ("stakeholder", "name", "group", "subgroup", "status", "goal", "target_date",
           "actions_planned", "actions_done", "actions_overdue", "achieved", "achieved_on",
           "goal_overdue")


@dataclass(frozen=True)
class StakeholdersSpec:
    today: date
    owner: str | None = None        # the stakeholder's owner
    status: str | None = None       # partner | client | moderator | lobbyist
    group: str | None = None


def stakeholders_report(data: Dataset, cfg: Config, spec: StakeholdersSpec) -> dict:
    check_owner(data, cfg, spec.owner)
    if spec.status is not None:
        check_choice("--status", spec.status, STAKEHOLDER_STATUSES)
    today = spec.today
    rows = []
    for s in data.stakeholders:
        if spec.owner is not None and s.get("owner") != spec.owner:
            continue
        if spec.status is not None and s.get("status") != spec.status:
            continue
        if spec.group is not None and s.get("group") != spec.group:
            continue
        actions = s.get("actions") or []
        done = [a for a in actions if a.get("fact") is not None]
        overdue = [a for a in actions if a.get("fact") is None and a.get("plan") is not None
                   and as_date(a["plan"]) < today]
        achieved = as_date(s.get("achieved"))
        target = as_date(s.get("target_date"))
        rows.append({
            "stakeholder": s.get("id"), "name": s.get("name"),
            "group": s.get("group"), "subgroup": s.get("subgroup"),
            "status": s.get("status"), "goal": s.get("goal"), "target_date": iso(target),
            "actions_planned": len(actions), "actions_done": len(done),
            "actions_overdue": len(overdue),
            "achieved": achieved is not None and achieved <= today,
            "achieved_on": iso(achieved),
            "goal_overdue": target is not None and target < today
                            and (achieved is None or achieved > today),
        })
    rows.sort(key=lambda r: (r["group"] is None, r["group"] or "", r["subgroup"] is None,
                             r["subgroup"] or "", r["name"] or "", r["stakeholder"] or ""))
    statuses = {st: sum(1 for r in rows if r["status"] == st) for st in STAKEHOLDER_STATUSES}
    return {
        "rows": rows, "stakeholders": len(rows), "by_status": statuses,
        "achieved": sum(1 for r in rows if r["achieved"]),
        "goals_overdue": sum(1 for r in rows if r["goal_overdue"]),
        "actions_planned": sum(r["actions_planned"] for r in rows),
        "actions_done": sum(r["actions_done"] for r in rows),
        "actions_overdue": sum(r["actions_overdue"] for r in rows),
    }


def render_table(result: dict, unicode: bool = True) -> str:
    tick, late = ("✓", "!") if unicode else ("yes", "late")

    def achieved(r):
        if r["achieved"]:
            return f"{tick} {r['achieved_on']}"
        return late if r["goal_overdue"] else ""

    body = [[r["name"] or r["stakeholder"], fmt_group(r["group"]) if r["group"] else "",
             r["subgroup"] or "", r["status"] or "", (r["goal"] or "").replace("\n", " "),
             r["target_date"] or "", str(r["actions_planned"]), str(r["actions_done"]),
             str(r["actions_overdue"]), achieved(r)] for r in result["rows"]]
    text = format_table(["stakeholder", "group", "subgroup", "status", "goal", "target",
                         "planned", "done", "overdue", "achieved"], body, "llllllrrrl", unicode)
    by_status = ", ".join(f"{k} {v}" for k, v in result["by_status"].items())
    pairs = [("stakeholders", f"{result['stakeholders']}  ({by_status})"),
             ("goals achieved / overdue", f"{result['achieved']} / {result['goals_overdue']}"),
             ("actions planned / done / overdue",
              f"{result['actions_planned']} / {result['actions_done']} / {result['actions_overdue']}")]
    return text + "\n\n" + format_pairs(pairs)


def csv_rows(result: dict) -> tuple[list[str], list[list]]:
    return rows_csv(result, list(COLUMNS))
