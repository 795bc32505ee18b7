"""Music: looped or padded to the video's exact length, at its volume, faded in and out."""

from __future__ import annotations

import array
import math
import subprocess
from pathlib import Path

import pytest

from nemo_video_mcp.render.graph import build_command, music_filters
from nemo_video_mcp.render.plan import build_plan
from nemo_video_mcp.render.probe import count_frames
from nemo_video_mcp.render.runner import ffmpeg_exe
from nemo_video_mcp.render.slideshow import render_slideshow

from .small_frames import flat_image, shrink_frames

RATE = 8000


def _plan(**music):
    return build_plan(range(2), duration_s=2.0, motion="static", music_path="/m/song.wav", **music)


def test_a_looped_song_is_cut_and_a_single_play_is_padded_with_silence():
    looped = build_command(_plan().with_images(["/a.png", "/b.png"]), [Path("/s0"), Path("/s1")], timeline=Path("/t"))
    once = _plan().model_copy(update={"music_loop": False})
    assert looped[looped.index("/m/song.wav") - 3 :][:4] == ["-stream_loop", "-1", "-i", "/m/song.wav"]
    assert music_filters(_plan()).startswith("atrim=0:2.000000,")
    assert music_filters(once).startswith("apad=whole_dur=2.000000,atrim=0:2.000000,")
    argv = build_command(once.with_images(["/a.png", "/b.png"]), [Path("/s0"), Path("/s1")], timeline=Path("/t"))
    assert "-stream_loop" not in argv


def test_fades_in_and_out_never_pass_half_the_video():
    plan = _plan(music_volume=0.35).model_copy(update={"music_fade_in_s": 0.5, "music_fade_out_s": 5.0})
    assert music_filters(plan).endswith("volume=0.350,afade=t=in:st=0:d=0.500000,afade=t=out:st=1.000000:d=1.000000")
    plain = _plan().model_copy(update={"music_fade_in_s": 0.0, "music_fade_out_s": 0.0})
    assert "afade" not in music_filters(plain)


# --- Rendered and read back --------------------------------------------------------------------------


def _song(path: Path, seconds: float) -> Path:
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", str(path)],
        check=True,
    )
    return path


def _samples(path: Path) -> array.array[int]:
    """The output's audio, mono 16-bit at `RATE` Hz."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return array.array("h", raw)


def _rms(samples: array.array[int], start_s: float, end_s: float) -> float:
    part = samples[round(start_s * RATE) : round(end_s * RATE)]
    return math.sqrt(sum(value * value for value in part) / max(1, len(part)))


async def _render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, song: Path, **update) -> Path:
    size = shrink_frames(monkeypatch)["16:9"]
    images = [flat_image(tmp_path / f"{c}.png", size, c) for c in ("navy", "darkgreen")]
    plan = build_plan(range(2), duration_s=2.0, motion="static", music_path=str(song)).with_images(images)
    path = tmp_path / f"{name}.mp4"
    await render_slideshow(plan.model_copy(update=update), path)
    return path


async def test_a_short_song_loops_to_the_videos_length(tmp_path, monkeypatch):
    path = await _render(tmp_path, monkeypatch, "looped", _song(tmp_path / "song.wav", 0.7))
    samples = _samples(path)
    assert count_frames(path) == 60
    assert len(samples) / RATE == pytest.approx(2.0, abs=0.05)
    assert _rms(samples, 0.8, 1.3) > 1000  # the song again after its 0.7 s


async def test_a_short_song_played_once_is_followed_by_silence_to_the_end(tmp_path, monkeypatch):
    path = await _render(tmp_path, monkeypatch, "once", _song(tmp_path / "song.wav", 0.7), music_loop=False)
    samples = _samples(path)
    assert len(samples) / RATE == pytest.approx(2.0, abs=0.05)
    assert _rms(samples, 0.1, 0.6) > 1000 and _rms(samples, 0.9, 1.9) < 50


async def test_35_percent_is_that_much_quieter_and_the_fades_are_heard(tmp_path, monkeypatch):
    song = _song(tmp_path / "song.wav", 3.0)
    fades = {"music_fade_in_s": 0.4, "music_fade_out_s": 0.4}
    loud = _samples(await _render(tmp_path, monkeypatch, "loud", song, music_volume=1.0, **fades))
    quiet = _samples(await _render(tmp_path, monkeypatch, "quiet", song, music_volume=0.35, **fades))
    assert _rms(quiet, 0.6, 1.4) / _rms(loud, 0.6, 1.4) == pytest.approx(0.35, abs=0.03)
    assert _rms(loud, 0.0, 0.1) < 0.4 * _rms(loud, 0.6, 1.4)  # fading in
    assert _rms(loud, 1.9, 2.0) < 0.4 * _rms(loud, 0.6, 1.4)  # fading out
