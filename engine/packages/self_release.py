"""Is a newer Shepherd available? apt's own answer for the ``agent-shepherd`` package.

    check = SelfRelease()
    check.answer()   # {"version": "0.1.0", "package": "0.1.0", "available": "0.2.0"}

``apt-cache policy agent-shepherd`` names the installed version and apt's candidate (the one
``apt-get upgrade`` would install from the configured repositories, pins included). It is
asked again only when apt's package lists or dpkg's status change (``apt-get update``, an
install), so the answer costs a ``stat`` most of the time. Nothing here changes the host:
Shepherd is upgraded by apt (or unattended-upgrades), never by itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from engine.about import DISTRIBUTION, shepherd_version

__all__ = ["ReleaseAnswer", "SelfRelease", "parse_policy"]

_NONE = "(none)"


class ReleaseAnswer(TypedDict):
    version: str  # the running Shepherd
    package: str | None  # the installed agent-shepherd package (None: not installed by apt)
    available: str | None  # apt's candidate when it differs from the installed package


def parse_policy(text: str) -> tuple[str | None, str | None]:
    """(installed, candidate) from ``apt-cache policy PACKAGE`` (LANG=C); None for ``(none)``."""
    found: dict[str, str | None] = {"Installed": None, "Candidate": None}
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key in found and found[key] is None:
            found[key] = None if value.strip() in {"", _NONE} else value.strip()
    return found["Installed"], found["Candidate"]


@dataclass
class SelfRelease:
    """apt's view of the ``agent-shepherd`` package, cached until apt's state changes."""

    root: Path = Path("/")
    package: str = DISTRIBUTION
    timeout: float = 20.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, ...] | None = None
        self._versions: tuple[str | None, str | None] = (None, None)

    def answer(self) -> ReleaseAnswer:
        """Blocking (may run apt-cache); never raises: an apt that cannot answer says nothing."""
        with self._lock:
            key = self._state_key()
            if key != self._key:
                self._versions = self._ask_apt()
                self._key = key
            installed, candidate = self._versions
        available = candidate if candidate and installed and candidate != installed else None
        return {"version": shepherd_version(), "package": installed, "available": available}

    def _state_key(self) -> tuple[int, ...]:
        key: list[int] = []
        for path in ("var/lib/apt/lists", "var/lib/dpkg/status", "etc/apt/sources.list.d"):
            try:
                key.append((self.root / path).stat().st_mtime_ns)
            except OSError:
                key.append(0)
        return tuple(key)

    def _ask_apt(self) -> tuple[str | None, str | None]:
        apt_cache = shutil.which("apt-cache")
        if apt_cache is None:
            return None, None
        try:
            result = subprocess.run(
                [apt_cache, "policy", self.package],
                capture_output=True,
                text=True,
                timeout=self.timeout,
                env={"LANG": "C", "LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None, None
        return parse_policy(result.stdout) if result.returncode == 0 else (None, None)
