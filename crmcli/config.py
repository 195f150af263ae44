"""crm.yaml: the folder's settings, every key with a default (contract section 3)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from crmcli.errors import Problem
from crmcli.schema import CUSTOM_TYPES, ID_RE, FieldValueError, parse_date, parse_decimal, parse_int

DEFAULT_PIPELINE = ["lead", "qualified", "proposal", "negotiation", "won"]
DEFAULT_ACTIVITY_TYPES = ["call", "meeting", "email", "letter", "visit", "complaint",
                          "feedback", "task", "note"]


class Config:
    """crm.yaml's settings with their defaults (a plain class: a dataclass
    costs a few ms of start-up that every command would pay)."""

    def __init__(self, name: str = "My CRM", currency: str = "RUB",
                 rates: dict[str, list[tuple[date, Decimal]]] | None = None,
                 pipeline: list[str] | None = None, lost_stage: str = "lost",
                 owners: dict[str, dict] | None = None, cadence: dict[str, int] | None = None,
                 stuck_after: int = 30, churn_after: int = 365, sources: dict[str, dict] | None = None,
                 activity_types: list[str] | None = None, fields: dict[str, dict] | None = None,
                 smtp: dict | None = None, git: dict | None = None, extra: dict | None = None):
        self.name = name
        self.currency = currency
        self.rates = rates if rates is not None else {}
        self.pipeline = pipeline if pipeline is not None else list(DEFAULT_PIPELINE)
        self.lost_stage = lost_stage
        self.owners = owners if owners is not None else {}
        self.cadence = cadence if cadence is not None else {"customer": 90, "prospect": 60}
        self.stuck_after = stuck_after
        self.churn_after = churn_after
        self.sources = sources if sources is not None else {}
        self.activity_types = activity_types if activity_types is not None else list(DEFAULT_ACTIVITY_TYPES)
        self.fields = fields if fields is not None else {}
        self.smtp = smtp if smtp is not None else {}
        self.git = git if git is not None else {"autocommit": True}
        self.extra = extra if extra is not None else {}

    def __eq__(self, other):
        return type(other) is Config and vars(self) == vars(other)

    def __repr__(self):
        return f"Config({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    @property
    def won_stage(self) -> str:
        return self.pipeline[-1]

    @property
    def stages(self) -> list[str]:
        return [*self.pipeline, self.lost_stage]

    def currencies(self) -> set[str]:
        return {self.currency, *self.rates}


KNOWN_KEYS = {"name", "currency", "rates", "pipeline", "lost_stage", "owners", "cadence",
              "stuck_after", "churn_after", "sources", "activity_types", "fields", "smtp", "git"}


def _text_list(value, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldValueError(f"{what} must be a list of names")
    return list(value)


def config_from_raw(raw: dict | None, path: str, lines: dict) -> tuple[Config, list[Problem]]:
    """Build a Config from crm.yaml's raw (all-text) mapping; problems, never raises."""
    cfg = Config()
    problems: list[Problem] = []
    raw = raw or {}

    def bad(key, message, hint=None):
        problems.append(Problem(path, lines.get((key,)), f"{key}: {message}", hint))

    for key, value in raw.items():
        if value is None:
            continue
        try:
            if key == "name":
                cfg.name = str(value)
            elif key == "currency":
                cfg.currency = str(value)
            elif key == "lost_stage":
                cfg.lost_stage = str(value)
            elif key == "pipeline":
                cfg.pipeline = _text_list(value, "pipeline")
                if not cfg.pipeline:
                    raise FieldValueError("pipeline needs at least one stage")
            elif key == "activity_types":
                cfg.activity_types = _text_list(value, "activity_types")
            elif key in ("stuck_after", "churn_after"):
                setattr(cfg, key, parse_int(value))
            elif key == "cadence":
                if not isinstance(value, dict):
                    raise FieldValueError("expected {customer: DAYS, prospect: DAYS}")
                for k, v in value.items():
                    cfg.cadence[k] = parse_int(v)
            elif key == "rates":
                if not isinstance(value, dict):
                    raise FieldValueError("expected {CURRENCY: {DATE: RATE, ...}}")
                for cur, table in value.items():
                    if isinstance(table, (str,)):
                        table = {"1900-01-01": table}
                    if not isinstance(table, dict):
                        raise FieldValueError(f"{cur}: expected {{DATE: RATE, ...}}")
                    cfg.rates[cur] = sorted((parse_date(d), parse_decimal(r)) for d, r in table.items())
            elif key == "owners":
                if isinstance(value, list):
                    value = {v: {} for v in value}
                if not isinstance(value, dict):
                    raise FieldValueError("expected {OWNER_ID: {name, email, manager}}")
                for oid, info in value.items():
                    if not ID_RE.match(str(oid)):
                        raise FieldValueError(f"{oid!r} is not a valid owner id (a-z, 0-9, ., _, -)")
                    cfg.owners[oid] = dict(info) if isinstance(info, dict) else {}
            elif key == "sources":
                if isinstance(value, list):
                    value = {v: {} for v in value}
                if not isinstance(value, dict):
                    raise FieldValueError("expected {SOURCE: {cost: AMOUNT}}")
                for name, info in value.items():
                    info = dict(info) if isinstance(info, dict) else {}
                    if info.get("cost") is not None:
                        info["cost"] = parse_decimal(info["cost"])
                    cfg.sources[name] = info
            elif key == "fields":
                if not isinstance(value, dict):
                    raise FieldValueError("expected {FIELD: {type: TYPE}}")
                for name, spec in value.items():
                    spec = dict(spec) if isinstance(spec, dict) else {"type": spec or "text"}
                    spec.setdefault("type", "text")
                    if spec["type"] not in CUSTOM_TYPES:
                        raise FieldValueError(f"field {name}: type {spec['type']!r} is not one of {', '.join(CUSTOM_TYPES)}")
                    if spec["type"] == "choice" and not isinstance(spec.get("values"), list):
                        raise FieldValueError(f"field {name}: a choice needs values: [...]")
                    cfg.fields[name] = spec
            elif key == "smtp":
                if not isinstance(value, dict):
                    raise FieldValueError("expected {host, port, from}")
                cfg.smtp = dict(value)
            elif key == "git":
                if not isinstance(value, dict):
                    raise FieldValueError("expected {autocommit: true|false}")
                g = dict(value)
                if "autocommit" in g:
                    g["autocommit"] = str(g["autocommit"]).lower() in ("true", "yes", "on")
                cfg.git.update(g)
            else:
                cfg.extra[key] = value
                problems.append(Problem(path, lines.get((key,)), f"unknown setting {key!r}",
                                        severity="warning"))
        except FieldValueError as exc:
            bad(key, str(exc))
    if cfg.lost_stage in cfg.pipeline:
        bad("lost_stage", f"{cfg.lost_stage!r} is also a pipeline stage")
    for oid, info in cfg.owners.items():
        mgr = info.get("manager")
        if mgr is not None and mgr not in cfg.owners:
            problems.append(Problem(path, lines.get(("owners", oid, "manager")) or lines.get(("owners",)),
                                    f"owners: {oid}: manager {mgr!r} is not an owner"))
    return cfg, problems


INIT_TEMPLATE = """\
# crmcli settings: every key has a default; see docs/data-format.md
name: {name}
currency: RUB
pipeline: [lead, qualified, proposal, negotiation, won]
lost_stage: lost
owners: {{}}
cadence: {{customer: 90, prospect: 60}}
stuck_after: 30
churn_after: 365
"""
