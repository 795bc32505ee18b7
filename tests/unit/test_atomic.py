"""Files replaced whole: the one implementation behind the cache, the renders and the downloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nemo_video_mcp.atomic import part_path_for, replacing
from nemo_video_mcp.lease import my_lease
from nemo_video_mcp.render.leftovers import owner_of
from nemo_video_mcp.store import Store, atomic_copy_file


def test_a_finished_block_replaces_the_target_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "video.mp4"
    target.write_bytes(b"old")
    with replacing(target, mode=0o640) as temp:
        assert temp.parent == target.parent and temp.name.startswith(".video.mp4.")
        temp.write_bytes(b"new")
        assert target.read_bytes() == b"old", "the target is untouched until the block ends"
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video.mp4"]


def test_a_failed_block_keeps_the_old_file_and_removes_the_half_written_one(tmp_path: Path) -> None:
    target = tmp_path / "video.mp4"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), replacing(target) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("cut")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video.mp4"]


def test_the_temp_name_carries_our_lease_so_leftovers_can_tell_whose_it_is(tmp_path: Path) -> None:
    assert owner_of(part_path_for(tmp_path / "a.mp4").name) == my_lease()
    kept = part_path_for(tmp_path / "a.mp4", keep_suffix=True)
    assert kept.suffix == ".mp4" and kept.name.startswith(".a.mp4.")


def test_a_cache_write_that_fails_halfway_leaves_the_old_document_and_no_temp(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    store.write("doc", {"a": 1})
    with pytest.raises(TypeError):
        store.write("doc", {"a": object()})  # not JSON: fails before anything is renamed
    assert json.loads((tmp_path / "cache" / "doc.json").read_text()) == {"a": 1}
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")] == []
    assert (tmp_path / "cache" / "doc.json").stat().st_mode & 0o777 == 0o600


def test_a_copied_file_is_owner_only_and_whole(tmp_path: Path) -> None:
    source = tmp_path / "photo.png"
    source.write_bytes(b"x" * 100_000)
    target = tmp_path / "private" / "blob"
    target.parent.mkdir(mode=0o700)
    atomic_copy_file(source, target)
    assert target.read_bytes() == source.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["blob"]
