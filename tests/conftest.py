"""Hypothesis profiles (`default` keeps the suite fast; `pytest --hypothesis-profile=ci` digs deeper) and the
one Hidden Peaks render that several tests check (`tests/unit/shared_render.py`)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ("tests.unit.shared_render",)

settings.register_profile("default", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of the shared render run first: the render is the longest single step of the run
    (about 20 s), and started last it would be the run's tail while the other workers sit idle.
    A stable sort, so every xdist worker collects the same order."""
    items.sort(key=lambda item: "hidden_peaks" not in getattr(item, "fixturenames", ()))
