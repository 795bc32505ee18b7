"""The X-Skill-* headers the backend needs to recognise skill traffic (without them, export is refused)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

log = logging.getLogger(__name__)

FALLBACK_NAME = "image-to-video-online-ai"
_PACKAGE_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def skill_file() -> Path | None:
    """The SKILL.md shipped in the wheel, else the one in the source checkout."""
    for candidate in (_PACKAGE_DIR / "skill" / "SKILL.md", _PACKAGE_DIR.parents[1] / "skill" / "SKILL.md"):
        if candidate.is_file():
            return candidate
    return None


def read_frontmatter(text: str) -> dict[str, str]:
    """The top-level scalar keys of a `---` YAML frontmatter block (all the headers need)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if line.strip() == "---":
            break
        if not line or line[0].isspace() or line.lstrip().startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if value and value[0] == value[-1] and value[0] in "\"'" and len(value) >= 2:
            value = value[1:-1]
        if value:
            fields[key.strip()] = value
    return fields


def detect_platform(skill_source: str | None, install_paths: list[Path], home: Path | None = None) -> str:
    """`clawhub` under ~/.clawhub/, `cursor` under ~/.cursor/skills/, else `unknown`; SKILL_SOURCE wins."""
    if skill_source:
        return skill_source
    home = home or Path.home()
    for path in install_paths:
        if path.is_relative_to(home / ".clawhub"):
            return "clawhub"
        if path.is_relative_to(home / ".cursor" / "skills"):
            return "cursor"
    return "unknown"


def skill_headers(skill_source: str | None = None) -> dict[str, str]:
    """The three attribution headers, read at run time from the skill's frontmatter."""
    path = skill_file()
    fields: dict[str, str] = {}
    if path is not None:
        try:
            fields = read_frontmatter(path.read_text(encoding="utf-8"))
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)
    install_paths = [_PACKAGE_DIR] + ([path.resolve()] if path else [])
    return {
        "X-Skill-Source": fields.get("name", FALLBACK_NAME),
        "X-Skill-Version": fields.get("version", "0"),
        "X-Skill-Platform": detect_platform(skill_source, install_paths),
    }
