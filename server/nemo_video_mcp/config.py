"""Every setting and its environment variable, in one place, read once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from nemo_video_mcp.errors import NemoError

DEFAULT_API_BASE = "https://mega-api-prod.nemovideo.ai"
DEFAULT_WEB_BASE = "https://nemovideo.com"
APP_NAME = "nemo-video-mcp"

BackendName = Literal["cloud", "local"]

ENV_NAMES: dict[str, str] = {
    "token": "NEMO_TOKEN",
    "api_base": "NEMO_API_BASE",
    "web_base": "NEMO_WEB_BASE",
    "cache_dir": "NEMO_CACHE_DIR",
    "client_id": "NEMO_CLIENT_ID",
    "poll_interval": "NEMO_POLL_INTERVAL",
    "language": "NEMO_LANGUAGE",
    "backend": "NEMO_BACKEND",
    "output_dir": "NEMO_OUTPUT_DIR",
    "save_dir": "NEMO_OUTPUT_DIR",
    "wait_scale": "NEMO_WAIT_SCALE",
    "skill_source": "SKILL_SOURCE",
    "call_budget_s": "NEMO_CALL_BUDGET_S",
    "allowed_dirs": "NEMO_ALLOWED_DIRS",
    "confirm_above": "NEMO_CONFIRM_ABOVE",
}
"""The environment variable each setting is read from (README's Settings table)."""


class SettingsError(NemoError, ValueError):
    """A setting that cannot be used: names its environment variable and how to fix it."""

    code = "bad_setting"

    def __init__(self, variable: str, problem: str, next_step: str | None = None) -> None:
        super().__init__(
            f"The setting {variable} {problem}.",
            next_step
            or f"Fix or unset {variable} in the server's environment (the host's MCP configuration, or the shell), "
            "then restart the server; README's Settings table gives each variable's allowed values.",
        )
        self.variable = variable


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
    confirm_above: float = Field(
        50.0,
        ge=0,
        description="NEMO_CONFIRM_ABOVE: a client that shows forms is asked to confirm a cloud edit estimated above "
        "this many credits (or above half the balance); 0: never ask.",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read the settings from `env` (default: the process environment).

        A value that cannot be used raises `SettingsError`, which names its variable (never the token's value).
        """
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
            raise SettingsError(
                "NEMO_TOKEN", "contains whitespace: copy the token again, without spaces or line breaks"
            )
        values: dict[str, object] = {
            "token": SecretStr(token) if token else None,
            "api_base": (get("NEMO_API_BASE", "NEMO_API_URL") or DEFAULT_API_BASE).rstrip("/"),
            "web_base": (get("NEMO_WEB_BASE") or DEFAULT_WEB_BASE).rstrip("/"),
            "cache_dir": cache_dir,
            "client_id": get("NEMO_CLIENT_ID"),
            "poll_interval": get("NEMO_POLL_INTERVAL") or 10.0,
            "language": get("NEMO_LANGUAGE"),
            "backend": choose_backend(get("NEMO_BACKEND"), token=token, env=env),
            "output_dir": Path(output_dir or cache_dir / "videos").expanduser(),
            "save_dir": Path(output_dir).expanduser() if output_dir else _user_videos_dir(),
            "wait_scale": get("NEMO_WAIT_SCALE") or 1.0,
            "skill_source": get("SKILL_SOURCE"),
            "call_budget_s": get("NEMO_CALL_BUDGET_S") or 45.0,
            "allowed_dirs": folder_list(get("NEMO_ALLOWED_DIRS") or ""),
            "confirm_above": get("NEMO_CONFIRM_ABOVE") or 50.0,
        }
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise _named(exc, overrides) from None


def _named(exc: ValidationError, overrides: Mapping[str, object]) -> SettingsError:
    """The first problem of `exc`, named by its environment variable (or by the option that set it)."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    shown = "" if field == "token" else f" ({error['input']!r})"
    problem = f"cannot be used{shown}: {error['msg'][:1].lower()}{error['msg'][1:]}"
    if field in overrides:  # set by a command-line option, not the environment
        return SettingsError(field, problem, f"Give {field} an allowed value and run the command again.")
    return SettingsError(ENV_NAMES.get(field, field), problem)


def choose_backend(requested: str | None, *, token: str | None, env: Mapping[str, str]) -> BackendName:
    """Pick the backend: an explicit NEMO_BACKEND wins; otherwise cloud.

    Cloud is the default because it is the product's purpose and needs no set-up (an anonymous
    token is fetched on first use). `NEMO_OFFLINE=1` is a shorthand for the local backend.
    """
    if requested:
        name = requested.lower()
        if name not in ("cloud", "local"):
            raise SettingsError("NEMO_BACKEND", f"must be 'cloud' or 'local', not {requested!r}")
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
            raise SettingsError("NEMO_ALLOWED_DIRS", f"must list absolute folders, not {part!r}")
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
