"""Crash safety: the updater is killed with SIGKILL at every journal step (and in the middle of
a download) in a real child process; the next run must leave a healthy, consistent agent.

The child rebuilds the test's UpdateContext from ``SandboxHost.context_spec()`` and kills
itself from the ``step_hook`` right after the chosen journal write. The host is then
repaired in the test process by ``Transaction.recover()`` (what the daemon does first on
every pass) or by the next ``update`` (which recovers first), against the same real
supervisord, nginx CDN and testbed agents.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import httpx
import pytest

from engine.fsutil import safe_rmtree
from engine.install import revisions as install
from engine.install.links import linked_revision
from engine.service.health import HealthCheck, read_pid
from engine.service.supervisor import Supervisord
from engine.store.history import History
from engine.store.journal import Step
from engine.store.layout import Layout
from engine.store.update_yaml import load_config
from engine.update.outcome import UpdateContext
from engine.update.transaction import Transaction
from engine.versions import Revision
from sandbox.agentbuild import build_artifact
from sandbox.cdn import Cdn
from sandbox.certs import CertPair
from sandbox.ports import wait_until
from tests.fixtures.sandboxhost import FAST_HEALTH, SandboxHost, readyz_pid

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
OLD = Revision.of("17.1.0")
NEW = Revision.of("17.2.1")
ARTIFACT = "teleport-v17.2.1-linux-amd64-bin.tar.gz"
CHILD_EXIT_UNREACHED = 3


# ---- the child: one update that dies at a chosen step ----------------------------------
def context_from_spec(spec_json: str, base_url: str | None = None) -> UpdateContext:
    spec = json.loads(spec_json)
    return UpdateContext(
        layout=Layout(Path(spec["root"]), spec["namespace"]),
        service=Supervisord(Path(spec["supervisor"])),
        health=HealthCheck(FAST_HEALTH),
        client=httpx.Client(verify=ssl.create_default_context(cafile=spec["ca"])),
        base_url=base_url or spec["base_url"],
        arch="amd64",
        lock_timeout=10,
    )


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def child_main(argv: list[str]) -> int:
    """argv: context spec JSON, target version, where to die (or "-"), base URL (or "-").

    Where to die: a journal step; ``extracted`` (the target is unpacked into its temporary
    dir, the marker not yet written); ``removing-<dir>`` (that version dir has lost its
    ``sha256`` marker and is about to be deleted).
    """
    spec, target, die_at, base_url = argv

    def hook(step: Step) -> None:
        if step == die_at:
            die()

    if die_at == "extracted":
        extract = install._extract

        def extract_then_die(archive: Path, temp: Path, wanted: dict[str, int]) -> None:
            extract(archive, temp, wanted)
            die()

        mock.patch.object(install, "_extract", extract_then_die).start()
    elif die_at.startswith("removing-"):

        def die_before_removing(path: Path, *, must_be_under: Path) -> None:
            if path.name == die_at.removeprefix("removing-"):
                die()
            safe_rmtree(path, must_be_under=must_be_under)

        mock.patch.object(install, "safe_rmtree", die_before_removing).start()
    ctx = context_from_spec(spec, None if base_url == "-" else base_url)
    ctx.step_hook = hook
    outcome = Transaction(ctx).update(Revision.of(target))
    print(f"the update ended without being killed: {outcome}", file=sys.stderr)
    return CHILD_EXIT_UNREACHED


@contextmanager
def updater_child(
    host: SandboxHost, die_at: str | None, base_url: str | None = None
) -> Iterator[subprocess.Popen[str]]:
    """A child updater process; killed and reaped on the way out whatever happens."""
    code = "import sys; from tests.integration.test_crash_safety import child_main; "
    code += "sys.exit(child_main(sys.argv[1:]))"
    child = subprocess.Popen(
        [sys.executable, "-c", code, host.context_spec(), str(NEW), die_at or "-", base_url or "-"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)


def wait_killed(child: subprocess.Popen[str], timeout: float = 120) -> None:
    try:
        _, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the updater child did not die within {timeout:.0f} s")
    assert child.returncode == -signal.SIGKILL, f"child exited {child.returncode}: {stderr}"


# ---- what "consistent with a healthy agent" means ---------------------------------------
def worker_started_at(pid: int) -> float:
    """When ``pid`` started, in seconds since boot (the clock of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def link_changed_at(layout: Layout) -> float:
    """When the ``teleport`` link was last replaced, on the same since-boot clock."""
    boot_offset = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    return os.lstat(layout.link_dir / "teleport").st_mtime - boot_offset


def assert_consistent(host: SandboxHost, layout: Layout, expected: Revision) -> int:
    """The host is settled on ``expected`` with a healthy agent running it; returns its PID."""
    assert not (layout.state_dir / "journal.json").exists(), "a journal was left behind"
    config = load_config(layout.update_yaml)
    assert config is not None
    assert config.status.active == expected
    assert config.status.skip is None, "a crash of the updater must not mark a version bad"
    assert linked_revision(layout) == expected.dir_name
    pid = host.wait_healthy(layout)
    assert readyz_pid(layout) == pid
    assert host.supervisor.state(layout.unit_name) == "RUNNING"
    assert host.running_version(layout) == str(expected.version)
    # The agent answering is a process started from the current links, not a leftover.
    assert worker_started_at(pid) >= link_changed_at(layout) - 0.05
    for child in layout.versions_dir.iterdir():
        assert (child / "sha256").is_file(), f"half-installed or half-removed version {child}"
    downloads = layout.state_dir / "downloads"
    assert not downloads.exists() or not any(downloads.iterdir()), "download leftovers"
    return pid


# ---- kill -9 at every journal step -------------------------------------------------------
FORWARD = {Step.VERIFIED}


@pytest.mark.parametrize("repair", ["recover", "next update"])
@pytest.mark.parametrize("step", list(Step), ids=[s.value for s in Step])
def test_a_kill_at_any_step_is_repaired(sandbox_host: SandboxHost, step: Step, repair: str) -> None:
    layout = sandbox_host.add_agent()
    pid_before = sandbox_host.wait_healthy(layout)
    sandbox_host.publish(str(NEW.version))
    with updater_child(sandbox_host, step) as child:
        wait_killed(child)
    journal = json.loads((layout.state_dir / "journal.json").read_text())
    assert journal["step"] == step.value

    transaction = Transaction(sandbox_host.context())
    if repair == "recover":
        outcome = transaction.recover()
        assert outcome is not None
        forward = step in FORWARD
        assert outcome.reason == ("recovered-forward" if forward else "recovered-back")
        expected = NEW if forward else OLD
        pid = assert_consistent(sandbox_host, layout, expected)
        if step in (Step.BEGIN, Step.INSTALLED):
            assert pid == pid_before, "nothing had been switched: the agent must not restart"
        if step in (Step.SWITCHED, Step.RELOADED):
            # The restored version was reloaded and checked before recover() returned.
            assert outcome.health is not None and outcome.health.ok, outcome.message
        config = load_config(layout.update_yaml)
        assert config is not None
        if forward:
            assert config.status.backup == OLD
        record = History(layout.state_dir).query()[0]
        assert (record.reason, record.to_revision) == (outcome.reason, str(NEW))
        assert transaction.recover() is None, "a second recovery must find nothing to do"
    else:
        outcome = transaction.update(NEW)
        assert_consistent(sandbox_host, layout, NEW)
        records = History(layout.state_dir).query()
        if step in FORWARD:  # the repair finished the update: nothing is left to do
            assert outcome.cancelled and "already active" in outcome.message
            assert records[0].outcome == "cancelled"
        else:
            assert outcome.ok, outcome.message
            assert records[0].outcome == "succeeded"
        assert records[1].reason in ("recovered-forward", "recovered-back")


# ---- kill -9 in the middle of a download --------------------------------------------------
def test_a_kill_during_the_download_is_resumed(
    sandbox_host: SandboxHost, server_cert: CertPair, tmp_path: Path
) -> None:
    layout = sandbox_host.add_agent()
    pid_before = sandbox_host.wait_healthy(layout)
    size = 24 << 20
    sandbox_host.publish(str(NEW.version), padding_bytes=size)
    part = layout.state_dir / "downloads" / f"{ARTIFACT}.part"
    # The same files behind a second nginx limited to 4 MB/s: the download takes seconds, so
    # the kill lands in the middle of it.
    with (
        Cdn(sandbox_host.cdn.root, server_cert, workdir=tmp_path / "slow", rate_limit="4m") as slow,
        updater_child(sandbox_host, None, base_url=slow.base_url) as child,
    ):
        wait_until(
            lambda: (part.exists() and part.stat().st_size >= 2 << 20) or child.poll() is not None,
            60,
            "the download to be under way",
        )
        assert child.poll() is None, "the child ended before the download got under way"
        child.send_signal(signal.SIGKILL)
        wait_killed(child)
    kept = part.stat().st_size
    total = (sandbox_host.cdn.root / ARTIFACT).stat().st_size
    assert 0 < kept < total
    # The agent never noticed.
    assert read_pid(layout.pid_file) == pid_before
    assert linked_revision(layout) == OLD.dir_name

    outcome = Transaction(sandbox_host.context()).update(NEW)
    assert outcome.ok, outcome.message
    assert_consistent(sandbox_host, layout, NEW)
    artifact_requests = [
        line for line in sandbox_host.cdn.access_log_lines() if f"/{ARTIFACT} " in line
    ]
    assert len(artifact_requests) == 1, artifact_requests
    request = artifact_requests[0].split()
    # '<method> <path> <proto> <status> <bytes sent> "<range>"'
    assert request[3] == "206" and request[5] == f'"bytes={kept}-"', request
    assert int(request[4]) < total - kept + 4096, "the resumed download fetched more than the rest"


# ---- kill -9 half-way through writing or deleting a version dir ---------------------------
def test_a_kill_during_extraction_leaves_no_half_version(sandbox_host: SandboxHost) -> None:
    layout = sandbox_host.add_agent()
    pid_before = sandbox_host.wait_healthy(layout)
    sandbox_host.publish(str(NEW.version))
    with updater_child(sandbox_host, "extracted") as child:
        wait_killed(child)
    assert any(
        p.name.startswith(f".{NEW.dir_name}.partial-") for p in layout.versions_dir.iterdir()
    )
    outcome = Transaction(sandbox_host.context()).recover()
    assert outcome is not None and outcome.reason == "recovered-back"
    assert assert_consistent(sandbox_host, layout, OLD) == pid_before
    # the backup is kept until an update has passed its health check
    assert sorted(p.name for p in layout.versions_dir.iterdir()) == ["17.0.5", "17.1.0"]


def test_a_kill_while_cleaning_up_leaves_no_half_version(
    sandbox_host: SandboxHost, tmp_path: Path
) -> None:
    layout = sandbox_host.add_agent()
    # A complete 17.2.0 left by an earlier attempt goes before the install; the old backup
    # 17.0.5, the oldest, only once 17.2.1 has passed its health check: killed then.
    stale = build_artifact(tmp_path / "stale", "17.2.0")
    install.install_revision(stale.path, stale.sha256, layout.versions_dir, Revision.of("17.2.0"))
    sandbox_host.publish(str(NEW.version))
    with updater_child(sandbox_host, "removing-17.0.5") as child:
        wait_killed(child)
    assert not (layout.versions_dir / "17.2.0").exists()
    assert not (layout.versions_dir / "17.0.5" / "sha256").exists()
    # The update was committed and its journal cleared before the clean-up: nothing to
    # finish, but the half-deleted dir must still go.
    assert Transaction(sandbox_host.context()).recover() is None
    assert_consistent(sandbox_host, layout, NEW)
    assert sorted(p.name for p in layout.versions_dir.iterdir()) == ["17.1.0", "17.2.1"]
