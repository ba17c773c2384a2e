"""apt against the signed apt repository, in a real Debian root (chroot; dpkg database,
apt, gpgv): update, refusal of an unsigned / wrong-key / expired-key repository, rollback,
the hold kept between updates and released on hand-back, the dpkg lock held by another
process, and an install interrupted in its maintainer script, repaired on the next run.

The root is not booted, so the agent's service is not started here (``test_package_pass``
runs the installed agent under supervisord for the health check and the rollback).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import PackageError, PackageManagerBusy, RepositoryRefused, VersionUnavailable
from engine.packages import AptBackend, PackageRepo, Runner
from tests.fixtures.packages import PackageRepos

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]  # first run: debootstrap

PACKAGE = "teleport"
HOOK = "etc/teleport-sandbox/postinst"


def _apt(repos: PackageRepos, root: Path, flavour: str = "trusted") -> AptBackend:
    repo = PackageRepo(
        "teleport", repos.apt_url(flavour), repos.trusted_key.public_gpg, ca_bundle=repos.ca
    )
    backend = AptBackend(repo, Runner(root=root, chroot=True, timeout=300), lock_wait=3)
    backend.configure()
    return backend


def _version(backend: AptBackend) -> str | None:
    state = backend.installed(PACKAGE)
    return state.version if state else None


def _hook(root: Path, script: str) -> None:
    path = root / HOOK
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_update_holds_the_version_and_hand_back_releases_it(
    package_repos: PackageRepos, apt_root: Path
) -> None:
    apt = _apt(package_repos, apt_root)
    source = (apt_root / apt.source_file).read_text()
    assert "[signed-by=/etc/shepherd/keys/shepherd-teleport.gpg]" in source

    apt.install_exact(PACKAGE, "17.2.1")
    assert _version(apt) == "17.2.1"
    assert apt.is_locked(PACKAGE)

    apt.install_exact(PACKAGE, "17.3.0")
    assert _version(apt) == "17.3.0"
    assert apt.is_locked(PACKAGE)
    assert "17.3.0" in (apt_root / "usr/local/bin/teleport").read_text()
    assert (apt_root / "lib/systemd/system/teleport.service").is_file()
    needrestart = apt_root / "etc/needrestart/conf.d/50-shepherd-teleport.conf"
    assert "override_rc" in needrestart.read_text()

    apt.release(PACKAGE)
    assert not apt.is_locked(PACKAGE)


def test_the_hold_keeps_the_hosts_own_upgrade_away(
    package_repos: PackageRepos, apt_root: Path
) -> None:
    apt = _apt(package_repos, apt_root)
    apt.install_exact(PACKAGE, "17.2.1")
    apt.runner.run(["apt-get", "upgrade", "--yes", *apt._options()])  # unattended-upgrades' part
    assert _version(apt) == "17.2.1"


def test_rollback_installs_the_previous_version_from_the_repository(
    package_repos: PackageRepos, apt_root: Path
) -> None:
    apt = _apt(package_repos, apt_root)
    apt.install_exact(PACKAGE, "17.3.0")
    apt.install_exact(PACKAGE, "17.2.1")
    assert _version(apt) == "17.2.1"
    assert apt.is_locked(PACKAGE)


@pytest.mark.parametrize("flavour", ["unsigned", "other-key", "expired-key"])
def test_refuses_a_repository_not_signed_by_the_trusted_key_and_changes_nothing(
    flavour: str, package_repos: PackageRepos, apt_root: Path
) -> None:
    _apt(package_repos, apt_root).install_exact(PACKAGE, "17.2.1")
    apt = _apt(package_repos, apt_root, flavour)

    with pytest.raises(RepositoryRefused) as refused:
        apt.install_exact(PACKAGE, "17.3.0")

    assert package_repos.apt_url(flavour) in str(refused.value)
    assert package_repos.trusted_key.fingerprint in str(refused.value)
    assert _version(apt) == "17.2.1"
    assert apt.is_locked(PACKAGE)


def test_refuses_a_version_the_repository_does_not_offer(
    package_repos: PackageRepos, apt_root: Path
) -> None:
    apt = _apt(package_repos, apt_root)
    apt.install_exact(PACKAGE, "17.2.1")
    with pytest.raises(VersionUnavailable, match=r"offers 17\.4\.1, 17\.4\.0, 17\.3\.0, 17\.2\.1"):
        apt.install_exact(PACKAGE, "17.9.9")
    assert _version(apt) == "17.2.1"


def test_waits_for_the_dpkg_lock_then_names_its_holder(
    package_repos: PackageRepos, apt_root: Path
) -> None:
    apt = _apt(package_repos, apt_root)
    apt.install_exact(PACKAGE, "17.2.1")
    code = (
        "import fcntl,sys; f=open(sys.argv[1],'a'); fcntl.lockf(f, fcntl.LOCK_EX); "
        "print('held', flush=True); sys.stdin.read()"
    )
    lock_file = str(apt_root / "var/lib/dpkg/lock-frontend")
    with subprocess.Popen(
        [sys.executable, "-c", code, lock_file],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(PackageManagerBusy, match=rf"held by process {holder.pid} \(python"):
            apt.install_exact(PACKAGE, "17.3.0")
        holder.stdin.close()
    assert _version(apt) == "17.2.1"
    apt.install_exact(PACKAGE, "17.3.0")
    assert _version(apt) == "17.3.0"


def test_a_failing_maintainer_script_is_reported_and_repaired_on_the_next_run(
    package_repos: PackageRepos, apt_root: Path
) -> None:
    apt = _apt(package_repos, apt_root)
    apt.install_exact(PACKAGE, "17.2.1")
    _hook(apt_root, "echo 'postinst: disk on fire' >&2\nexit 1\n")

    with pytest.raises(PackageError, match="disk on fire"):
        apt.install_exact(PACKAGE, "17.3.0")
    state = apt.installed(PACKAGE)
    assert state is not None and not state.configured and state.status == "half-configured"
    assert apt.is_locked(PACKAGE)

    (apt_root / HOOK).unlink()  # the cause is fixed; the next run finishes the install
    assert apt.repair() == ["dpkg --configure --pending finished an interrupted install"]
    state = apt.installed(PACKAGE)
    assert state is not None and state.configured and state.version == "17.3.0"


def test_kill_9_mid_install_leaves_a_root_the_next_run_repairs(
    package_repos: PackageRepos, apt_root: Path, tmp_path: Path
) -> None:
    apt = _apt(package_repos, apt_root)
    apt.install_exact(PACKAGE, "17.2.1")
    apt.release(PACKAGE)
    started = apt_root / "tmp/postinst-started"
    _hook(apt_root, f"touch /{started.relative_to(apt_root)}\nwhile :; do sleep 1; done\n")
    argv = [
        "chroot",
        str(apt_root),
        "apt-get",
        "install",
        "--yes",
        *apt._options(),
        f"{PACKAGE}=17.3.0",
    ]
    with subprocess.Popen(
        argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as install:
        _wait_for(started.exists, 120, "the postinst to start")
        os.killpg(install.pid, signal.SIGKILL)  # apt, dpkg and the script, like a power cut
        install.wait(timeout=30)
    (apt_root / HOOK).unlink()

    state = apt.installed(PACKAGE)
    assert state is not None and not state.configured
    apt.install_exact(PACKAGE, "17.3.0")  # the next run repairs first, then goes on
    assert _version(apt) == "17.3.0"
    assert apt.installed(PACKAGE) is not None and apt.is_locked(PACKAGE)


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
