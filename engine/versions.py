"""Versions, revisions and the compatibility rule.

A ``Version`` is a semantic version (``17.2.1``, ``v17.2.1``, ``18.0.0-rc.1+b5``) ordered by
semver precedence: pre-releases sort before their release, build metadata is ignored for
ordering. A ``Revision`` is a version plus install flags (Enterprise, FIPS); its directory
name is the one Teleport's own updater uses: ``17.2.1``, ``17.2.1_ent``, ``17.2.1_ent_fips``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import total_ordering

from engine.errors import InvalidRevision, InvalidVersion

__all__ = [
    "Flag",
    "Revision",
    "Version",
    "check_compatible",
    "compatibility_problem",
]

_SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_MAX_VERSION_LENGTH = 128
# A version string Teleport stored that is not semver: kept verbatim, and safe as a
# directory name (no '/', no leading '.', no '..').
_OPAQUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


@total_ordering
@dataclass(frozen=True)
class Version:
    """A semantic version. ``str()`` renders it without a leading ``v``."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = field(default=(), compare=False)
    # The verbatim text of a version that is not semver (see ``opaque``); "" for semver.
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse ``17.2.1`` or ``v17.2.1`` (with optional pre-release and build metadata).

        Raises:
            InvalidVersion: the text is not a semantic version; the message quotes it.
        """
        if not isinstance(text, str):
            raise InvalidVersion(f"version must be a string, got {type(text).__name__} {text!r}")
        stripped = text.strip()
        if len(stripped) > _MAX_VERSION_LENGTH:
            raise InvalidVersion(f"version {stripped[:40]!r}... is too long")
        match = _SEMVER.match(stripped)
        if match is None:
            raise InvalidVersion(
                f"invalid version {text!r}: expected MAJOR.MINOR.PATCH such as 17.2.1 "
                "(an optional leading 'v', '-prerelease' and '+build' are allowed)"
            )
        pre = match.group("pre")
        build = match.group("build")
        return cls(
            major=int(match.group("major")),
            minor=int(match.group("minor")),
            patch=int(match.group("patch")),
            prerelease=tuple(pre.split(".")) if pre else (),
            build=tuple(build.split(".")) if build else (),
        )

    @classmethod
    def opaque(cls, text: str) -> Version:
        """A version string Teleport stored that is not semver (``old-version``): shown and
        kept as it is, sorting before every semantic version; never a target.

        Raises:
            InvalidVersion: the text could not even name a directory safely.
        """
        if _OPAQUE.match(text) is None or ".." in text:
            raise InvalidVersion(
                f"invalid version {text!r}: not semver, and not usable as a directory name"
            )
        return cls(0, 0, 0, text=text)

    @property
    def is_semver(self) -> bool:
        return not self.text

    def __str__(self) -> str:
        if self.text:
            return self.text
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def _precedence(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...], str]:
        # A release (no pre-release) sorts after every pre-release of the same triple.
        # Numeric identifiers sort numerically and before alphanumeric ones.
        pre = tuple(
            (0, int(part), "") if part.isdigit() else (1, 0, part) for part in self.prerelease
        )
        rank = 0 if self.prerelease or self.text else 1
        return (self.major, self.minor, self.patch, rank, pre, self.text)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._precedence() < other._precedence()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._precedence() == other._precedence()  # build metadata has no precedence

    def __hash__(self) -> int:
        return hash(self._precedence())


class Flag(StrEnum):
    """Install flags, spelled as ``update.yaml`` spells them."""

    ENTERPRISE = "Enterprise"
    FIPS = "FIPS"

    @classmethod
    def parse(cls, text: str) -> Flag:
        for flag in cls:
            if text == flag.value:
                return flag
        raise InvalidRevision(
            f"unknown install flag {text!r}: expected one of "
            + ", ".join(flag.value for flag in cls)
        )


_FLAG_ORDER = (Flag.ENTERPRISE, Flag.FIPS)
_DIR_SUFFIX = {Flag.ENTERPRISE: "ent", Flag.FIPS: "fips"}


@dataclass(frozen=True)
class Revision:
    """A version plus its install flags; the unit Shepherd installs, links and skips."""

    version: Version
    flags: frozenset[Flag] = frozenset()

    def __post_init__(self) -> None:
        if Flag.FIPS in self.flags and Flag.ENTERPRISE not in self.flags:
            raise InvalidRevision(
                f"revision {self.version} has FIPS without Enterprise: "
                "FIPS builds exist only for the Enterprise edition"
            )

    @classmethod
    def of(cls, version: str | Version, *flags: Flag | str) -> Revision:
        parsed = version if isinstance(version, Version) else Version.parse(version)
        return cls(parsed, frozenset(f if isinstance(f, Flag) else Flag.parse(f) for f in flags))

    @classmethod
    def parse_dir_name(cls, name: str) -> Revision:
        """Parse a version directory name: ``17.2.1``, ``17.2.1_ent`` or ``17.2.1_ent_fips``.

        Raises:
            InvalidRevision: anything else, naming the bad name.
        """
        if name != name.strip() or not name:
            raise InvalidRevision(f"invalid revision {name!r}: surrounding whitespace")
        parts = name.split("_")
        suffixes = parts[1:]
        allowed = [[], ["ent"], ["ent", "fips"]]
        if suffixes not in allowed:
            raise InvalidRevision(
                f"invalid revision {name!r}: expected VERSION, VERSION_ent or VERSION_ent_fips"
            )
        try:
            version = Version.parse(parts[0])
        except InvalidVersion as e:
            raise InvalidRevision(f"invalid revision {name!r}: {e}") from e
        if parts[0].startswith("v"):
            raise InvalidRevision(
                f"invalid revision {name!r}: directory names carry no leading 'v'"
            )
        flags = {Flag.ENTERPRISE} if suffixes else set()
        if "fips" in suffixes:
            flags.add(Flag.FIPS)
        return cls(version, frozenset(flags))

    @property
    def dir_name(self) -> str:
        return str(self.version) + "".join(
            "_" + _DIR_SUFFIX[flag] for flag in _FLAG_ORDER if flag in self.flags
        )

    @property
    def ordered_flags(self) -> list[Flag]:
        """Flags in the order ``update.yaml`` lists them."""
        return [flag for flag in _FLAG_ORDER if flag in self.flags]

    @property
    def enterprise(self) -> bool:
        return Flag.ENTERPRISE in self.flags

    @property
    def fips(self) -> bool:
        return Flag.FIPS in self.flags

    def __str__(self) -> str:
        return self.dir_name


def compatibility_problem(target: Version, server_version: Version) -> str | None:
    """Why ``target`` may not run against a control plane at ``server_version``, or None.

    Agents may be at most one major version behind the cluster and never ahead of it.
    """
    if target.major > server_version.major:
        return (
            f"target {target} is a newer major than the cluster's {server_version}; "
            "agents must never run ahead of the control plane"
        )
    if target.major < server_version.major - 1:
        return (
            f"target {target} is more than one major behind the cluster's {server_version}; "
            "agents may be at most one major version behind"
        )
    return None


def check_compatible(target: Version, server_version: Version) -> None:
    """Raise InvalidVersion when :func:`compatibility_problem` finds one."""
    problem = compatibility_problem(target, server_version)
    if problem is not None:
        raise InvalidVersion(problem)
