"""Keep secrets out of every string that leaves the process: results, logs, exceptions."""

from __future__ import annotations

import logging
import re

_TOKEN_PATTERNS = (
    re.compile(r"nmv_[A-Za-z]+_[A-Za-z0-9._\-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-~+/=]+"),
)
_known_secrets: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a secret value so that `redact` removes it wherever it appears."""
    if secret and len(secret) >= 6:
        _known_secrets.add(secret)


def redact(text: str) -> str:
    """Return `text` with every known secret and anything token-shaped replaced."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    text = _TOKEN_PATTERNS[0].sub("[redacted]", text)
    return _TOKEN_PATTERNS[1].sub(r"\1[redacted]", text)


class RedactingFormatter(logging.Formatter):
    """Redacts the whole formatted record, traceback included (an exception text may quote a header)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
