"""Every path of an agent namespace (PROTOCOL §2), under a configurable root.

The layout is the one Teleport's own ``teleport-update`` uses, so a host can move between the
two. ``root`` is ``/`` in production; tests and the demo use a temporary directory.

    layout = Layout(Path("/"), "default")
    layout.update_yaml        # /opt/teleport/default/update.yaml
    layout.link_dir           # /usr/local/bin
    layout.version_dir(rev)   # /opt/teleport/default/versions/17.2.1_ent

A host may move two of those paths, as teleport-update allows: ``spec.path`` in update.yaml
is where the binaries are linked, and ``teleport.data_dir`` in the agent config is where the
agent keeps its data (debug socket, host UUID, updater id). :func:`resolve_layout` reads both
and gives the layout a real pass must use; ``Layout(root, namespace)`` alone has the defaults.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from engine.errors import StateError
from engine.names import DEFAULT_NAMESPACE, is_namespace_name, validate_namespace
from engine.store.update_yaml import SAFE_LOADER, load_config
from engine.versions import Revision

__all__ = [
    "DEFAULT_NAMESPACE",
    "Layout",
    "list_namespaces",
    "resolve_layout",
    "validate_namespace",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    """The paths of one namespace under ``root``.

    ``link_dir_override`` and ``data_dir_override`` are full paths (already under ``root``)
    that replace the namespace's default link dir and data dir; None keeps the default.
    """

    root: Path
    namespace: str = DEFAULT_NAMESPACE
    link_dir_override: Path | None = None
    data_dir_override: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "namespace", validate_namespace(self.namespace))

    @classmethod
    def resolve(cls, root: Path, namespace: str = DEFAULT_NAMESPACE) -> Layout:
        """The layout with the host's own link and data dirs: see :func:`resolve_layout`."""
        return resolve_layout(root, namespace)

    @property
    def is_default(self) -> bool:
        return self.namespace == DEFAULT_NAMESPACE

    def under_root(self, absolute: str) -> Path:
        """A production absolute path placed under ``root``."""
        return self.root / absolute.lstrip("/")

    def recorded(self, path: Path) -> str:
        """``path`` under ``root`` as the production absolute path files record it as."""
        if path.is_relative_to(self.root):
            return "/" + str(path.relative_to(self.root)).lstrip("/")
        return str(path)

    @property
    def suffix(self) -> str:
        return "" if self.is_default else f"_{self.namespace}"

    @functools.cached_property  # most paths start here; a status answer asks for many
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
        """Where the binaries are linked: ``spec.path`` when resolved from update.yaml."""
        if self.link_dir_override is not None:
            return self.link_dir_override
        return self.default_link_dir

    @property
    def default_link_dir(self) -> Path:
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
        """The agent's data dir: ``teleport.data_dir`` when resolved from the agent config."""
        if self.data_dir_override is not None:
            return self.data_dir_override
        return self.default_data_dir

    @property
    def default_data_dir(self) -> Path:
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
        if (child / "update.yaml").is_file() and is_namespace_name(child.name):
            found.append(child.name)
    return found


_MAX_AGENT_CONFIG_BYTES = 1 << 20


def resolve_layout(root: Path, namespace: str = DEFAULT_NAMESPACE) -> Layout:
    """The namespace's layout with the link dir and data dir the host actually uses.

    The link dir is ``spec.path`` from update.yaml and the data dir ``teleport.data_dir``
    from the agent config (``/etc/teleport.yaml`` or ``/etc/teleport_<ns>.yaml``), as
    teleport-update reads them. Each is an absolute host path, placed under ``root`` unless
    it already is there (tests write root-prefixed paths). A missing file, key or empty
    value keeps the default; an unreadable or malformed file, or a relative path, keeps the
    default with a logged warning (the update pass reports a bad update.yaml itself).
    """
    layout = Layout(root, namespace)
    link_dir = _host_path(layout, _spec_path(layout), "spec.path", layout.update_yaml)
    data_dir = _host_path(
        layout, _config_data_dir(layout), "teleport.data_dir", layout.agent_config
    )
    return replace(
        layout,
        link_dir_override=None if link_dir == layout.default_link_dir else link_dir,
        data_dir_override=None if data_dir == layout.default_data_dir else data_dir,
    )


def _host_path(layout: Layout, value: str | None, what: str, source: Path) -> Path | None:
    if not value:
        return None
    if not value.startswith("/"):
        _log.warning("%s %r in %s is not an absolute path: using the default", what, value, source)
        return None
    path = Path(os.path.normpath(value))
    if layout.root == Path("/") or path.is_relative_to(layout.root):
        return path
    return layout.under_root(str(path))


def _spec_path(layout: Layout) -> str | None:
    try:
        config = load_config(layout.update_yaml)
    except (StateError, ValueError) as e:
        _log.warning("cannot read the link dir (spec.path): %s; using the default", e)
        return None
    return config.spec.path.strip() if config is not None else None


def _config_data_dir(layout: Layout) -> str | None:
    path = layout.agent_config
    try:
        with path.open("rb") as stream:
            raw = stream.read(_MAX_AGENT_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        _log.warning("cannot read the agent config %s (%s): default data dir", path, e.strerror)
        return None
    if len(raw) > _MAX_AGENT_CONFIG_BYTES:
        _log.warning("the agent config %s is over 1 MiB: default data dir", path)
        return None
    try:
        # Only the first document counts, as for teleport-update's YAML decoder.
        text = raw.decode("utf-8", errors="replace")
        document: Any = next(iter(yaml.load_all(text, Loader=SAFE_LOADER)), None)
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        # PyYAML raises ValueError for impossible dates, not only YAMLError.
        _log.warning("the agent config %s is not valid YAML (%s): default data dir", path, e)
        return None
    if document is None:
        return None
    if not isinstance(document, dict):
        _log.warning("the agent config %s is not a mapping: default data dir", path)
        return None
    teleport = document.get("teleport")
    if teleport is None:
        return None
    if not isinstance(teleport, dict):
        _log.warning("'teleport' in the agent config %s is not a mapping: default data dir", path)
        return None
    value = teleport.get("data_dir")
    if value is None:
        return None
    if not isinstance(value, str):
        _log.warning("teleport.data_dir in %s is not a string: default data dir", path)
        return None
    return value.strip()
