"""The v2 find endpoint (PROTOCOL §1): ``GET https://<proxy>/webapi/find``.

``parse_find_answer`` validates a decoded answer strictly (clear errors naming the field and
value) and ignores fields it does not know, so newer proxies keep working.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from engine.errors import BadAnswer, InvalidInput, InvalidVersion
from engine.policy.answers import DEFAULT_JITTER_SECONDS, AutoUpdate, Edition, FindAnswer
from engine.sources.transport import DEFAULT_MAX_BODY_BYTES, get_bounded
from engine.versions import Version

__all__ = ["find", "find_url", "parse_find_answer", "validate_proxy_address"]

DEFAULT_GROUP = "default"
_PROXY_ADDRESS = re.compile(
    r"^(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>\d{1,5}))?$"
)
_GROUP = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def validate_proxy_address(address: str) -> str:
    """``host[:port]`` of the cluster's proxy, without scheme or path.

    Raises:
        InvalidInput: anything else, naming it.
    """
    value = address.strip()
    match = _PROXY_ADDRESS.match(value)
    if match is None or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
        raise InvalidInput(
            f"invalid proxy address {address!r}: expected host[:port] such as "
            "example.teleport.sh:443 (no scheme, no path)"
        )
    return value


def find_url(proxy_address: str, group: str | None, update_id: str | None) -> str:
    query = {"group": group or DEFAULT_GROUP}
    if group and not _GROUP.fullmatch(group):
        raise InvalidInput(f"invalid update group {group!r}: letters, digits, '.', '_' and '-'")
    if update_id:
        query["update_id"] = update_id
    return f"https://{validate_proxy_address(proxy_address)}/webapi/find?{urlencode(query)}"


def find(
    client: httpx.Client,
    proxy_address: str,
    *,
    group: str | None = None,
    update_id: str | None = None,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FindAnswer:
    """Ask the cluster's proxy which agent version to run.

    Raises:
        InvalidInput: a bad proxy address or group (named).
        TransportError: the proxy could not be reached (cause in words).
        BadAnswer: the proxy answered with something that is not a valid find answer.
    """
    url = find_url(proxy_address, group, update_id)
    body = get_bounded(client, url, max_bytes=max_bytes)
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadAnswer(f"{url} did not answer with JSON: {e}") from e
    return parse_find_answer(data)


_EDITIONS = {"ent": Edition.ENTERPRISE, "community": Edition.COMMUNITY, "oss": Edition.OSS}
_MAX_JITTER_SECONDS = 24 * 3600


def parse_find_answer(data: Mapping[str, Any]) -> FindAnswer:
    """Validate a decoded ``/webapi/find`` answer.

    Raises:
        BadAnswer: a field that matters has the wrong type or value (named).
    """
    if not isinstance(data, Mapping):
        raise BadAnswer(f"find answer must be a JSON object, got {type(data).__name__}")
    # Teleport's own updater ignores it; an empty one only skips the compatibility check.
    server_version = _version(data.get("server_version"), "server_version", allow_empty=True)
    edition_raw = data.get("edition")
    fips_raw = data.get("fips")
    if edition_raw is not None and not isinstance(edition_raw, str):
        raise BadAnswer(f"find answer field 'edition' must be a string, got {edition_raw!r}")
    if fips_raw is not None and not isinstance(fips_raw, bool):
        raise BadAnswer(f"find answer field 'fips' must be true or false, got {fips_raw!r}")
    edition = (
        Edition.COMMUNITY
        if edition_raw is None
        else _EDITIONS.get(edition_raw.strip().lower(), Edition.UNKNOWN)
    )
    cluster_name = _or_default(data, "cluster_name", "")
    if not isinstance(cluster_name, str):
        raise BadAnswer(f"find answer field 'cluster_name' must be a string, got {cluster_name!r}")
    upgrades = _or_default(data, "automatic_upgrades", False)
    if not isinstance(upgrades, bool):
        raise BadAnswer(
            f"find answer field 'automatic_upgrades' must be true or false, got {upgrades!r}"
        )
    return FindAnswer(
        server_version=server_version,
        edition=edition,
        fips=bool(fips_raw),
        edition_reported=edition_raw is not None,
        auto_update=_auto_update(data.get("auto_update")),
        cluster_name=cluster_name,
        automatic_upgrades=upgrades,
    )


def _or_default(block: Mapping[str, Any], key: str, default: Any) -> Any:
    """A field's value; JSON ``null`` counts as absent, as Go's decoder treats it."""
    value = block.get(key)
    return default if value is None else value


def _auto_update(block: Any) -> AutoUpdate | None:
    """The ``auto_update`` block, or None when it does not manage agents.

    Proxies that predate agent managed updates either omit the block or send only the
    client-tools part (``tools_version``/``tools_auto_update``); both mean "no agent
    version here", so the caller falls back to the v1 channel instead of waiting forever
    for a window that will never open.
    """
    if block is None:
        return None
    if not isinstance(block, Mapping):
        raise BadAnswer(f"find answer field 'auto_update' must be an object, got {block!r}")
    if "agent_version" not in block and "agent_auto_update" not in block:
        return None
    in_window = _or_default(block, "agent_auto_update", False)
    if not isinstance(in_window, bool):
        raise BadAnswer(
            "find answer field 'auto_update.agent_auto_update' must be true or false, "
            f"got {in_window!r}"
        )
    jitter = _or_default(block, "agent_update_jitter_seconds", DEFAULT_JITTER_SECONDS)
    if (
        isinstance(jitter, bool)
        or not isinstance(jitter, int)
        or not (0 <= jitter <= _MAX_JITTER_SECONDS)
    ):
        raise BadAnswer(
            "find answer field 'auto_update.agent_update_jitter_seconds' must be an integer "
            f"from 0 to {_MAX_JITTER_SECONDS}, got {jitter!r}"
        )
    return AutoUpdate(
        agent_version=_version(
            _or_default(block, "agent_version", ""), "auto_update.agent_version", allow_empty=True
        ),
        agent_auto_update=in_window,
        jitter_seconds=jitter,
    )


def _version(value: Any, field: str, *, allow_empty: bool) -> Version | None:
    if not isinstance(value, str):
        raise BadAnswer(f"find answer field {field!r} must be a version string, got {value!r}")
    if not value.strip():
        if allow_empty:
            return None
        raise BadAnswer(f"find answer field {field!r} is empty")
    try:
        return Version.parse(value)
    except InvalidVersion as e:
        raise BadAnswer(f"find answer field {field!r}: {e}") from e
