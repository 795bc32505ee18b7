"""What a person sees on stderr while the CLI works: one progress line that redraws, and log lines
that never land in the middle of it."""

from __future__ import annotations

import logging
import sys
import threading
from typing import TextIO

from nemo_video_mcp.person import for_person
from nemo_video_mcp.redact import RedactingFormatter, redact

BAR_WIDTH = 30
LINE_WIDTH = 120


class ProgressLine:
    """A one-line progress display: redrawn in place on a terminal, one line per change elsewhere.

    It is also the CLI's `Reporter` (progress and log), and `LogHandler` clears it before a log line.
    """

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False) -> None:
        self._stream = stream or sys.stderr
        self._verbose = verbose
        self._tty = self._stream.isatty()
        self._shown = ""  # what is on the line now (terminal only)
        self._last = ""
        self._lock = threading.Lock()

    async def progress(self, done: float, total: float | None, message: str) -> None:
        message = for_person(redact(message))
        if total:
            filled = int(BAR_WIDTH * min(done / total, 1.0))
            line = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * done / total:5.1f}% {message}"
        else:
            line = f"... {message}"
        line = line[:LINE_WIDTH]
        with self._lock:
            if line == self._last:
                return
            self._last = line
            if self._tty:
                self._stream.write("\r\033[K" + line)
                self._shown = line
            else:
                self._stream.write(line + "\n")
            self._stream.flush()

    async def log(self, level: str, message: str) -> None:
        """The work's own notes: warnings always, the rest with `--verbose`."""
        if level in ("debug", "info", "notice") and not self._verbose:
            return
        self.write_line(f"{level}: {for_person(redact(message))}")

    def write_line(self, text: str) -> None:
        """Print `text` on a line of its own, then put the progress line back."""
        with self._lock:
            if self._shown:
                self._stream.write("\r\033[K")
            self._stream.write(text.rstrip("\n") + "\n")
            if self._shown:
                self._stream.write(self._shown)
            self._stream.flush()

    def finish(self) -> None:
        """End the progress line (the next output starts on a fresh line)."""
        with self._lock:
            if self._shown:
                self._stream.write("\n")
                self._stream.flush()
            self._shown = self._last = ""


class LogHandler(logging.Handler):
    """Log records on stderr, each on its own line even while a progress line is shown."""

    def __init__(self, line: ProgressLine | None = None) -> None:
        super().__init__()
        self.line = line
        self.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if self.line is not None:
                self.line.write_line(text)
            else:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
        except Exception:
            self.handleError(record)
