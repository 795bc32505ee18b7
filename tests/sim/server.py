"""Run the simulator on loopback in a background thread, for tests.

with run_simulator(SimConfig(event_shape="typed")) as sim:
    httpx.post(f"{sim.base_url}/api/auth/anonymous-token", headers={"X-Client-Id": "c1"})
    sim.config.fail_render = True          # switches can change while it runs
    assert sim.world.renders_started[...] == 1
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from tests.sim.app import create_app
from tests.sim.config import SimConfig
from tests.sim.errors import StreamCut
from tests.sim.world import World

HOST = "127.0.0.1"


class _HideStreamCuts(logging.Filter):
    """A deliberate mid-stream cut is not a server error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, StreamCut):
                return False
            exc = exc.__cause__ or exc.__context__ or _first_of_group(exc)
        return True


def _first_of_group(exc: BaseException) -> BaseException | None:
    inner = getattr(exc, "exceptions", None)
    return inner[0] if inner else None


def quiet_stream_cuts() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideStreamCuts) for f in logger.filters):
        logger.addFilter(_HideStreamCuts())


class RunningSimulator:
    """A simulator serving on 127.0.0.1 in a daemon thread. Use `start()`/`stop()` or `with`."""

    def __init__(self, config: SimConfig | None = None, *, port: int = 0, log_level: str = "warning") -> None:
        self.world = World(config)
        self.app = create_app(self.world)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host=HOST,
                port=port,
                log_level=log_level,
                lifespan="off",
                timeout_graceful_shutdown=1,
                access_log=False,
            )
        )
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def config(self) -> SimConfig:
        return self.world.config

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("simulator not started")
        return f"http://{HOST}:{self.port}"

    def configure(self, **changes: Any) -> None:
        """Change switches while running (validated, all-or-nothing)."""
        self.config.update(changes)

    def start(self, timeout: float = 10.0) -> RunningSimulator:
        quiet_stream_cuts()
        self._thread = threading.Thread(target=self._server.run, name="nemo-sim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.005)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> RunningSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def run_simulator(config: SimConfig | None = None, **switches: Any) -> Iterator[RunningSimulator]:
    """Start a simulator (config and/or keyword switches), yield its handle, stop it afterwards."""
    if switches:
        config = (config or SimConfig()).model_copy()
        config.update(switches)
    with RunningSimulator(config) as sim:
        yield sim
