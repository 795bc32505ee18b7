"""skill/SKILL.md as OpenClaw reads it: single-line frontmatter keys, `metadata` one line of JSON, and a body
that names only tools the server has (CI's .ci/inspector_check.py runs its commands)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from nemo_video_mcp.attribution import read_frontmatter
from tests.e2e.harness import TOOLS

SKILL = Path(__file__).resolve().parents[2] / "skill" / "SKILL.md"
INSTALL_KINDS = {"brew": "formula", "node": "package", "go": "module", "uv": "package", "download": "url"}


def frontmatter() -> dict[str, str]:
    return read_frontmatter(SKILL.read_text(encoding="utf-8"))


def openclaw() -> dict[str, Any]:
    return json.loads(frontmatter()["metadata"])["openclaw"]


def test_the_frontmatter_has_the_keys_openclaw_reads_each_on_one_line() -> None:
    fields = frontmatter()
    assert fields["name"] == "image-to-video-online-ai"
    assert re.fullmatch(r"\d+\.\d+\.\d+", fields["version"]) and len(fields["description"]) > 80
    head = SKILL.read_text(encoding="utf-8").split("---")[1]
    assert all(not line[:1].isspace() for line in head.splitlines() if line), "keys must be single-line"


def test_openclaw_metadata_gates_on_what_the_install_provides() -> None:
    meta = openclaw()
    assert meta["emoji"] and meta["homepage"].startswith("https://") and meta["primaryEnv"] == "NEMO_TOKEN"
    assert meta["requires"] == {"bins": ["nemo-video-mcp"]}, "no requires.env: the token is optional"
    provided = set()
    for entry in meta["install"]:
        assert entry["kind"] in INSTALL_KINDS and entry[INSTALL_KINDS[entry["kind"]]], entry
        provided |= set(entry["bins"])
    assert set(meta["requires"]["bins"]) <= provided


def test_the_body_calls_only_real_tools_and_routes_to_every_one() -> None:
    text = SKILL.read_text(encoding="utf-8")
    called = {
        next(word for word in shlex.split(line)[1:] if not word.startswith("-") and "=" not in word)
        for line in text.splitlines()
        if line.startswith("$M ")
    }
    assert called == TOOLS
    routing = text.split("## Routing what the user says", 1)[1].split("## ", 1)[0]
    assert {tool for tool in TOOLS if f"`{tool}`" in routing} == TOOLS
    assert re.search(r"[\u4e00-\u9fff]", routing), "the routing table has the Chinese phrases too"
    assert "get_job" in text.split("## Workflows", 1)[1]
