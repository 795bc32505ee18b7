"""Every setting and its environment variable, in one place, read once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

DEFAULT_API_BASE = "https://mega-api-prod.nemovideo.ai"
DEFAULT_WEB_BASE = "https://nemovideo.com"
APP_NAME = "nemo-video-mcp"

BackendName = Literal["cloud", "local"]


class Settings(BaseModel):
    """Typed settings. Build with `Settings.from_env()`; never read at import time."""

    model_config = ConfigDict(frozen=True)

    token: SecretStr | None = Field(None, description="NEMO_TOKEN: a NemoVideo token, used as is.")
    api_base: str = Field(DEFAULT_API_BASE, description="NEMO_API_BASE (alias NEMO_API_URL).")
    web_base: str = Field(DEFAULT_WEB_BASE, description="NEMO_WEB_BASE.")
    cache_dir: Path = Field(description="NEMO_CACHE_DIR: token, session, uploads and render jobs.")
    client_id: str | None = Field(None, description="NEMO_CLIENT_ID: overrides the stored client id.")
    poll_interval: float = Field(10.0, gt=0, description="NEMO_POLL_INTERVAL: seconds between render polls.")
    language: str | None = Field(None, description="NEMO_LANGUAGE: ISO code sent when a session is created.")
    backend: BackendName = Field("cloud", description="NEMO_BACKEND: cloud or local.")
    output_dir: Path = Field(description="NEMO_OUTPUT_DIR: where local renders and downloads are written.")
    save_dir: Path | None = Field(
        None,
        description="Where export_video(save_to=…) puts a relative or empty save_to: NEMO_OUTPUT_DIR when set, "
        "else the user's Videos folder (or Downloads); None: output_dir.",
    )
    wait_scale: float = Field(
        1.0,
        gt=0,
        le=1,
        description="NEMO_WAIT_SCALE: multiplies every back-off wait and stream time limit (tests set it near 0).",
    )
    skill_source: str | None = Field(None, description="SKILL_SOURCE: forces X-Skill-Platform.")
    call_budget_s: float = Field(
        45.0,
        gt=0,
        le=3600,
        description="NEMO_CALL_BUDGET_S: every tool call answers within this many seconds (hosts cancel at ~60 s); "
        "longer work goes on as a job that get_job follows.",
    )
    allowed_dirs: tuple[Path, ...] = Field(
        (),
        description="NEMO_ALLOWED_DIRS: the only folders (real paths) that uploads and music_path may read from; "
        "empty: any folder.",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read the settings from `env` (default: the process environment)."""
        env = os.environ if env is None else env

        def get(*names: str) -> str | None:
            for name in names:
                value = env.get(name, "").strip()
                if value:
                    return value
            return None

        cache_dir = Path(get("NEMO_CACHE_DIR") or _default_cache_dir()).expanduser()
        token = get("NEMO_TOKEN")
        output_dir = get("NEMO_OUTPUT_DIR")
        if token and any(c.isspace() for c in token):
            raise ValueError("NEMO_TOKEN contains whitespace: copy the token again, without spaces or line breaks")
        values: dict[str, object] = {
            "token": SecretStr(token) if token else None,
            "api_base": (get("NEMO_API_BASE", "NEMO_API_URL") or DEFAULT_API_BASE).rstrip("/"),
            "web_base": (get("NEMO_WEB_BASE") or DEFAULT_WEB_BASE).rstrip("/"),
            "cache_dir": cache_dir,
            "client_id": get("NEMO_CLIENT_ID"),
            "poll_interval": float(get("NEMO_POLL_INTERVAL") or 10.0),
            "language": get("NEMO_LANGUAGE"),
            "backend": choose_backend(get("NEMO_BACKEND"), token=token, env=env),
            "output_dir": Path(output_dir or cache_dir / "videos").expanduser(),
            "save_dir": Path(output_dir).expanduser() if output_dir else _user_videos_dir(),
            "wait_scale": float(get("NEMO_WAIT_SCALE") or 1.0),
            "skill_source": get("SKILL_SOURCE"),
            "call_budget_s": float(get("NEMO_CALL_BUDGET_S") or 45.0),
            "allowed_dirs": folder_list(get("NEMO_ALLOWED_DIRS") or ""),
        }
        values.update(overrides)
        return cls.model_validate(values)


def choose_backend(requested: str | None, *, token: str | None, env: Mapping[str, str]) -> BackendName:
    """Pick the backend: an explicit NEMO_BACKEND wins; otherwise cloud.

    Cloud is the default because it is the product's purpose and needs no set-up (an anonymous
    token is fetched on first use). `NEMO_OFFLINE=1` is a shorthand for the local backend.
    """
    if requested:
        name = requested.lower()
        if name not in ("cloud", "local"):
            raise ValueError(f"NEMO_BACKEND must be 'cloud' or 'local', not {requested!r}")
        return name  # type: ignore[return-value]
    if env.get("NEMO_OFFLINE", "").strip().lower() in ("1", "true", "yes"):
        return "local"
    return "cloud"


def folder_list(text: str) -> tuple[Path, ...]:
    """Folders separated by `os.pathsep`, as real paths (`~` expanded, `..` and symlinks resolved).

    A relative folder is refused: it would depend on the folder the host starts the server in.
    """
    folders = []
    for part in text.split(os.pathsep):
        part = part.strip()
        if not part:
            continue
        folder = Path(part).expanduser()
        if not folder.is_absolute():
            raise ValueError(f"NEMO_ALLOWED_DIRS must list absolute folders, not {part!r}")
        folders.append(folder.resolve())
    return tuple(dict.fromkeys(folders))


def _user_videos_dir() -> Path | None:
    """The platform's Videos folder, else Downloads, when one exists (a server account may have neither)."""
    from platformdirs import user_downloads_dir, user_videos_dir

    for folder in (user_videos_dir(), user_downloads_dir()):
        if folder and Path(folder).is_dir():
            return Path(folder)
    return None


def _default_cache_dir() -> str:
    from platformdirs import user_cache_dir

    return user_cache_dir(APP_NAME, appauthor=False)
