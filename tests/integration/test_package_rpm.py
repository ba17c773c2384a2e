"""dnf and zypper against the signed rpm repository: update, signature refusal, rollback,
the version lock, and the package manager's lock held by someone else.

They run with ``--installroot`` / ``--root`` in a fresh directory: the packages are really
installed into that root's rpm database, but the agent's service is not started there. The
service side through the daemon (restart, health check, automatic rollback) runs on the
booted systemd host with Debian's rpm, dnf and zypper: tests/systemd/test_package_rpm_agent.py.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import PackageManagerBusy, RepositoryRefused, VersionUnavailable
from engine.packages import DnfBackend, ExactInstaller, PackageRepo, Runner, ZypperBackend
from engine.packages.dnf import rpm_lock_file
from tests.fixtures.packages import PackageRepos

pytestmark = pytest.mark.integration

PACKAGE = "teleport-ent"
BACKENDS = {"dnf": DnfBackend, "zypper": ZypperBackend}


def _backend(
    kind: str, repos: PackageRepos, root: Path, flavour: str = "trusted"
) -> ExactInstaller:
    repo = PackageRepo(
        "teleport", repos.rpm_url(flavour), repos.trusted_key.public_asc, ca_bundle=repos.ca
    )
    backend = BACKENDS[kind](repo, Runner(root=root, timeout=180), lock_wait=3)
    backend.configure()
    return backend


def _version(backend: ExactInstaller) -> str | None:
    state = backend.installed(PACKAGE)
    return state.version if state else None


@pytest.mark.parametrize("kind", BACKENDS)
def test_installs_the_exact_version_and_keeps_it_locked(
    kind: str, package_repos: PackageRepos, tmp_path: Path
) -> None:
    backend = _backend(kind, package_repos, tmp_path)
    assert backend.offered(PACKAGE) == ["17.2.1", "17.3.0", "17.4.0", "17.4.1"]

    backend.install_exact(PACKAGE, "17.2.1")
    assert _version(backend) == "17.2.1"
    assert backend.is_locked(PACKAGE)
    assert (tmp_path / "usr/local/bin/teleport").read_text().count("17.2.1") >= 1

    backend.install_exact(PACKAGE, "17.3.0")  # the update
    assert _version(backend) == "17.3.0"
    assert backend.is_locked(PACKAGE)

    backend.release(PACKAGE)  # hand-back
    assert not backend.is_locked(PACKAGE)
    assert _version(backend) == "17.3.0"


@pytest.mark.parametrize("kind", BACKENDS)
def test_rollback_installs_the_previous_version_from_the_repository(
    kind: str, package_repos: PackageRepos, tmp_path: Path
) -> None:
    backend = _backend(kind, package_repos, tmp_path)
    backend.install_exact(PACKAGE, "17.3.0")
    backend.install_exact(PACKAGE, "17.2.1")  # downgrade = rollback
    assert _version(backend) == "17.2.1"
    assert backend.is_locked(PACKAGE)


@pytest.mark.parametrize("flavour", ["unsigned", "other-key", "expired-key"])
@pytest.mark.parametrize("kind", BACKENDS)
def test_refuses_a_repository_not_signed_by_the_trusted_key_and_changes_nothing(
    kind: str, flavour: str, package_repos: PackageRepos, tmp_path: Path
) -> None:
    _backend(kind, package_repos, tmp_path).install_exact(PACKAGE, "17.2.1")
    backend = _backend(kind, package_repos, tmp_path, flavour)

    with pytest.raises(RepositoryRefused) as refused:
        backend.install_exact(PACKAGE, "17.3.0")

    message = str(refused.value)
    assert package_repos.rpm_url(flavour) in message
    assert package_repos.trusted_key.fingerprint in message
    assert _version(backend) == "17.2.1"
    assert backend.is_locked(PACKAGE)


@pytest.mark.parametrize("kind", BACKENDS)
def test_refuses_a_version_the_repository_does_not_offer(
    kind: str, package_repos: PackageRepos, tmp_path: Path
) -> None:
    backend = _backend(kind, package_repos, tmp_path)
    backend.install_exact(PACKAGE, "17.2.1")
    with pytest.raises(VersionUnavailable, match=r"does not offer teleport-ent 17\.9\.9"):
        backend.install_exact(PACKAGE, "17.9.9")
    assert _version(backend) == "17.2.1"


@contextlib.contextmanager
def _holding(path: Path, take: str, release: str = "") -> Iterator[subprocess.Popen[str]]:
    """Another process holding a package manager's lock on ``path`` (``take``: Python, with
    ``p`` the path) until its stdin closes, then doing ``release``; yielded once it holds."""
    code = f"import fcntl,os,sys; p=sys.argv[1]; {take}; print('held', flush=True); "
    code += f"sys.stdin.read(); {release}"
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        if not holder.stdin.closed:
            holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()


def test_waits_for_the_rpm_lock_then_names_its_holder(
    package_repos: PackageRepos, tmp_path: Path
) -> None:
    backend = _backend("dnf", package_repos, tmp_path)
    backend.install_exact(PACKAGE, "17.2.1")
    lock_file = backend.runner.host_path(rpm_lock_file(backend))
    assert lock_file.exists()
    # another process holding rpm's fcntl lock, like a running rpm
    with _holding(lock_file, "f=open(p,'a'); fcntl.lockf(f, fcntl.LOCK_EX)") as holder:
        with pytest.raises(PackageManagerBusy, match=rf"held by process {holder.pid} \(python"):
            backend.install_exact(PACKAGE, "17.3.0")
        assert _version(backend) == "17.2.1"
    backend.install_exact(PACKAGE, "17.3.0")
    assert _version(backend) == "17.3.0"


def test_zypper_waits_for_zypps_lock_taken_after_the_check(
    package_repos: PackageRepos, tmp_path: Path
) -> None:
    """Another zypper (here: a process whose PID is in zypp's lock file, as zypper leaves
    it) may take the lock between Shepherd's check and its command: zypper then waits for
    it (``ZYPP_LOCK_TIMEOUT``) instead of failing at once with "System management is
    locked", which lost the lock of the version (the booted host's test saw it)."""
    backend = _backend("zypper", package_repos, tmp_path)
    backend.install_exact(PACKAGE, "17.2.1")
    pid_file = backend.runner.host_path("run/zypp.pid")
    # zypp's lock as zypper leaves it: its PID in the file, removed when it is done
    take, release = "open(p,'w').write(str(os.getpid()))", "os.unlink(p)"
    with _holding(pid_file, take, release) as holder:
        assert holder.stdin is not None
        releaser = threading.Timer(2.0, holder.stdin.close)  # the other zypper finishes later
        releaser.start()
        try:
            backend.lock(PACKAGE)  # straight to zypper, as after the check
        finally:
            releaser.cancel()
        assert backend.is_locked(PACKAGE)
