"""What the cluster told us, as plain validated data (no I/O here).

The source clients in ``engine.sources`` produce these; the policy consumes them. An answer
that could not be obtained is a ``SourceFailure`` carrying the human-readable cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.versions import Flag, Revision, Version

__all__ = [
    "AutoUpdate",
    "ChannelAnswer",
    "ClusterAnswer",
    "Edition",
    "FindAnswer",
    "SourceFailure",
]

DEFAULT_JITTER_SECONDS = 60


class Edition(StrEnum):
    ENTERPRISE = "ent"
    COMMUNITY = "community"
    OSS = "oss"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class AutoUpdate:
    """The ``auto_update`` block of a ``/webapi/find`` answer."""

    agent_version: Version | None  # None when the cluster sent an empty version
    agent_auto_update: bool
    jitter_seconds: int = DEFAULT_JITTER_SECONDS


@dataclass(frozen=True)
class FindAnswer:
    """A validated ``/webapi/find`` answer (PROTOCOL §1)."""

    server_version: Version | None  # None: the proxy sent an empty one
    edition: Edition
    fips: bool
    edition_reported: bool  # False for older proxies that omit edition/fips
    auto_update: AutoUpdate | None  # None: the cluster does not manage versions (use v1)
    cluster_name: str = ""
    automatic_upgrades: bool = False

    def flags(self) -> frozenset[Flag] | None:
        """Install flags for this edition, or None when no public build exists (AGPL/unknown)."""
        if self.edition is Edition.ENTERPRISE:
            return frozenset({Flag.ENTERPRISE, Flag.FIPS} if self.fips else {Flag.ENTERPRISE})
        if self.edition is Edition.COMMUNITY:
            return frozenset()
        return None

    def install_flags(self) -> frozenset[Flag]:
        """The flags of the build to install, whatever the edition: as ``flags``, and a plain
        build for an AGPL or unknown edition (installable only from a custom base URL, which
        is why ``flags`` returns None for them)."""
        flags = self.flags()
        return flags if flags is not None else frozenset()

    def target(self, flags: frozenset[Flag]) -> Revision | None:
        if self.auto_update is None or self.auto_update.agent_version is None:
            return None
        return Revision(self.auto_update.agent_version, flags)


@dataclass(frozen=True)
class ChannelAnswer:
    """A v1 version channel answer (PROTOCOL §4)."""

    version: Version | None  # None when the channel says "none"
    critical: bool


@dataclass(frozen=True)
class SourceFailure:
    """Asking the cluster failed; ``cause`` says why in one sentence."""

    cause: str


ClusterAnswer = FindAnswer | ChannelAnswer | SourceFailure
