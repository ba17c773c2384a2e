"""Every setting, declared once: key, label, kind, default, help, scope, host-only mark.

    option, namespace = option_for("agents.staging.group")   # the declaration, "staging"
    describe()                                               # text for `settings describe`
    schema_document()                                        # GET /v1/settings/schema

That one declaration drives parsing and validation (``engine.settings.model``), the file's
renderer (``engine.settings.file``), the CLI's ``settings describe``, the API's schema answer
and, through it, the tray's settings dialog. Host options live in tables (``[network]``);
per-agent options are declared as ``agents.*.<name>`` and live in ``[agents.<namespace>]``.

``host_only`` marks what decides which code runs or what is trusted (where tarballs come
from, the CA, the proxy, the cluster asked, the canary order): only an administrator may
change those (see DESIGN.md, "Who may do what").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from engine.errors import InvalidInput
from engine.install.download import parse_rate
from engine.names import validate_namespace
from engine.policy.inputs import DEFAULT_POLL_INTERVAL
from engine.settings.kinds import (
    Bool,
    Check,
    Choice,
    Duration,
    Namespaces,
    Text,
    Url,
    Windows,
    Words,
)
from engine.settings.option import Option
from engine.settings.path_kinds import CaFile, KeyFile
from engine.settings.policy_options import FAILED_VERSION_OPTIONS
from engine.settings.secrets import BACKENDS, SECRET_NAMES
from engine.sources.find import validate_proxy_address

__all__ = [
    "AGENT_OPTIONS",
    "NOTICE_KINDS",
    "OPTIONS",
    "SCHEMA_VERSION",
    "SECTIONS",
    "Option",
    "describe",
    "option_for",
    "schema_document",
]

SCHEMA_VERSION = 2


_GROUP = Text(r"[A-Za-z0-9._-]{1,64}", "letters, digits, '.', '_' and '-' (at most 64)")
_USER = Text(r"[^\s:\x00-\x1f\x7f]{1,128}", "no spaces, ':' or control characters")


def _validate_channel(name: str) -> str:
    segments = name.split("/")
    if not all(re.fullmatch(r"[A-Za-z0-9._-]+", s) and s not in {".", ".."} for s in segments):
        raise InvalidInput(
            f"invalid v1 channel {name!r}: a name such as stable/cloud or stable/rolling"
        )
    return name


_CHANNEL = Check(_validate_channel, name="v1 channel name")


def _validate_rate(text: str) -> str:
    parse_rate(text)
    return text.strip()


_HTTPS = Url(("https",), allow_path=True, name="https URL")
_ONE_ADDRESS = r"[^@\s,<>]{1,64}@[A-Za-z0-9.-]{1,253}"
_ADDRESS = Text(_ONE_ADDRESS, "an e-mail address such as shepherd@example.com")
NOTICE_KINDS = ("updated", "failed", "rolled-back", "blocked", "repaired", "agent-down")
_KINDS = Words(NOTICE_KINDS)

OPTIONS: tuple[Option, ...] = (
    Option(
        "secrets.backend",
        "Secret store",
        Choice(BACKENDS),
        "file",
        "Where secrets live: 'file' (encrypted, root-only, for a headless host) or "
        "'secret-service' (gnome-keyring/KWallet on the session bus, must be unlocked).",
        host_only=True,
    ),
    Option(
        "network.http_proxy",
        "HTTP proxy URL",
        Url(("http", "https"), allow_path=False, name="proxy URL (http://host:port)"),
        None,
        "HTTP(S) proxy for every request (cluster and CDN), as http://host:port without "
        "credentials. Unset: the HTTPS_PROXY environment variable, if any.",
        host_only=True,
    ),
    Option(
        "network.proxy_user",
        "Proxy user",
        _USER,
        None,
        "User name for the HTTP proxy; its password is the 'proxy-password' secret.",
        host_only=True,
    ),
    Option(
        "network.ca_bundle",
        "CA bundle",
        CaFile(),
        None,
        "PEM file of CA certificates to trust instead of the system store (an absolute path "
        "to an existing, readable file).",
        host_only=True,
    ),
    Option(
        "download.base_url",
        "Custom CDN",
        _HTTPS,
        None,
        "Custom CDN or private mirror for the agent tarballs (https only). Unset: Teleport's "
        "CDN. A 'mirror-token' secret is sent to it as a bearer token.",
        host_only=True,
    ),
    Option(
        "download.deadline",
        "Download deadline",
        Duration(timedelta(minutes=1), timedelta(days=2)),
        timedelta(minutes=30),
        "Longest one agent download may take, from the request to the last byte; a slower "
        "download is abandoned (naming the host and the rate seen) and the agent's lock freed.",
        host_only=True,
    ),
    Option(
        "download.min_rate",
        "Minimum download rate",
        Check(_validate_rate, name="rate (e.g. 10KiB/s, 1MiB/s; 0: no minimum)"),
        "10KiB/s",
        "A download slower than this, averaged over a minute, is abandoned.",
        host_only=True,
    ),
    Option(
        "discovery.adopt_found",
        "Adopt found agents",
        Bool(),
        False,
        "Manage agents found on this host without asking, turning off their own updater's "
        "timer (teleport-update, teleport-upgrade). Off: they are listed as found, not managed, "
        "until adopted with 'shepherd agents add'.",
        host_only=True,
    ),
    Option(
        "package.repository_url",
        "Package repository",
        _HTTPS,
        None,
        "The signed apt/yum/zypper repository a package-installed agent (v1 host) is "
        "updated from (https only), e.g. https://apt.releases.teleport.dev/debian. Unset: "
        "Shepherd does not update a package agent.",
        host_only=True,
    ),
    Option(
        "package.signing_key",
        "Repository signing key",
        KeyFile(),
        None,
        "The public key (armored .asc or binary .gpg, an absolute path) that must have "
        "signed the package repository; anything else is refused.",
        host_only=True,
    ),
    Option(
        "package.suite",
        "Repository suite",
        Text(r"[A-Za-z0-9._/-]{1,64}( [A-Za-z0-9._/-]{1,64}){0,4}", "a suite and components"),
        "./",
        "apt only: the suite and components of the package repository, e.g. 'bookworm "
        "stable/v17' for Teleport's; './' for a flat repository.",
        host_only=True,
    ),
    Option(
        "canary.order",
        "Canary agents",
        Namespaces(),
        (),
        "Agent namespaces that update first, in order; the others wait for canary.soak.",
        host_only=True,
    ),
    Option(
        "canary.soak",
        "Canary soak time",
        Duration(timedelta(0), timedelta(days=30)),
        timedelta(hours=1),
        "How long the canaries must run a new version, healthy, before the others update.",
        host_only=True,
    ),
    Option(
        "policy.critical_bypasses_local_window",
        "Critical updates skip local windows",
        Bool(),
        True,
        "A critical update from the cluster may start outside the local maintenance windows "
        "(never inside a blackout).",
    ),
    Option(
        "policy.poll_interval",
        "Check interval",
        Duration(timedelta(seconds=30), timedelta(days=1)),
        DEFAULT_POLL_INTERVAL,
        "How often to ask the cluster for its target version.",
    ),
    *FAILED_VERSION_OPTIONS,
    Option(
        "notifications.on_update",
        "Notify on update",
        Bool(),
        True,
        "Notify when an agent was updated.",
    ),
    Option(
        "notifications.on_failure",
        "Notify on failure",
        Bool(),
        True,
        "Notify when an update failed.",
    ),
    Option(
        "notifications.on_rollback",
        "Notify on rollback",
        Bool(),
        True,
        "Notify when an update was rolled back.",
    ),
    Option(
        "notifications.webhook_url",
        "Webhook URL",
        _HTTPS,
        None,
        "Each notice is POSTed here as JSON (https only), signed with HMAC-SHA256 under the "
        "'webhook-secret' secret; retried with backoff. Unset: no webhook.",
        host_only=True,
    ),
    Option("notifications.webhook_kinds", "Webhook notices", _KINDS, NOTICE_KINDS, "Sent kinds."),
    Option(
        "notifications.smtp_server",
        "SMTP server",
        Text(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?", "host[:port], e.g. smtp.example.com:587"),
        None,
        "Mail server for e-mailed notices, host[:port] (port 587 when omitted); always "
        "STARTTLS, verified like every other TLS peer. Unset: no e-mail.",
        host_only=True,
    ),
    Option(
        "notifications.smtp_user",
        "SMTP user",
        _USER,
        None,
        "User name on the SMTP server; its password is the 'smtp-password' secret. Unset: "
        "send without logging in.",
        host_only=True,
    ),
    Option(
        "notifications.email_from",
        "E-mail sender",
        _ADDRESS,
        None,
        "The From: address.",
        host_only=True,
    ),
    Option(
        "notifications.email_to",
        "E-mail recipients",
        Text(rf"{_ONE_ADDRESS}(, ?{_ONE_ADDRESS}){{0,19}}", "addresses separated by commas"),
        None,
        "Who gets the e-mailed notices (comma-separated).",
        host_only=True,
    ),
    Option("notifications.email_kinds", "E-mailed notices", _KINDS, NOTICE_KINDS, "Sent kinds."),
    Option(
        "agents.*.group",
        "Update group",
        _GROUP,
        None,
        "The agent's update group (sent to the cluster's find endpoint).",
        host_only=True,
    ),
    Option(
        "agents.*.proxy",
        "Cluster proxy",
        Check(validate_proxy_address, name="host[:port]"),
        None,
        "The cluster's proxy address for this agent, host[:port], no scheme.",
        host_only=True,
    ),
    Option(
        "agents.*.base_url",
        "Agent CDN",
        _HTTPS,
        None,
        "CDN or mirror for this agent only (https only); overrides download.base_url. A "
        "'mirror-token:<namespace>' secret overrides 'mirror-token' for it.",
        host_only=True,
    ),
    Option(
        "agents.*.channel",
        "Release channel",
        _CHANNEL,
        None,
        "The v1 release channel, e.g. stable/rolling (v1 clusters only).",
        host_only=True,
    ),
    Option(
        "agents.*.windows",
        "Maintenance windows",
        Windows(),
        (),
        "Local maintenance windows: updates start only inside one (none: any time the "
        "cluster allows).",
    ),
    Option(
        "agents.*.blackouts",
        "Blackouts",
        Windows(),
        (),
        "Local blackouts: no update starts inside one, critical or not.",
    ),
)
_BY_KEY: dict[str, Option] = {o.key: o for o in OPTIONS}
SECTIONS: tuple[str, ...] = tuple(
    dict.fromkeys(o.key.split(".")[0] for o in OPTIONS if o.scope == "host")
)
"""The host tables, in declaration order: ``("secrets", "network", ...)``."""
AGENT_OPTIONS: Mapping[str, Option] = MappingProxyType(
    {o.key.split(".", 2)[2]: o for o in OPTIONS if o.scope == "agent"}
)
"""The per-agent options by name (``"group"``), in declaration order."""


def option_for(key: str) -> tuple[Option, str | None]:
    """The option a dotted key names, and the agent namespace for ``agents.<ns>.<name>``.

    Raises:
        InvalidInput: an unknown key or a bad namespace, naming it.
    """
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "agents":
        namespace = parts[1]
        if not namespace:
            raise InvalidInput(f"unknown setting {key!r}: empty agent namespace")
        validate_namespace(namespace)
        declared = AGENT_OPTIONS.get(parts[2])
        if declared is not None:
            return declared, namespace
    elif key in _BY_KEY and not key.startswith("agents."):
        return _BY_KEY[key], None
    raise InvalidInput(f"unknown setting {key!r}; `shepherd settings describe` lists them")


def describe() -> str:
    """Every option with its type, default, label and help, then the secrets (for the docs
    and ``shepherd settings describe``)."""
    lines = []
    for option in OPTIONS:
        key = option.key.replace("agents.*.", "agents.<namespace>.")
        marks = f"; default {option.default_text()}" + ("; host only" if option.host_only else "")
        lines.append(f"{key}  ({option.type_name}{marks})")
        lines.append(f"    {option.label} — {option.description}")
    lines.append("")
    lines.append("secrets (only in the keyring, never in the file: `shepherd secret set NAME`)")
    for name, meaning in SECRET_NAMES.items():
        lines.append(name)
        lines.append(f"    {meaning}")
    return "\n".join(lines)


def schema_document() -> dict[str, Any]:
    """The declaration as data, as ``GET /v1/settings/schema`` serves it:
    ``{"schema": 2, "options": [...], "secrets": ["proxy-password", ...]}``."""
    return {
        "schema": SCHEMA_VERSION,
        "options": [option.as_json() for option in OPTIONS],
        "secrets": list(SECRET_NAMES),
    }
