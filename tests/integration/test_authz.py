"""Who may do what, decided against a real polkitd (private bus, the test's rules) for real
users: every level for every kind of user."""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Iterator

import pytest

from engine.daemon.authz import Authorizer, Level, Polkit
from engine.daemon.http import PeerCred
from tests.fixtures.polkit import (
    API_GROUP,
    MEMBER,
    OUTSIDER,
    PK_ADMIN,
    PK_NO,
    PK_YES,
    PrivatePolkit,
)
from tests.fixtures.users import uid_of

pytestmark = pytest.mark.integration


@pytest.fixture
def process_of(test_users: None) -> Iterator[object]:
    """A live process of a user (a real pid and start time for polkit to check)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(user: str) -> PeerCred:
        if user == "root":
            process = subprocess.Popen(["sleep", "120"])
        else:
            groups = os.getgrouplist(user, _gid(user))
            process = subprocess.Popen(["sleep", "120"], user=user, group=_gid(user),
                                       extra_groups=groups)  # fmt: skip
        started.append(process)
        return PeerCred(process.pid, uid_of(user), _gid(user))

    yield start
    for process in started:
        process.kill()
        process.wait()


def _gid(user: str) -> int:
    return pwd.getpwnam(user).pw_gid


EXPECTED = {  # user: (read, operate, host-only)
    "root": (True, True, True),
    MEMBER: (True, True, False),
    OUTSIDER: (True, False, False),
    PK_YES: (True, True, True),
    PK_NO: (True, False, False),
    PK_ADMIN: (True, False, False),
}


@pytest.mark.parametrize("user", list(EXPECTED), ids=list(EXPECTED))
def test_every_level_for_every_kind_of_user(
    private_polkit: PrivatePolkit, process_of: object, user: str
) -> None:
    peer = process_of(user)  # type: ignore[operator]
    authz = Authorizer(API_GROUP, Polkit(timeout=30), privileged=frozenset({0}))
    verdicts = [authz.decide(peer, level, "settings set …") for level in Level]
    assert tuple(v.allowed for v in verdicts) == EXPECTED[user], verdicts
    host_only = verdicts[2]
    if not host_only.allowed:
        assert host_only.sentence.startswith(
            "needs an administrator: run `sudo shepherd settings set …`, or authenticate when asked"
        ), host_only.sentence


def test_a_member_operates_by_group_but_host_only_needs_more(
    private_polkit: PrivatePolkit, process_of: object
) -> None:
    peer = process_of(MEMBER)  # type: ignore[operator]
    authz = Authorizer(API_GROUP, Polkit(timeout=30), privileged=frozenset({0}))
    assert authz.decide(peer, Level.OPERATE).by == "group"
    refused = authz.decide(peer, Level.HOST_ONLY, "secret set …")
    assert not refused.allowed and refused.level is Level.HOST_ONLY
    # the shipped default is auth_admin_keep: polkit would ask for a password
    assert "no password was given" in refused.sentence


def test_without_polkit_host_only_is_root_only(process_of: object, tmp_path: object) -> None:
    authz = Authorizer(API_GROUP, Polkit(timeout=5), privileged=frozenset({0}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
        for user, operate in ((PK_YES, False), (MEMBER, True), ("root", True)):
            peer = process_of(user)  # type: ignore[operator]
            assert authz.decide(peer, Level.OPERATE).allowed is operate, user
            verdict = authz.decide(peer, Level.HOST_ONLY, "agents add …")
            assert verdict.allowed is (user == "root"), user
            if user != "root":
                assert "no polkit on this host" in verdict.sentence
