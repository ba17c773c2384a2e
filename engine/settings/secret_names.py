"""The names of Shepherd's secrets and the keyring backends it can keep them in (no keyring
code here: cheap to import for the command line)."""

from __future__ import annotations

import re

from engine.errors import InvalidInput
from engine.names import validate_namespace

__all__ = [
    "AGENT_SCOPED",
    "BACKENDS",
    "FILE_STORE_DIR",
    "SECRET_NAMES",
    "SERVICE",
    "validate_secret_name",
]

SERVICE = "agent-shepherd"
BACKENDS = ("secret-service", "file")
FILE_STORE_DIR = "var/lib/shepherd/secrets"
SECRET_NAMES: dict[str, str] = {
    "proxy-password": "password of network.proxy_user for the HTTP proxy network.http_proxy",
    "mirror-token": "bearer token sent to the custom CDN / private mirror (download.base_url)",
    "webhook-secret": "key of the HMAC-SHA256 signature on each notice sent to "
    "notifications.webhook_url (host-wide only)",
    "smtp-password": "password of notifications.smtp_user on notifications.smtp_server, sent "
    "only inside STARTTLS (host-wide only)",
}
AGENT_SCOPED = ("mirror-token",)
"""The secrets that may also be stored for one agent, as ``<name>:<namespace>`` (that agent's
value wins over the host-wide one). The HTTP proxy is host-wide, so its password is too."""
_NAME = re.compile(r"^(?P<base>[a-z-]+)(?::(?P<namespace>[A-Za-z0-9-]+))?$")
_FORBIDDEN_IN_VALUE = re.compile(r"[\x00-\x1f\x7f]")


def validate_secret_name(name: str) -> str:
    """A name of ``SECRET_NAMES``; one of ``AGENT_SCOPED`` optionally with ``:<namespace>``.

    Raises:
        InvalidInput: any other name, naming it and the known ones.
    """
    match = _NAME.match(name)
    if match is None or match["base"] not in SECRET_NAMES:
        known = ", ".join(SECRET_NAMES)
        raise InvalidInput(
            f"unknown secret name {name!r}: expected one of {known} (optionally ':<namespace>')"
        )
    if match["namespace"] is not None:
        if match["base"] not in AGENT_SCOPED:
            raise InvalidInput(f"secret {match['base']!r} is host-wide: drop ':<namespace>'")
        validate_namespace(match["namespace"])
    return name
