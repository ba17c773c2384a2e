"""The copied service unit is the one teleport-update would write, byte for byte.

teleport-update copies ``examples/systemd/teleport.service`` from the tarball with three
plain byte replacements (``/usr/local/bin/``, ``/etc/teleport.yaml``, ``/run/teleport.pid``)
and adds ``--fips`` to ``teleport start`` for FIPS builds. On uninstall it removes the unit
only when it still equals that rewrite, and it refuses to replace anything at the unit path
that is not a regular file. Shepherd's copy must agree on all of it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.errors import ArtifactError
from engine.install.links import copy_unit, rewrite_unit, unit_source
from engine.store.layout import Layout
from engine.versions import Revision

# The unit as recent Teleport tarballs ship it (written for this test from its shape).
SHIPPED = b"""[Unit]
Description=Teleport Service
After=network.target

[Service]
Type=simple
Restart=always
RestartSec=5
EnvironmentFile=-/etc/default/teleport
ExecStart=/usr/local/bin/teleport start --config /etc/teleport.yaml --pid-file=/run/teleport.pid
# systemd before 239 needs an absolute path
ExecReload=/bin/sh -c "exec pkill -HUP -L -F /run/teleport.pid"
PIDFile=/run/teleport.pid
LimitNOFILE=524288

[Install]
WantedBy=multi-user.target
"""
VAR_RUN = SHIPPED.replace(b"/run/teleport.pid", b"/var/run/teleport.pid")
FIPS = Revision.of("17.2.1", "Enterprise", "FIPS")


def test_a_namespace_at_the_real_root_gets_teleport_updates_exact_bytes() -> None:
    out = rewrite_unit(SHIPPED, Layout(Path("/"), "blue"))
    assert out == (
        SHIPPED.replace(b"/usr/local/bin/", b"/opt/teleport/blue/bin/")
        .replace(b"/etc/teleport.yaml", b"/etc/teleport_blue.yaml")
        .replace(b"/run/teleport.pid", b"/run/teleport_blue.pid")
    )


def test_the_default_namespace_at_the_real_root_is_left_as_shipped() -> None:
    assert rewrite_unit(SHIPPED, Layout(Path("/"))) == SHIPPED
    assert rewrite_unit(VAR_RUN, Layout(Path("/"))) == VAR_RUN


def test_a_var_run_pid_file_is_rewritten_as_teleport_update_does_at_the_real_root() -> None:
    # A plain replacement of /run/teleport.pid inside /var/run/teleport.pid: same file.
    out = rewrite_unit(VAR_RUN, Layout(Path("/"), "blue"))
    assert b"--pid-file=/var/run/teleport_blue.pid" in out
    assert b"PIDFile=/var/run/teleport_blue.pid" in out


def test_a_var_run_pid_file_under_a_test_root_is_the_layouts_pid_file(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "blue")
    out = rewrite_unit(VAR_RUN, layout).decode()
    assert f"--pid-file={layout.pid_file}\n" in out
    assert f"PIDFile={layout.pid_file}\n" in out
    assert f'-F {layout.pid_file}"' in out
    assert "/var/" not in out.replace("/etc/default/teleport", "")


def test_replacements_are_never_rewritten_twice(tmp_path: Path) -> None:
    layout = Layout(tmp_path)  # the default namespace's paths still contain /run/teleport.pid
    out = rewrite_unit(VAR_RUN + SHIPPED, layout).decode()
    assert out.count(str(layout.pid_file)) == 6
    assert f"{tmp_path}{tmp_path}" not in out


def test_fips_builds_are_started_with_fips_once() -> None:
    layout = Layout(Path("/"))
    out = rewrite_unit(SHIPPED, layout, fips=True)
    assert b"ExecStart=/usr/local/bin/teleport start --fips --config /etc/teleport.yaml" in out
    assert out.count(b"--fips") == 1
    assert rewrite_unit(out, layout, fips=True) == out
    assert rewrite_unit(SHIPPED, layout, fips=False) == SHIPPED


def test_copy_unit_adds_fips_for_a_revision_found_from_its_version_dir(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    source = unit_source(layout.version_dir(FIPS))
    source.parent.mkdir(parents=True)
    source.write_bytes(SHIPPED)
    copy_unit(source, layout)
    assert b"teleport start --fips --config" in layout.unit_file.read_bytes()
    plain = unit_source(layout.version_dir(Revision.of("17.2.1", "Enterprise")))
    plain.parent.mkdir(parents=True)
    plain.write_bytes(SHIPPED)
    copy_unit(plain, layout)
    assert b"--fips" not in layout.unit_file.read_bytes()


def test_bytes_are_copied_exactly_crlf_and_non_utf8_included(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    source = tmp_path / "teleport.service"
    raw = (
        b"[Unit]\r\nDescription=T\xe9l\xe9port \xff\r\nExecStart=/usr/local/bin/teleport start\r\n"
    )
    source.write_bytes(raw)
    copy_unit(source, layout)
    assert layout.unit_file.read_bytes() == raw.replace(
        b"/usr/local/bin/", f"{layout.link_dir}/".encode()
    )


def test_a_link_at_the_unit_path_is_refused_and_left_alone(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    source = tmp_path / "teleport.service"
    source.write_bytes(SHIPPED)
    elsewhere = tmp_path / "custom.service"
    elsewhere.write_bytes(b"[Service]\nExecStart=/custom\n")
    layout.unit_file.parent.mkdir(parents=True)
    layout.unit_file.symlink_to(elsewhere)
    with pytest.raises(ArtifactError, match="not a regular file"):
        copy_unit(source, layout)
    assert os.readlink(layout.unit_file) == str(elsewhere)
    assert elsewhere.read_bytes() == b"[Service]\nExecStart=/custom\n"


def test_revert_restores_the_previous_units_bytes_and_mode(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    source = tmp_path / "teleport.service"
    source.write_bytes(SHIPPED)
    layout.unit_file.parent.mkdir(parents=True)
    layout.unit_file.write_bytes(b"[Service]\nExecStart=/old\n")
    layout.unit_file.chmod(0o600)
    revert = copy_unit(source, layout)
    assert layout.unit_file.stat().st_mode & 0o777 == 0o644
    revert()
    assert layout.unit_file.read_bytes() == b"[Service]\nExecStart=/old\n"
    assert layout.unit_file.stat().st_mode & 0o777 == 0o600


def test_the_limit_is_teleport_updates_million_bytes(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    source = tmp_path / "teleport.service"
    source.write_bytes(b"#" * 1_000_001)
    with pytest.raises(ArtifactError, match="over 1 MB"):
        copy_unit(source, layout)
    source.write_bytes(b"#" * 999_999 + b"\n")
    copy_unit(source, layout)
    assert layout.unit_file.stat().st_size == 1_000_000
