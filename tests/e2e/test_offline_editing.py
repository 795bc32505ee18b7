"""Offline editing over stdio: five follow-up instructions refine one timeline, each keeping what came
before, `get_state` shows it in the cloud summary's form, and the export is what the summary says
(size, duration, music, frame rate, and the caption drawn over its photo only)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from nemo_video_mcp.render.probe import count_frames, probe_video, read_frame
from nemo_video_mcp.render.runner import ffmpeg_exe
from tests.e2e.harness import NemoServer, Project, assert_success, upload_photos

FIRST = 'a vertical 9-second video with wipe transitions and no motion, titled "Alps"'
STEPS = [
    (
        "make it square",
        'Aspect 9:16 → 1:1; kept: 9 s, wipe, motion static, title "Alps".',
        'Timeline (2 tracks): 1. Video: beach.jpg + 2 more (0-9s) 2. Title: "Alps" (0-4s)',
    ),
    (
        "now titled 'Summit'",
        'Title "Alps" → "Summit"; kept: 9 s, 1:1, wipe, motion static.',
        'Timeline (2 tracks): 1. Video: beach.jpg + 2 more (0-9s) 2. Title: "Summit" (0-4s)',
    ),
    (
        'caption the second photo "Day 2"',
        'Added caption "Day 2" (3-6s); kept: 9 s, 1:1, wipe, motion static, title "Summit".',
        'Timeline (3 tracks): 1. Video: beach.jpg + 2 more (0-9s) 2. Title: "Summit" (0-4s) 3. Text: "Day 2" (3-6s)',
    ),
    (
        "music at 35%",
        'Added music tone.wav at 35%; kept: 9 s, 1:1, wipe, motion static, title "Summit".',
        "Timeline (4 tracks): 1. Video: beach.jpg + 2 more (0-9s) 2. BGM: tone.wav (0-9s, 35%) "
        '3. Title: "Summit" (0-4s) 4. Text: "Day 2" (3-6s)',
    ),
    (
        "remove photo 3",
        'Removed photo 3 (forest.jpg); duration 9 s → 6 s; kept: 1:1, wipe, motion static, title "Summit", '
        "music tone.wav at 35%.",
        "Timeline (4 tracks): 1. Video: beach.jpg + 1 more (0-6s) 2. BGM: tone.wav (0-6s, 35%) "
        '3. Title: "Summit" (0-4s) 4. Text: "Day 2" (3-6s)',
    ),
]


def tone(folder: Path) -> Path:
    """A 4 s sine tone, shorter than the video at first (so it loops), made with the bundled ffmpeg."""
    path = folder / "tone.wav"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=4", str(path)], check=True
    )
    return path


def white_pixels(video: Path, seconds: float, band: tuple[float, float]) -> int:
    """How many near-white pixels the frame at `seconds` has between these shares of its height (the
    photos are plain colours: white is drawn text)."""
    frame = read_frame(video, seconds).convert("RGB")
    width, height = frame.size
    box = frame.crop((0, round(height * band[0]), width, round(height * band[1])))
    data = box.tobytes()
    return sum(1 for r, g, b in zip(data[0::3], data[1::3], data[2::3], strict=True) if min(r, g, b) > 225)


LOWER_THIRD, MIDDLE, UPPER = (0.66, 0.9), (0.38, 0.62), (0.0, 0.34)


async def summary(server: NemoServer) -> str:
    state = await server.call("get_state")
    assert_success(state)
    assert state.structured is not None
    return str(state.structured["summary"])


async def test_five_follow_ups_refine_one_timeline_and_the_export_matches_it(project: Project, tmp_path: Path) -> None:
    song = tone(tmp_path)
    async with project.launch(extra_env={"NEMO_BACKEND": "local"}) as server:
        await upload_photos(server, project)
        first = await server.call("generate_video", instruction=FIRST)
        assert_success(first)
        assert "Planned a 9 s vertical video" in first.text and 'Title: "Alps"' in first.text
        replies, summaries = [], []
        for instruction, _, _ in STEPS:
            if "music" in instruction:
                assert_success(await server.call("upload_images", paths=[str(song)]))
            edited = await server.call("generate_video", instruction=instruction)
            assert_success(edited)
            replies.append(edited.text)
            summaries.append(await summary(server))
        exported = await server.call("export_video")
        state = await server.call("get_state")
    for (instruction, reply, line), said, shown in zip(STEPS, replies, summaries, strict=True):
        assert reply in said, f"{instruction!r}: {said}"
        assert shown == line, f"{instruction!r}: {shown}"
    assert_success(exported)
    assert exported.structured is not None and state.structured is not None
    video = Path(exported.structured["file_path"])
    info = probe_video(video)
    assert (info.width, info.height) == (1080, 1080)
    assert abs(info.duration_s - 6.0) < 0.1
    assert info.audio_codec is not None, "the music did not reach the video"
    assert count_frames(video) == 6 * 30  # 30 fps, every frame there
    assert state.structured["draft"]["m"]["fps"] == 30
    # The caption "Day 2" is over photo 2 (3-6 s) in the lower third; the title over 0-4 s in the middle.
    assert white_pixels(video, 1.5, LOWER_THIRD) == 0, "a caption is drawn over photo 1"
    assert white_pixels(video, 1.5, MIDDLE) > 200, "the title is not drawn"
    for seconds in (4.5, 5.5):
        assert white_pixels(video, seconds, LOWER_THIRD) > 200, f"no caption at {seconds} s"
        assert white_pixels(video, seconds, MIDDLE) + white_pixels(video, seconds, UPPER) == 0, (
            f"text outside the caption's place at {seconds} s"
        )
