"""The settings value: an immutable, validated snapshot of the host settings.

    settings = Settings().with_text("canary.soak", "2h")     # parse, validate, copy
    settings.get_duration("canary.soak")                     # timedelta(hours=2)
    settings.get_text("agents.staging.group")                # None: not set, no default
    settings.with_changes({"download.base_url": "http://x"}) # raises InvalidSetting
    transport_config(settings, secret_store)                 # -> TransportConfig

Only values set explicitly are kept; the getters answer the declared default for the others
(``engine.settings.schema``). A refused value raises ``InvalidSetting``, whose problems name
the key, its label, the value given (credentials redacted) and the reason; its message is
the sentence the CLI prints (``invalid value for download.base_url: 'http://x' must use
https://``). The file is ``engine.settings.file``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from engine.errors import InvalidInput, InvalidSetting, SettingProblem
from engine.policy.schedule import LocalWindow
from engine.settings.kinds import (
    BadValue,
    Bool,
    Check,
    Choice,
    Count,
    Duration,
    Kind,
    Namespaces,
    Text,
    Url,
    Windows,
    redact,
)
from engine.settings.path_kinds import CaFile, KeyFile
from engine.settings.schema import AGENT_OPTIONS, OPTIONS, SCHEMA_VERSION, Option, option_for
from engine.settings.secrets import SecretStore
from engine.sources.transport import TransportConfig

__all__ = [
    "Settings",
    "refusal",
    "transport_config",
]


def _given_text(value: object) -> str:
    """A value as given, for an error answer: credentials redacted; a non-string as JSON."""
    if isinstance(value, str):
        return redact(value)
    return json.dumps(value, default=str)


def refusal(key: str, given: object, reason: str, sentence: str | None = None) -> InvalidSetting:
    """An ``InvalidSetting`` for one refused key: its label from the declaration (the key
    itself when unknown) and the value as given, credentials redacted. ``sentence`` is the
    whole message (default: ``invalid value for <key>: <reason>``)."""
    try:
        label = option_for(key)[0].label
    except InvalidInput:
        label = key
    message = sentence or f"invalid value for {key}: {reason}"
    return InvalidSetting([SettingProblem(key, label, _given_text(given), reason, message)])


def _declared(key: str, given: object) -> tuple[Option, str | None]:
    """``option_for(key)``; an unknown key raises InvalidSetting naming it and the value."""
    try:
        return option_for(key)
    except InvalidInput as e:
        raise refusal(key, given, str(e), str(e)) from e


def _refused(key: str, given: object, bad: BadValue) -> InvalidSetting:
    return refusal(key, given, bad.reason, f"invalid value for {key}: {bad}")


@dataclass(frozen=True)
class Settings:
    """An immutable, validated snapshot. Only values set explicitly are kept; ``get``
    answers the default for the others."""

    host: Mapping[str, object] = field(default_factory=dict)
    agents: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    migrated_from: int | None = field(default=None, compare=False)

    def get(self, key: str) -> object:
        """The typed value of ``key`` (e.g. ``agents.staging.windows``), or its default.
        Prefer the typed getters below, which say what they return.

        Raises:
            InvalidInput: an unknown key.
        """
        option, namespace = option_for(key)
        if namespace is None:
            return self.host.get(key, option.default)
        name = key.split(".", 2)[2]
        return self.agents.get(namespace, {}).get(name, option.default)

    # ---- typed getters: each raises TypeError for a key of another kind (a bug) ----------
    def _of_kind(self, key: str, *kinds: type[Kind]) -> object:
        option, _ = option_for(key)
        if not isinstance(option.kind, kinds):
            wanted = " or ".join(dict.fromkeys(k.kind for k in kinds))
            raise TypeError(f"setting {key} is a {option.kind.kind}, not a {wanted}")
        return self.get(key)

    def get_text(self, key: str) -> str | None:
        """A text, URL or address setting (``network.http_proxy``); None when unset."""
        return cast(str | None, self._of_kind(key, Text, Check, Url))

    def get_choice(self, key: str) -> str:
        """One of a fixed set of words (``secrets.backend``); always has a default."""
        return cast(str, self._of_kind(key, Choice))

    def get_bool(self, key: str) -> bool:
        return cast(bool, self._of_kind(key, Bool))

    def get_duration(self, key: str) -> timedelta:
        return cast(timedelta, self._of_kind(key, Duration))

    def get_count(self, key: str) -> int:
        return cast(int, self._of_kind(key, Count))

    def get_path(self, key: str) -> Path | None:
        """A file path (``network.ca_bundle``); None when unset."""
        return cast(Path | None, self._of_kind(key, CaFile, KeyFile))

    def get_names(self, key: str) -> tuple[str, ...]:
        """A list of namespaces or words (``canary.order``, ``notifications.email_kinds``)."""
        return cast(tuple[str, ...], self._of_kind(key, Namespaces))

    def get_windows(self, key: str) -> tuple[LocalWindow, ...]:
        """Local windows or blackouts (``agents.<ns>.windows``)."""
        return cast(tuple[LocalWindow, ...], self._of_kind(key, Windows))

    def is_set(self, key: str) -> bool:
        _, namespace = option_for(key)
        if namespace is None:
            return key in self.host
        return key.split(".", 2)[2] in self.agents.get(namespace, {})

    @property
    def namespaces(self) -> tuple[str, ...]:
        """The namespaces that have an ``[agents.<namespace>]`` table."""
        return tuple(sorted(self.agents))

    # ---- changes: each returns a new snapshot -----------------------------------------------
    def with_text(self, key: str, text: str) -> Settings:
        """A copy with ``key`` parsed from a string as a CLI gives it.

        Raises:
            InvalidSetting: unknown key, or a bad value (both named).
        """
        option, _ = _declared(key, text)
        try:
            value = option.kind.from_string(text)
        except BadValue as e:
            raise _refused(key, text, e) from e
        return self._with(key, value)

    def with_value(self, key: str, value: object) -> Settings:
        """A copy with ``key`` set from a TOML-shaped value (as in the file or JSON).

        Raises:
            InvalidSetting: unknown key, or a bad value (both named).
        """
        option, _ = _declared(key, value)
        try:
            parsed = option.kind.from_toml(value)
        except BadValue as e:
            raise _refused(key, value, e) from e
        return self._with(key, parsed)

    def with_changes(self, changes: Mapping[str, str | None]) -> Settings:
        """A copy with ``{key: text}`` applied (None = back to the default), all or nothing.

        Raises:
            InvalidSetting: every refused key and value, each named (not just the first).
        """
        settings = self
        problems: list[SettingProblem] = []
        for key, text in changes.items():
            try:
                settings = settings.without(key) if text is None else settings.with_text(key, text)
            except InvalidSetting as e:
                problems += e.problems
        if problems:
            raise InvalidSetting(problems)
        return settings

    def without(self, key: str) -> Settings:
        """A copy with ``key`` back at its default; ``agents.<ns>`` removes the agent.

        Raises:
            InvalidSetting: an unknown key (named).
        """
        parts = key.split(".")
        if len(parts) == 2 and parts[0] == "agents":
            kept = {ns: v for ns, v in self.agents.items() if ns != parts[1]}
            return replace(self, agents=kept, migrated_from=None)
        _, namespace = _declared(key, "")
        if namespace is None:
            host = {k: v for k, v in self.host.items() if k != key}
            return replace(self, host=host, migrated_from=None)
        name = key.split(".", 2)[2]
        agents: dict[str, dict[str, object]] = {ns: dict(v) for ns, v in self.agents.items()}
        agents.get(namespace, {}).pop(name, None)
        return replace(self, agents=agents, migrated_from=None)

    def _with(self, key: str, value: object) -> Settings:
        _, namespace = option_for(key)
        if namespace is None:
            return replace(self, host={**self.host, key: value}, migrated_from=None)
        name = key.split(".", 2)[2]
        agents: dict[str, dict[str, object]] = {ns: dict(v) for ns, v in self.agents.items()}
        agents.setdefault(namespace, {})[name] = value
        return replace(self, agents=agents, migrated_from=None)

    def as_dict(self) -> dict[str, Any]:
        """Every effective value, TOML/JSON-shaped, for API answers and ``settings show``:
        ``{"schema": 2, "host": {key: value}, "agents": {ns: {name: value}}}`` with None for
        unset optional values."""
        host = {
            o.key: o.plain(self.host.get(o.key, o.default)) for o in OPTIONS if o.scope == "host"
        }
        agents = {
            ns: {name: o.plain(values.get(name, o.default)) for name, o in AGENT_OPTIONS.items()}
            for ns, values in sorted(self.agents.items())
        }
        return {"schema": SCHEMA_VERSION, "host": host, "agents": agents}


# --- what the rest of the engine needs ----------------------------------------------------------


def transport_config(
    settings: Settings, secrets: SecretStore | None, **overrides: Any
) -> TransportConfig:
    """The HTTPS transport these settings describe: CA bundle, proxy URL and user, and the
    proxy password from the secret store (the ``proxy-password`` secret). ``overrides`` are
    passed on to ``TransportConfig`` (timeouts, limits).

    Raises:
        SecretStoreError: the store could not be read (not "no password").
    """
    proxy_url = cast(str | None, settings.get("network.http_proxy"))
    user = cast(str | None, settings.get("network.proxy_user")) if proxy_url else None
    password = secrets.get("proxy-password") if (user and secrets is not None) else None
    return TransportConfig(
        ca_bundle=cast(Path | None, settings.get("network.ca_bundle")),
        proxy_url=proxy_url,
        proxy_username=user,
        proxy_password=password,
        **overrides,
    )
