"""Errors and problems.

A ``CrmError`` is raised when a command cannot do what it was asked; it knows
its exit code and renders as ``error: [path:line: ]message``.  A ``Problem`` is
a finding about the data (returned in lists, never raised) as ``crm check``
prints it.
"""
from __future__ import annotations

from dataclasses import dataclass


class CrmError(Exception):
    """A refused or failed command: exit code 1 unless the subclass says."""

    code = 1

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint

    def render(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        text = f"error: {where}{self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class UsageError(CrmError):
    """The command line does not parse (exit 2)."""

    code = 2


class NotFoundError(CrmError):
    """An id, prefix or name that resolves to nothing."""


class AmbiguousError(CrmError):
    """A prefix or name that resolves to several records."""


class DataError(CrmError):
    """A record file that cannot be read or would be broken by the command."""


class LockError(CrmError):
    """Another crm process holds the folder's lock for too long."""


@dataclass(frozen=True)
class Problem:
    """One finding about the data: ``path:line: message`` plus an optional hint."""

    path: str
    line: int | None
    message: str
    hint: str | None = None
    severity: str = "error"  # or "warning"

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text
