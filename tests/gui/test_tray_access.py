"""A desktop user outside the ``shepherd`` group: the real tray program, run as that user
against the real root daemon, shows the agents (reading is anyone's) and says that acting
needs the group or an administrator's password — not that the daemon is not answering."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.daemon import RunningDaemon
from tests.fixtures.users import ensure_user
from tests.gui.tray_process import start_tray_process

pytestmark = pytest.mark.integration

OUTSIDER = "shepherd-outsider"
MEMBER = "shepherd-member"


def becoming(name: str) -> Callable[[], None]:
    account = pwd.getpwnam(name)
    groups = os.getgrouplist(name, account.pw_gid)

    def become() -> None:  # in the child, before exec
        os.setgroups(groups)
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)

    return become


@pytest.fixture
def homes() -> Iterator[Path]:
    """Outside pytest's (root-only) temporary directory, so other users reach their home."""
    top = Path(tempfile.mkdtemp(prefix="shepherd-homes-"))
    top.chmod(0o755)
    try:
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def home_of(name: str, homes: Path) -> Path:
    home = homes / name
    home.mkdir()
    shutil.chown(home, name, pwd.getpwnam(name).pw_gid)
    return home


@pytest.fixture
def reachable_socket(shepherd_daemon: RunningDaemon) -> RunningDaemon:
    ensure_user(OUTSIDER)
    ensure_user(MEMBER, "shepherd")
    shepherd_daemon.host.root.parent.chmod(0o755)  # other users reach the socket beside it
    return shepherd_daemon


def test_outside_the_group_the_tray_shows_the_agents_and_says_actions_need_a_password(
    reachable_socket: RunningDaemon, homes: Path
) -> None:
    tray = start_tray_process(
        reachable_socket.socket, home_of(OUTSIDER, homes), become=becoming(OUTSIDER)
    )
    try:
        line = tray.wait_for_log("default — 17.1.0 · ")
        assert "Read-only for you" in line
        assert "'shepherd' group or an administrator's password" in line
        assert "not answering" not in tray.log_text()
    finally:
        tray.kill()


def test_a_member_of_the_group_is_not_told_it_is_read_only(
    reachable_socket: RunningDaemon, homes: Path
) -> None:
    tray = start_tray_process(
        reachable_socket.socket, home_of(MEMBER, homes), become=becoming(MEMBER)
    )
    try:
        line = tray.wait_for_log("default — 17.1.0 · ")
        assert "Read-only" not in line
    finally:
        tray.kill()
