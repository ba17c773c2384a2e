"""Every path of an agent namespace (PROTOCOL §2), under a configurable root.

The layout is the one Teleport's own ``teleport-update`` uses, so a host can move between the
two. ``root`` is ``/`` in production; tests and the demo use a temporary directory.

    layout = Layout(Path("/"), "default")
    layout.update_yaml        # /opt/teleport/default/update.yaml
    layout.link_dir           # /usr/local/bin
    layout.version_dir(rev)   # /opt/teleport/default/versions/17.2.1_ent
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InvalidInput
from engine.versions import Revision

__all__ = ["DEFAULT_NAMESPACE", "Layout", "list_namespaces", "validate_namespace"]

DEFAULT_NAMESPACE = "default"
RESERVED = {"system"}
_NAMESPACE = re.compile(r"^[a-zA-Z0-9-]+$")


def validate_namespace(name: str | None) -> str:
    """The namespace name, ``default`` for empty; raises InvalidInput naming a bad one."""
    if not name:
        return DEFAULT_NAMESPACE
    if not _NAMESPACE.match(name):
        raise InvalidInput(f"invalid agent namespace {name!r}: use letters, digits and '-' only")
    if name in RESERVED:
        raise InvalidInput(f"agent namespace {name!r} is reserved")
    return name


@dataclass(frozen=True)
class Layout:
    root: Path
    namespace: str = DEFAULT_NAMESPACE

    def __post_init__(self) -> None:
        object.__setattr__(self, "namespace", validate_namespace(self.namespace))

    @property
    def is_default(self) -> bool:
        return self.namespace == DEFAULT_NAMESPACE

    def under_root(self, absolute: str) -> Path:
        """A production absolute path placed under ``root``."""
        return self.root / absolute.lstrip("/")

    @property
    def suffix(self) -> str:
        return "" if self.is_default else f"_{self.namespace}"

    @property
    def namespace_dir(self) -> Path:
        return self.under_root(f"/opt/teleport/{self.namespace}")

    @property
    def versions_dir(self) -> Path:
        return self.namespace_dir / "versions"

    def version_dir(self, revision: Revision) -> Path:
        return self.versions_dir / revision.dir_name

    @property
    def update_yaml(self) -> Path:
        return self.namespace_dir / "update.yaml"

    @property
    def lock_file(self) -> Path:
        return self.namespace_dir / "update.lock"

    @property
    def state_dir(self) -> Path:
        """Shepherd's own state (journal, history, bad versions), beside update.yaml."""
        return self.namespace_dir / "shepherd"

    @property
    def link_dir(self) -> Path:
        if self.is_default:
            return self.under_root("/usr/local/bin")
        return self.namespace_dir / "bin"

    @property
    def unit_name(self) -> str:
        return f"teleport{self.suffix}"

    @property
    def unit_file(self) -> Path:
        if self.is_default:
            return self.under_root("/lib/systemd/system/teleport.service")
        return self.under_root(f"/etc/systemd/system/teleport{self.suffix}.service")

    @property
    def agent_config(self) -> Path:
        return self.under_root(f"/etc/teleport{self.suffix}.yaml")

    @property
    def data_dir(self) -> Path:
        return self.under_root(f"/var/lib/teleport{self.suffix}")

    @property
    def pid_file(self) -> Path:
        return self.under_root(f"/run/teleport{self.suffix}.pid")

    @property
    def debug_socket(self) -> Path:
        return self.data_dir / "debug.sock"

    @property
    def id_file(self) -> Path:
        return self.data_dir / "teleport-update.id"

    @property
    def host_uuid_file(self) -> Path:
        return self.data_dir / "host_uuid"

    @property
    def machine_id_file(self) -> Path:
        return self.under_root("/etc/machine-id")

    @property
    def upgrade_dir(self) -> Path:
        """The v1 upgrader's directory (schedule, endpoint, package, installer)."""
        return self.under_root("/etc/teleport-upgrade.d")

    @property
    def schedule_file(self) -> Path:
        return self.upgrade_dir / "schedule"


def list_namespaces(root: Path) -> list[str]:
    """Namespaces that have an ``update.yaml`` under ``root``."""
    base = root / "opt/teleport"
    if not base.is_dir():
        return []
    found = []
    for child in sorted(base.iterdir()):
        if (
            (child / "update.yaml").is_file()
            and _NAMESPACE.match(child.name)
            and child.name not in RESERVED
        ):
            found.append(child.name)
    return found
