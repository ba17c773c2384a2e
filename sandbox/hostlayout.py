"""A host root laid out exactly as Teleport's ``teleport-update`` leaves it: versions
installed side by side, links, the unit copy, the agent config and ``update.yaml``. The
tests, the benchmarks and the demo all start from it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from engine.install.links import copy_unit, switch_links, unit_source
from engine.install.revisions import install_revision
from engine.store.layout import Layout
from engine.store.update_yaml import LastUpdate, UpdateConfig, UpdateSpec, UpdateStatus, save_config
from engine.versions import Revision
from sandbox.agentbuild import Behaviour, build_artifact, write_agent_config

__all__ = ["lay_out_teleport_update_host"]


def lay_out_teleport_update_host(
    root: Path,
    artifacts: Path,
    *,
    namespace: str = "default",
    active: str = "17.1.0",
    backup: str | None = "17.0.5",
    edition: str = "community",
    proxy: str = "127.0.0.1:3080",
    behaviours: dict[str, Behaviour] | None = None,
    link_dir: str | None = None,
    data_dir: str | None = None,
    interpreter: str | None = None,
) -> Layout:
    """Install ``active`` (and ``backup``) side by side, link ``active``, copy its unit, write
    the agent config and update.yaml — what ``teleport-update enable`` + an update produce.

    ``link_dir`` (update.yaml's spec.path) and ``data_dir`` (the agent config's
    teleport.data_dir) are host paths such as ``/opt/tp/bin``, placed under ``root``; None
    keeps the namespace's defaults. Both files name the root-prefixed paths. ``interpreter``
    runs the agent builds (default: this Python)."""
    base = Layout(root, namespace)
    layout = Layout(
        root,
        namespace,
        link_dir_override=base.under_root(link_dir) if link_dir else None,
        data_dir_override=base.under_root(data_dir) if data_dir else None,
    )
    flags = ("Enterprise",) if edition == "ent" else ()
    revisions = {}
    for version in filter(None, (backup, active)):
        revision = Revision.of(version, *flags)
        artifact = build_artifact(
            artifacts,
            version,
            edition="ent" if flags else "community",
            behaviour=(behaviours or {}).get(version),
            interpreter=interpreter,
        )
        install_revision(artifact.path, artifact.sha256, layout.versions_dir, revision)
        revisions[version] = revision
    active_rev = revisions[active]
    switch_links(layout.version_dir(active_rev) / "bin", layout.link_dir)
    copy_unit(unit_source(layout.version_dir(active_rev)), layout)
    write_agent_config(layout.agent_config, layout.data_dir, proxy=proxy)
    save_config(
        layout.update_yaml,
        UpdateConfig(
            spec=UpdateSpec(proxy=proxy, path=str(layout.link_dir), enabled=True),
            status=UpdateStatus(
                id_file=str(layout.id_file),
                last_update=LastUpdate(True, datetime(2026, 11, 1, tzinfo=UTC), active_rev),
                active=active_rev,
                backup=revisions.get(backup) if backup else None,
            ),
        ),
    )
    return layout
