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

from crmcli.reports import (
    competitors, funnel, managers, prices, retention, sales, segments, sources, stakeholders,
)
from crmcli.reports.common import Dataset, client_status
from crmcli.reports.competitors import CompetitorsSpec, competitors_report
from crmcli.reports.funnel import FunnelSpec, funnel_report
from crmcli.reports.managers import ManagersSpec, managers_report
from crmcli.reports.prices import PricesSpec, prices_report
from crmcli.reports.retention import RetentionSpec, retention_report
from crmcli.reports.sales import SalesSpec, sales_report
from crmcli.reports.segments import SegmentsSpec, segments_report
from crmcli.reports.sources import SourcesSpec, sources_report
from crmcli.reports.stakeholders import StakeholdersSpec, stakeholders_report

REPORTS = {
    "funnel": funnel, "retention": retention, "sales": sales, "managers": managers,
    "sources": sources, "competitors": competitors, "segments": segments, "prices": prices,
    "stakeholders": stakeholders,
}

__all__ = [
    "REPORTS", "Dataset", "client_status",
    "FunnelSpec", "funnel_report", "RetentionSpec", "retention_report",
    "SalesSpec", "sales_report", "ManagersSpec", "managers_report",
    "SourcesSpec", "sources_report", "CompetitorsSpec", "competitors_report",
    "SegmentsSpec", "segments_report", "PricesSpec", "prices_report",
    "StakeholdersSpec", "stakeholders_report",
]
