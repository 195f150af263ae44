"""Cross-record checks for ``crm check``: a list of problems, never raised."""
from __future__ import annotations

from crmcli.config import Config
from crmcli.errors import Problem
from crmcli.schema import SCHEMAS


def check_records(items: dict[str, list[tuple[dict, dict, str]]], cfg: Config,
                  known: dict[str, set[str]] | None = None) -> list[Problem]:
    """``items[kind]`` holds ``(record, lines, path)`` for every readable record;
    ``known[kind]`` the ids references may point to (default: those of
    ``items``), so a folder can be checked one type at a time."""
    problems: list[Problem] = []
    seen: dict[str, dict[str, str]] = {kind: {} for kind in SCHEMAS}
    for kind, recs in items.items():
        for rec, _lines, path in recs:
            first = seen[kind].get(rec["id"])
            if first is not None:
                problems.append(Problem(path, None, f"the same {kind} id {rec['id']!r} is also {first}",
                                        "ids are file names and must be unique per type; rename one file"))
            else:
                seen[kind][rec["id"]] = path
    ids = known if known is not None else seen

    def p(path, lines, key, message, hint=None, severity="error"):
        problems.append(Problem(path, lines.get(key) or lines.get(key[:1]), message, hint, severity))

    owners = cfg.owners
    owner_hint = "owners are the keys of crm.yaml owners:" if owners else "add owners: to crm.yaml"
    for kind, recs in items.items():
        for rec, lines, path in recs:
            for fld in SCHEMAS[kind]:
                value = rec.get(fld.name)
                if value is None:
                    continue
                if fld.type == "owner" and value not in owners:
                    p(path, lines, (fld.name,), f"{fld.name}: unknown owner {value!r}", owner_hint)
                elif fld.type == "ref" and value not in ids[fld.ref]:
                    p(path, lines, (fld.name,), f"{fld.name}: no {fld.ref} with id {value!r}")
                elif fld.type == "refs":
                    for i, v in enumerate(value):
                        if v not in ids[fld.ref]:
                            p(path, lines, (fld.name, i), f"{fld.name}: no {fld.ref} with id {v!r}")
                elif fld.type == "activity_type" and value not in cfg.activity_types:
                    p(path, lines, (fld.name,), f"type: unknown activity type {value!r}",
                      f"types: {', '.join(cfg.activity_types)}")
                elif fld.type == "currency" and value not in cfg.currencies():
                    p(path, lines, (fld.name,), f"currency: {value!r} has no rate in crm.yaml",
                      "add it under rates: in crm.yaml")
            if kind == "deal":
                problems.extend(_check_deal(rec, lines, path, cfg))
            elif kind == "activity":
                if not any(rec.get(k) for k in ("client", "deal", "stakeholder")):
                    p(path, lines, ("type",), "an activity needs at least one of client, deal, stakeholder")
                if rec.get("status") in ("open", "resolved") and rec.get("type") not in ("complaint", "feedback"):
                    p(path, lines, ("status",), f"status {rec['status']!r} is for complaints and feedback only")
            elif kind == "stakeholder":
                for i, act in enumerate(rec.get("actions") or []):
                    r = act.get("responsible")
                    if r is not None and r not in owners:
                        p(path, lines, ("actions", i, "responsible"),
                          f"actions: {act['name']!r}: unknown responsible owner {r!r}", owner_hint)
            if kind in ("client", "deal") and rec.get("source") and cfg.sources \
                    and rec["source"] not in cfg.sources:
                p(path, lines, ("source",), f"source: {rec['source']!r} is not listed in crm.yaml sources",
                  severity="warning")
    return problems


def _check_deal(rec: dict, lines: dict, path: str, cfg: Config) -> list[Problem]:
    out = []
    stages = cfg.stages
    stage = rec.get("stage")
    if stage is not None and stage not in stages:
        out.append(Problem(path, lines.get(("stage",)), f"stage: unknown stage {stage!r}",
                           f"stages: {', '.join(stages)}"))
    hist = rec.get("history") or []
    for i, h in enumerate(hist):
        if h["stage"] not in stages:
            out.append(Problem(path, lines.get(("history", i, "stage")) or lines.get(("history", i)),
                               f"history: unknown stage {h['stage']!r}", f"stages: {', '.join(stages)}"))
        if i and h["date"] < hist[i - 1]["date"]:
            out.append(Problem(path, lines.get(("history", i, "date")) or lines.get(("history", i)),
                               f"history: {h['date']} goes back before {hist[i - 1]['date']}",
                               "history lists each stage entered, in order"))
    if hist and stage is not None and hist[-1]["stage"] != stage:
        out.append(Problem(path, lines.get(("stage",)),
                           f"stage {stage!r} disagrees with the last history entry ({hist[-1]['stage']!r})",
                           "use crm deal move, which updates both"))
    if stage == cfg.lost_stage and not rec.get("lost_reason"):
        out.append(Problem(path, lines.get(("stage",)), "a lost deal has no lost_reason", severity="warning"))
    return out
