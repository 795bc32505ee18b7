"""Server-sent events, read line by line within bounds.

Our own reader rather than a library's, for two reasons: a line or an event larger than its cap
is skipped (and counted) without ever being held whole, so one 50 MB line costs no more memory
than a short one; and comment lines (`: ping`, one of NemoVideo's heartbeat forms) come out as
`Comment` items, so the edit knows the editor is alive. Lines end in LF, CRLF or CR, split
anywhere across chunks. Fields other than `data` (`event`, `id`, `retry`) are not used by the
backend and are ignored.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass

MAX_LINE_BYTES = 1024 * 1024
MAX_EVENT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Event:
    """One event: its `data` lines joined by newlines (empty for a bare `data:` line)."""

    data: str


@dataclass(frozen=True)
class Comment:
    """A comment line: the server keeping the connection alive."""


class EventReader:
    """Turns chunks of an event stream into `Event`s and `Comment`s; counts what it had to skip."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self.max_event_bytes = max_event_bytes
        self.skipped_lines = 0
        """Lines longer than `max_line_bytes`, dropped unread."""
        self.skipped_events = 0
        """Events dropped because a line of theirs was skipped or their data passed `max_event_bytes`."""
        self._line = bytearray()
        self._skipping_line = False
        self._after_cr = False
        self._data: list[bytes] = []
        self._data_bytes = 0
        self._has_data = False
        self._broken = False

    async def read(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[Event | Comment]:
        async for chunk in chunks:
            for item in self.feed(chunk):
                yield item
        for item in self.close():
            yield item

    def feed(self, chunk: bytes) -> Iterator[Event | Comment]:
        """The items completed by `chunk`."""
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across chunks
            self._after_cr = False
        if not chunk:
            return
        self._after_cr = chunk.endswith(b"\r")
        lines = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        for complete in lines[:-1]:
            line = self._take(complete)
            if line is not None:
                yield from self._line_done(line)
        self._take_partial(lines[-1])

    def close(self) -> Iterator[Event | Comment]:
        """The stream ended: a last line or event without its blank line still counts."""
        if self._line or self._skipping_line:
            line = self._take(b"")
            if line is not None:
                yield from self._line_done(line)
        yield from self._dispatch()

    # --- lines ---------------------------------------------------------------------------------

    def _take(self, end: bytes) -> bytes | None:
        """The line that `end` completes, or None when it was too long (skipped)."""
        if self._skipping_line:
            self._skipping_line = False
            return None
        if len(self._line) + len(end) > self.max_line_bytes:
            self._line.clear()
            self._skip_line()
            return None
        line = bytes(self._line) + end if self._line else end
        self._line.clear()
        return line

    def _take_partial(self, part: bytes) -> None:
        if self._skipping_line or not part:
            return
        if len(self._line) + len(part) > self.max_line_bytes:
            self._line.clear()
            self._skipping_line = True
            self._skip_line()
            return
        self._line += part

    def _skip_line(self) -> None:
        self.skipped_lines += 1
        self._broken = True  # whatever field it was, the event it belongs to is incomplete

    def _line_done(self, line: bytes) -> Iterator[Event | Comment]:
        if not line:
            yield from self._dispatch()
            return
        if line.startswith(b":"):
            yield Comment()
            return
        name, colon, value = line.partition(b":")
        if name != b"data":
            return
        if colon and value.startswith(b" "):
            value = value[1:]
        self._has_data = True
        if self._broken:
            return
        self._data_bytes += len(value) + 1
        if self._data_bytes > self.max_event_bytes:
            self._broken = True
            self._data.clear()
            return
        self._data.append(value)

    def _dispatch(self) -> Iterator[Event]:
        if self._broken:
            self.skipped_events += 1
        elif self._has_data:
            yield Event(b"\n".join(self._data).decode("utf-8", "replace"))
        self._data.clear()
        self._data_bytes = 0
        self._has_data = self._broken = False
