"""The token: NEMO_TOKEN, or an anonymous one asked for with this machine's client id.

A rejected anonymous token is renewed once per call; a backend that rejects even a freshly issued
token is not asked for another for `TOKEN_REFUSAL_PAUSE_S`. The token never leaves this module
except in an Authorization header.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from nemo_video_mcp.backends import wire
from nemo_video_mcp.backends.cloud.cache import CloudCache
from nemo_video_mcp.backends.cloud.refusals import Endpoint, refusal_error
from nemo_video_mcp.backends.cloud.retry import RetryPolicy, retry_after_s
from nemo_video_mcp.backends.cloud.transport import NetworkFailure, Reply, Transport
from nemo_video_mcp.backends.wire import ApiFailure, Reason
from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import (
    AnonymousTokenLimitError,
    BackendError,
    TokenRejectedError,
    TokenRenewalRefusedError,
)
from nemo_video_mcp.redact import register_secret

log = logging.getLogger(__name__)

TOKEN_REFUSAL_PAUSE_S = 600.0
"""After a freshly issued token was rejected too, no new token is requested for this long (in this process)."""


@dataclass(frozen=True)
class Auth:
    token: str = field(repr=False)
    anonymous: bool
    user_id: str | None = None


_TOKEN_ENDPOINT = Auth("", anonymous=True)
"""Who we are while asking for an anonymous token."""


class Tokens:
    """The current token, in memory first and written through to the cache."""

    def __init__(self, settings: Settings, cache: CloudCache, transport: Transport, retry: RetryPolicy) -> None:
        self._settings = settings
        self._cache = cache
        self._transport = transport
        self._retry = retry
        self._auth: Auth | None = None
        self._lock = asyncio.Lock()
        self._renewal_refused_at: float | None = None
        if settings.token is not None:
            register_secret(settings.token.get_secret_value())

    async def current(self) -> Auth:
        """NEMO_TOKEN, else the anonymous token in memory or in the cache (used until it is rejected)."""
        if self._settings.token is not None:
            return Auth(self._settings.token.get_secret_value(), anonymous=False)
        if self._auth is None:
            self._auth = self._stored()
        if self._auth is None:
            self._auth = await self.renew(stale=None)
        return self._auth

    async def renew(self, stale: str | None) -> Auth:
        """A new anonymous token (or the one another task or process got meanwhile).

        Refused with `TokenRenewalRefusedError` for `TOKEN_REFUSAL_PAUSE_S` after a fresh token was
        rejected too: asking again on every call would only repeat the rejection.
        """
        if self._renewals_paused():
            raise self._tokens_keep_failing()
        async with self._cache.holding(self._lock, "auth"):
            current = self._stored()
            if current is not None and current.token != stale:
                self._auth = current  # renewed meanwhile, by another task or process
                return current
            grant = await self._request_anonymous_token()
            register_secret(grant.token)
            self._auth = Auth(grant.token, anonymous=True, user_id=grant.user_id)
            self._cache.save("auth", {"token": grant.token, "user_id": grant.user_id, "expires_at": grant.expires_at})
            log.info("obtained a new anonymous token (user %s)", grant.user_id)
            return self._auth

    def register_url(self, auth: Auth) -> str | None:
        """Where an anonymous user registers and keeps the credits' account; None for NEMO_TOKEN."""
        if not auth.anonymous:
            return None
        user_id = auth.user_id or self._cache.read("auth").get("user_id")
        return f"{self._settings.web_base}?bind={user_id}" if user_id else self._settings.web_base

    def refusal(self, failure: ApiFailure, auth: Auth, endpoint: Endpoint = "other") -> BackendError:
        """The error the agent reads for `failure`. An anonymous token rejected here was already renewed
        once (or the token endpoint itself rejected us): renewals pause."""

        def token_error() -> BackendError:
            return self._tokens_keep_failing() if auth.anonymous else TokenRejectedError(anonymous=False)

        return refusal_error(
            failure,
            token_error=token_error,
            register_url=lambda: self.register_url(auth),
            web_base=self._settings.web_base,
            endpoint=endpoint,
        )

    def _stored(self) -> Auth | None:
        doc = self._cache.read("auth")
        token = doc.get("token")
        if not isinstance(token, str) or not token:
            return None
        register_secret(token)
        return Auth(token, anonymous=True, user_id=doc.get("user_id"))

    async def _request_anonymous_token(self) -> wire.TokenGrant:
        """Ask for a token: a refused client id is replaced once, a 429 waited out once (the policy's wait).

        Never re-sent after a network failure: a request that reached the backend may have used up this
        machine's one token per 7 days.
        """
        store = self._cache.store
        client_id = await asyncio.to_thread(store.client_id, self._settings.client_id)
        retries = self._retry.for_call(idempotent=False)
        new_client_id = False
        while True:
            try:
                reply: Reply = await self._transport.fetch(
                    "POST", "/api/auth/anonymous-token", headers={"X-Client-Id": client_id}
                )
            except NetworkFailure as exc:
                await retries.after_transient(exc.detail)  # raises: not idempotent
                continue
            try:
                return wire.parse_token_grant(wire.parse_envelope(reply.status, reply.body))
            except ApiFailure as failure:
                if failure.reason is Reason.CLIENT_ID and not new_client_id and not self._settings.client_id:
                    new_client_id = True
                    store.delete("client")
                    client_id = await asyncio.to_thread(store.client_id)
                    continue
                if failure.reason is Reason.RATE_LIMIT:
                    if await retries.after_rate_limit(retry_after_s(reply.headers)):
                        continue
                    raise AnonymousTokenLimitError(self._settings.web_base) from None
                raise self.refusal(failure, _TOKEN_ENDPOINT, "token") from None

    def _renewals_paused(self) -> bool:
        refused_at = self._renewal_refused_at
        return refused_at is not None and time.monotonic() - refused_at < TOKEN_REFUSAL_PAUSE_S

    def _tokens_keep_failing(self) -> TokenRenewalRefusedError:
        """The error for a backend that rejects even fresh tokens; pauses renewals (once per pause)."""
        if not self._renewals_paused():
            self._renewal_refused_at = time.monotonic()
            log.warning("a fresh anonymous token was rejected too; no new token for %.0f s", TOKEN_REFUSAL_PAUSE_S)
        return TokenRenewalRefusedError(self._settings.web_base, round(TOKEN_REFUSAL_PAUSE_S / 60))
