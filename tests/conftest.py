"""Hypothesis profiles (`default` keeps the suite fast; `pytest --hypothesis-profile=ci` digs deeper) and the
one Hidden Peaks render that several tests check (`tests/unit/shared_render.py`)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

pytest_plugins = ("tests.unit.shared_render",)

settings.register_profile("default", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
