"""How long-running work reports progress, without knowing who listens (MCP, a terminal, nobody)."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    async def progress(self, done: float, total: float | None, message: str) -> None:
        """Report `done` of `total` (total None when unknown); `done` only ever grows."""
        ...

    async def log(self, level: str, message: str) -> None:
        """A log line for the client's log view (never a secret)."""
        ...


class SilentReporter:
    """A reporter that drops everything."""

    async def progress(self, done: float, total: float | None, message: str) -> None:
        return None

    async def log(self, level: str, message: str) -> None:
        return None


class Ticker:
    """Numbers progress notifications so they only ever grow, whatever the source."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self.count = 0

    async def tick(self, message: str) -> None:
        self.count += 1
        await self._reporter.progress(self.count, None, message)


class RisingProgress:
    """Sends a progress value only when it grew: MCP requires every notification to increase."""

    def __init__(self, reporter: Reporter, total: float) -> None:
        self._reporter = reporter
        self._total = total
        self._last: float | None = None

    async def report(self, value: float, message: str) -> None:
        if self._last is not None and value <= self._last:
            return
        self._last = value
        await self._reporter.progress(value, self._total, message)
