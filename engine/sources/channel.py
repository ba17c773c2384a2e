"""The v1 version channel (PROTOCOL §4): ``<base>/version`` and ``<base>/critical``."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import BadAnswer, InvalidInput, InvalidVersion
from engine.policy.answers import ChannelAnswer
from engine.sources.find import validate_proxy_address
from engine.sources.transport import get_bounded
from engine.versions import Version

__all__ = ["DEFAULT_CHANNEL", "ChannelClient", "parse_critical", "parse_version_text"]

DEFAULT_CHANNEL = "stable/cloud"
CACHE_SECONDS = 60.0
_MAX_CHANNEL_BODY = 4096


class ChannelClient:
    """Reads a v1 channel, caching the answer for a minute.

    Either ``proxy_address`` (the proxy-hosted channel
    ``https://<proxy>/v1/webapi/automaticupgrades/channel/<channel>``) or ``base_url`` (a full
    public channel URL such as ``https://updates.releases.teleport.dev/v1/stable/cloud``).
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        proxy_address: str | None = None,
        channel: str = DEFAULT_CHANNEL,
        base_url: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if (proxy_address is None) == (base_url is None):
            raise InvalidInput("a v1 channel needs exactly one of a proxy address or a base URL")
        if base_url is not None:
            if not base_url.startswith("https://"):
                raise InvalidInput(f"v1 channel URL {base_url!r} must use https://")
            self.base_url = base_url.rstrip("/")
        else:
            if not channel or ".." in channel.split("/") or channel.startswith("/"):
                raise InvalidInput(f"invalid v1 channel name {channel!r}")
            self.base_url = (
                f"https://{validate_proxy_address(proxy_address or '')}"
                f"/v1/webapi/automaticupgrades/channel/{quote(channel, safe='/')}"
            )
        self._client = client
        self._clock = clock
        self._cached: tuple[float, ChannelAnswer] | None = None

    def get(self) -> ChannelAnswer:
        """The channel's version and critical flag (cached for a minute).

        Raises:
            TransportError, BadAnswer: as for any request; the cache is not updated.
        """
        now = self._clock.monotonic()
        if self._cached is not None and now - self._cached[0] < CACHE_SECONDS:
            return self._cached[1]
        version = parse_version_text(self._text("version"))
        critical = parse_critical(self._text("critical"))
        answer = ChannelAnswer(version=version, critical=critical)
        self._cached = (now, answer)
        return answer

    def _text(self, leaf: str) -> str:
        body = get_bounded(self._client, f"{self.base_url}/{leaf}", max_bytes=_MAX_CHANNEL_BODY)
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadAnswer(f"{self.base_url}/{leaf} answered with non-text bytes") from e


_TRUE = {"yes", "true"}
_FALSE = {"no", "false"}


def parse_version_text(text: str) -> Version | None:
    """``v17.2.1`` (whitespace trimmed, ``v`` optional) or ``none`` (None).

    Raises:
        BadAnswer: anything else, quoting it.
    """
    value = text.strip()
    if value.lower() == "none":
        return None
    try:
        return Version.parse(value)
    except InvalidVersion as e:
        raise BadAnswer(f"version channel answered {value[:64]!r}, not a version: {e}") from e


def parse_critical(text: str) -> bool:
    """``yes``/``no`` (also ``true``/``false``), any case.

    Raises:
        BadAnswer: anything else, quoting it.
    """
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadAnswer(f"critical flag {text.strip()[:64]!r} is not yes/no/true/false")
