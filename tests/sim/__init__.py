"""A stripe-mock-style simulator of the NemoVideo backend: a real HTTP server on loopback.

Tests use `run_simulator()`; humans run `python -m tests.sim --port 8765`.
"""

from tests.sim.app import create_app
from tests.sim.config import SimConfig
from tests.sim.server import RunningSimulator, run_simulator
from tests.sim.world import World

__all__ = ["RunningSimulator", "SimConfig", "World", "create_app", "run_simulator"]
