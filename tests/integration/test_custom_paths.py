"""An agent whose update.yaml names a custom link dir (spec.path) and whose agent config names
a custom data_dir: updates link there, copy the unit pointing there, and health reads the
readiness of the agent from its own data dir (PROTOCOL §2-§3)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.install.links import linked_revision
from engine.store.layout import Layout, resolve_layout
from engine.store.update_yaml import load_config, save_config
from engine.update.transaction import Transaction
from engine.versions import Revision
from sandbox.agentbuild import Behaviour
from tests.fixtures.sandboxhost import SandboxHost, readyz_pid

pytestmark = pytest.mark.integration
OLD = Revision.of("17.1.0")
NEW = Revision.of("17.2.1")
LINK_DIR = "/opt/tp/bin"
DATA_DIR = "/srv/tpd"


def add_custom_agent(
    host: SandboxHost, namespace: str, *, spec_path_as_on_a_real_host: bool
) -> Layout:
    """The agent with custom paths, and the layout the engine resolves for it by itself."""
    laid_out = host.add_agent(namespace, link_dir=LINK_DIR, data_dir=DATA_DIR)
    if spec_path_as_on_a_real_host:  # "/opt/tp/bin", not the root-prefixed form
        config = load_config(laid_out.update_yaml)
        assert config is not None
        save_config(laid_out.update_yaml, config.with_spec(path=LINK_DIR))
    resolved = resolve_layout(host.root, namespace)
    assert resolved == laid_out
    assert resolved.link_dir == host.root / LINK_DIR.lstrip("/")
    assert resolved.data_dir == host.root / DATA_DIR.lstrip("/")
    assert len(bytes(resolved.debug_socket)) < 100
    return resolved


CASES = [("default", False), ("blue", True)]


@pytest.mark.parametrize(("namespace", "real_form"), CASES, ids=["root-prefixed", "host-form"])
def test_an_update_links_into_spec_path_and_checks_readiness_in_the_custom_data_dir(
    sandbox_host: SandboxHost, namespace: str, real_form: bool
) -> None:
    layout = add_custom_agent(sandbox_host, namespace, spec_path_as_on_a_real_host=real_form)
    default = Layout(sandbox_host.root, namespace)
    assert layout.debug_socket.is_socket()
    assert not default.default_data_dir.exists()
    sandbox_host.publish("17.2.1")

    ctx = replace(sandbox_host.context(namespace), layout=layout)
    outcome = Transaction(ctx).update(NEW, reason="test")

    assert outcome.ok, outcome.message
    assert outcome.health is not None
    assert outcome.health.reason == "ready"  # readyz answered on <custom data_dir>/debug.sock
    pid = sandbox_host.wait_healthy(layout)
    assert readyz_pid(layout) == pid
    assert sandbox_host.running_version(layout) == "17.2.1"
    assert linked_revision(layout) == "17.2.1"
    assert (layout.link_dir / "teleport").resolve() == (
        layout.version_dir(NEW) / "bin" / "teleport"
    ).resolve()
    assert not default.default_link_dir.exists() or not any(default.default_link_dir.iterdir())
    assert not default.default_data_dir.exists()
    unit = layout.unit_file.read_text()
    assert f"ExecStart={layout.link_dir}/teleport start" in unit
    assert "/usr/local/bin" not in unit
    config = load_config(layout.update_yaml)
    assert config is not None
    assert config.status.active == NEW
    assert config.status.backup == OLD


def test_a_version_never_ready_on_the_custom_debug_socket_is_rolled_back(
    sandbox_host: SandboxHost,
) -> None:
    # Were readiness looked for in the default data dir, the missing socket would skip the
    # check and this version would pass.
    layout = add_custom_agent(sandbox_host, "default", spec_path_as_on_a_real_host=True)
    sandbox_host.publish("17.2.1", Behaviour(never_ready=True))

    ctx = replace(sandbox_host.context("default"), layout=layout)
    outcome = Transaction(ctx).update(NEW, reason="test")

    assert not outcome.ok
    assert "rolled back to 17.1.0" in outcome.message
    pid = sandbox_host.wait_healthy(layout)
    assert readyz_pid(layout) == pid
    assert sandbox_host.running_version(layout) == "17.1.0"
    assert linked_revision(layout) == "17.1.0"
    config = load_config(layout.update_yaml)
    assert config is not None
    assert config.status.active == OLD
    assert config.status.skip == NEW
    assert f"ExecStart={layout.link_dir}/teleport start" in layout.unit_file.read_text()
