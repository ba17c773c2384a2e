"""Package agents: the Teleport agent installed by the system package manager (v1 hosts).

An alternative to ``engine.install`` (which lays out ``/opt/teleport`` like
``teleport-update``) for agents that came from Teleport's apt/yum/zypper repositories.
It sits beside ``install`` in the layers: it uses ``store`` and the ground floor only, and
``update.package_pass`` drives it with the same policy, health check and history.
"""

from __future__ import annotations

from engine.packages.apt import AptBackend
from engine.packages.base import PackageBackend, PackageRepo, PackageState, Runner
from engine.packages.detect import PACKAGE_NAMES, PackageAgent, UpgraderConfig, detect_package_agent
from engine.packages.dnf import DnfBackend
from engine.packages.exact import ExactInstaller
from engine.packages.pmlock import lock_holder, wait_until_free
from engine.packages.timer import UPGRADE_TIMER, restore_upgrade_timer, take_over_upgrade_timer
from engine.packages.zypper import ZypperBackend

__all__ = [
    "PACKAGE_NAMES",
    "UPGRADE_TIMER",
    "AptBackend",
    "DnfBackend",
    "ExactInstaller",
    "PackageAgent",
    "PackageBackend",
    "PackageRepo",
    "PackageState",
    "Runner",
    "UpgraderConfig",
    "ZypperBackend",
    "detect_package_agent",
    "lock_holder",
    "restore_upgrade_timer",
    "take_over_upgrade_timer",
    "wait_until_free",
]
