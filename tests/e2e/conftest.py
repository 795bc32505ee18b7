"""Fixtures for end-to-end tests: a simulator per test and a `Project` around it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.harness import Project
from tests.sim.server import RunningSimulator, run_simulator

PHOTOS = (
    ("beach.jpg", "JPEG", (640, 480), "orange"),
    ("city.png", "PNG", (480, 640), "navy"),
    ("forest.jpg", "JPEG", (800, 600), "green"),
)


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with run_simulator() as running:
        yield running


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    """Three real photos (two JPEGs, one PNG) written with Pillow."""
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = []
    for name, image_format, size, colour in PHOTOS:
        path = folder / name
        Image.new("RGB", size, colour).save(path, format=image_format)
        paths.append(path)
    return paths


@pytest.fixture
def project(sim: RunningSimulator, photos: list[Path], tmp_path: Path) -> Project:
    home = tmp_path / "home"
    home.mkdir()
    return Project(sim=sim, home=home, images=photos)
