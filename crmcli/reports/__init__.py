"""The reports of contract §5 as pure functions.

Each report module has ``<name>_report(data, cfg, spec) -> dict`` (JSON-ready
plain data), ``render_table(result, unicode=True) -> str`` and
``csv_rows(result) -> (headers, rows)``.  ``REPORTS`` maps a report's name to
its module, so a command can be wired as::

    mod = REPORTS["funnel"]
    result = mod.funnel_report(data, cfg, mod.FunnelSpec(today=today, owner=owner))
    text = mod.render_table(result, unicode=True)
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping

NAMES = ("funnel", "retention", "sales", "managers", "sources", "competitors", "segments", "prices",
         "stakeholders")

# what each name below comes from: imported when first asked for, so that a
# command imports only the report it runs (nine modules cost ~10 ms of start-up)
_FROM = {"Dataset": "common", "client_status": "common"}
for _name in NAMES:
    _FROM[f"{_name.capitalize()}Spec"] = _name
    _FROM[f"{_name}_report"] = _name
del _name


class _Reports(Mapping):
    """name -> report module, each imported when first looked up."""

    def __init__(self):
        self._modules: dict = {}

    def __getitem__(self, name):
        if name not in NAMES:
            raise KeyError(name)
        mod = self._modules.get(name)
        if mod is None:
            mod = self._modules[name] = importlib.import_module(f"crmcli.reports.{name}")
        return mod

    def __iter__(self):
        return iter(NAMES)

    def __len__(self):
        return len(NAMES)


REPORTS = _Reports()


def __getattr__(name):
    if name in _FROM:
        return getattr(importlib.import_module(f"crmcli.reports.{_FROM[name]}"), name)
    if name in NAMES:
        return REPORTS[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "REPORTS", "Dataset", "client_status",
    "FunnelSpec", "funnel_report", "RetentionSpec", "retention_report",
    "SalesSpec", "sales_report", "ManagersSpec", "managers_report",
    "SourcesSpec", "sources_report", "CompetitorsSpec", "competitors_report",
    "SegmentsSpec", "segments_report", "PricesSpec", "prices_report",
    "StakeholdersSpec", "stakeholders_report",
]
