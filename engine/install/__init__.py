"""Putting a revision on disk: the verified download, safe extraction, the link switch and adoption
of an existing namespace.
"""

from __future__ import annotations

from engine.install.adopt import NamespaceReport, inspect_namespace
from engine.install.download import (
    DEFAULT_BASE_URL,
    DownloadLimits,
    Progress,
    artifact_url,
    check_free_space,
    download_verified,
    fetch_checksum,
    go_arch,
)
from engine.install.links import (
    MAX_UNIT_BYTES,
    Revert,
    copy_unit,
    linked_revision,
    rewrite_unit,
    switch_links,
)
from engine.install.revisions import (
    BINARIES,
    install_revision,
    installed_checksum,
    list_revisions,
    remove_revision,
)
from engine.install.sink import HashingSink

__all__ = [
    "BINARIES",
    "DEFAULT_BASE_URL",
    "MAX_UNIT_BYTES",
    "DownloadLimits",
    "HashingSink",
    "NamespaceReport",
    "Progress",
    "Revert",
    "artifact_url",
    "check_free_space",
    "copy_unit",
    "download_verified",
    "fetch_checksum",
    "go_arch",
    "inspect_namespace",
    "install_revision",
    "installed_checksum",
    "linked_revision",
    "list_revisions",
    "remove_revision",
    "rewrite_unit",
    "switch_links",
]
