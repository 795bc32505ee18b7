"""What a render writes while it runs is named after its owner; a dead owner's leftovers are removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemo_video_mcp.atomic import part_path_for
from nemo_video_mcp.lease import Lease, my_lease
from nemo_video_mcp.render.leftovers import owner_of, remove_stale, work_dir_prefix
from tests.processes import dead_lease, foreign_process

LEASE = Lease(pid=4242, started="987654")


@pytest.mark.parametrize(
    ("name", "owner"),
    [
        (".render_a.mp4.4242-987654.0123abcd.part", LEASE),
        (".render.a.mp4.4242-x.0123abcd.part", Lease(pid=4242)),
        ("nemo-render-4242-987654-ab_c9xyz", LEASE),
        ("nemo-render-4242-x-k3j4h5g6", Lease(pid=4242)),
        (".render_a.mp4.0123abcd.part", None),  # written before names carried the owner
        ("nemo-render-k3j4h5g6", None),
        ("render_a.mp4", None),
        (".render_a.mp4.4242-987654.0123abcd.part.bak", None),
    ],
)
def test_the_owner_is_read_from_the_name(name: str, owner: Lease | None):
    assert owner_of(name) == owner


def test_our_names_carry_our_lease(tmp_path: Path):
    assert owner_of(part_path_for(tmp_path / "render_a.mp4").name) == my_lease()
    assert owner_of(f"{work_dir_prefix()}ab12cd34") == my_lease()


def test_only_a_dead_owners_leftovers_are_removed(tmp_path: Path):
    output_dir, temp_dir = tmp_path / "out", tmp_path / "tmp"
    output_dir.mkdir()
    temp_dir.mkdir()
    dead = dead_lease()
    with foreign_process() as (_process, live):
        kept = [output_dir / "render_b.mp4", output_dir / ".render_c.mp4.0123abcd.part", temp_dir / "nemo-render-x1y2"]
        for owner in (live, my_lease()):
            kept += [output_dir / f".render_b.mp4.{owner.tag}.0123abcd.part", temp_dir / f"nemo-render-{owner.tag}-a1"]
        stale = [output_dir / f".render_b.mp4.{dead.tag}.0123abcd.part", temp_dir / f"nemo-render-{dead.tag}-b2"]
        for path in [*kept, *stale]:
            if path.name.startswith("nemo-render-"):
                path.mkdir()
                (path / "still-000.y4m").write_bytes(b"frame")
            else:
                path.write_bytes(b"video")

        assert sorted(remove_stale(output_dir, temp_dir)) == sorted(stale)
        assert [path for path in [*kept, *stale] if path.exists()] == kept
