"""The engine's exception tree. Callers catch the level they care about.

    ShepherdError
    ├── InvalidInput            a value given to us is malformed (names the value)
    │   ├── InvalidVersion
    │   ├── InvalidRevision
    │   ├── InvalidSchedule
    │   ├── InvalidScenario
    │   └── InvalidSetting      settings values refused: each problem names its key and why
    ├── StateError              update.yaml or Shepherd's own state is unreadable/invalid
    ├── SourceError             asking the cluster or a channel failed
    │   ├── TransportError      DNS, refused, timeout, TLS, proxy, redirect
    │   └── BadAnswer           the server answered, but not with what the protocol says
    ├── ArtifactError           download, checksum, extraction, disk space
    │   └── NoSpace             not enough free disk space (names the dir and the sizes)
    ├── LockTimeout             another updater holds the namespace lock
    ├── ServiceError            the service manager refused or failed
    ├── PackageError            the system package manager (apt, dnf/yum, zypper) failed
    │   ├── RepositoryRefused   the repository's signature, key or answer was refused
    │   ├── VersionUnavailable  the repository does not offer the wanted version
    │   └── PackageManagerBusy  another process holds the package manager's lock
    ├── SecretStoreError        the secret store is unavailable, locked, unsafe or corrupted
    └── NotifyError             a notice could not be delivered (``permanent``: do not retry)

Foreign exceptions (httpx, OSError, yaml) are translated where they enter, with
``raise ... from e``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "ArtifactError",
    "BadAnswer",
    "InvalidInput",
    "InvalidRevision",
    "InvalidScenario",
    "InvalidSchedule",
    "InvalidSetting",
    "InvalidVersion",
    "LockTimeout",
    "NoSpace",
    "NotifyError",
    "PackageError",
    "PackageManagerBusy",
    "RepositoryRefused",
    "SecretStoreError",
    "ServiceError",
    "SettingProblem",
    "ShepherdError",
    "SourceError",
    "StateError",
    "TransportError",
    "VersionUnavailable",
]


class ShepherdError(Exception):
    """Base of every error the engine raises on purpose."""


class InvalidInput(ShepherdError, ValueError):
    """A value handed to the engine is malformed; the message names the value."""


class InvalidVersion(InvalidInput):
    pass


class InvalidRevision(InvalidInput):
    pass


class InvalidSchedule(InvalidInput):
    pass


class InvalidScenario(InvalidInput):
    pass


class SettingProblem(NamedTuple):
    """Why one settings value was refused (a NamedTuple: ``dataclasses`` costs the CLI's
    start ~8 ms)."""

    key: str  # as given, e.g. "agents.staging.base_url"
    label: str  # the option's human name ("Custom CDN"); the key itself for an unknown key
    value: str  # what was given, with any URL credentials replaced by ***
    reason: str  # reads on its own next to the field: "must use https://"
    sentence: str  # the whole message: "invalid value for download.base_url: ..."


class InvalidSetting(InvalidInput):
    """One or more settings values were refused; ``problems`` says which and why. The
    message is their sentences, joined by "; "."""

    def __init__(self, problems: Sequence[SettingProblem]) -> None:
        super().__init__("; ".join(p.sentence for p in problems))
        self.problems = tuple(problems)


class StateError(ShepherdError):
    pass


class SourceError(ShepherdError):
    pass


class TransportError(SourceError):
    pass


class BadAnswer(SourceError):
    pass


class ArtifactError(ShepherdError):
    pass


class NoSpace(ArtifactError):
    """Not enough free disk space; the message names the directory and the sizes."""


class LockTimeout(ShepherdError):
    pass


class ServiceError(ShepherdError):
    pass


class PackageError(ShepherdError):
    """A package-manager command failed; the message names the command and its output."""


class RepositoryRefused(PackageError):
    """The repository is unsigned, signed by a wrong or expired key, or unreachable; the
    message names the repository and the key."""


class VersionUnavailable(PackageError):
    """The repository offers no package of the wanted version (names both)."""


class PackageManagerBusy(PackageError):
    """The package manager's lock stayed held by another process (names the holder)."""


class SecretStoreError(ShepherdError):
    """The secret store is unavailable, locked, has unsafe permissions or is corrupted."""


class NotifyError(ShepherdError):
    """A webhook or e-mail notice was not delivered. ``permanent``: retrying cannot help (no
    secret, the receiver refused the request as such); otherwise it is retried later."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
