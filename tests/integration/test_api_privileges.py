"""Who may do what, end to end: a real ``shepherd daemon`` asks a real polkitd (private
system bus, the test's rules) about real users' requests. Every kind of action for every
kind of user, and the attack of issue 12: a ``shepherd`` member pointing the root daemon at
their own CDN, CA, proxy and cluster, or setting secrets, is refused with nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.api.client import ApiClient, ApiError
from tests.fixtures.daemon import RunningDaemon, start_daemon
from tests.fixtures.polkit import (
    API_GROUP,
    MEMBER,
    OUTSIDER,
    PK_ADMIN,
    PK_NO,
    PK_YES,
    PrivatePolkit,
)
from tests.fixtures.sandboxhost import SandboxHost
from tests.fixtures.users import as_user

pytestmark = pytest.mark.integration

READ, OPERATE, HOST_ONLY = "read", "operate", "host-only"
ACTIONS: list[tuple[str, str, str, dict[str, Any] | None]] = [  # level, method, path, body
    (READ, "GET", "/v1/agents", None),
    (READ, "GET", "/v1/settings", None),
    (OPERATE, "POST", "/v1/agents/default/pin", {}),
    (OPERATE, "POST", "/v1/agents/default/unpin", {}),
    (OPERATE, "PATCH", "/v1/settings", {"changes": {"notifications.on_update": "false"}}),
    (OPERATE, "POST", "/v1/agents/default/skip", {"revision": "17.2.1"}),
    (HOST_ONLY, "POST", "/v1/agents/default/disable", {}),
    (HOST_ONLY, "POST", "/v1/agents/default/enable", {}),
    (HOST_ONLY, "POST", "/v1/agents/default/clear-bad", {"version": "17.2.1"}),
    (HOST_ONLY, "POST", "/v1/agents", {"agent": "default"}),
    # refused for those allowed (an installation exists; running without a package)
    (HOST_ONLY, "POST", "/v1/agents/default/install", {}),
    (HOST_ONLY, "POST", "/v1/agents/default/uninstall", {}),
    (HOST_ONLY, "PATCH", "/v1/settings", {"changes": {"canary.order": "default"}}),
    (HOST_ONLY, "PUT", "/v1/secrets/mirror-token", {"value": "t0ken"}),
]
MAY = {  # user: the levels they may use
    "root": {READ, OPERATE, HOST_ONLY},
    MEMBER: {READ, OPERATE},
    OUTSIDER: {READ},
    PK_YES: {READ, OPERATE, HOST_ONLY},
    PK_NO: {READ},
    PK_ADMIN: {READ},  # polkit wants a password, and no agent is there to ask for it
}


def call_as(user: str, socket: Path, method: str, path: str, body: Any) -> dict[str, Any]:
    """The request from a process of ``user``; {"status": ..., "error": {...}}."""

    def work() -> int:
        try:
            ApiClient(socket, timeout=60).request(method, path, body=body)
            print(json.dumps({"status": 200}))
        except ApiError as e:
            print(json.dumps({"status": e.status, "message": e.message, **e.details}))
        return 0

    code, output = as_user(user, work)
    assert code == 0, output
    return dict(json.loads(output.strip().splitlines()[-1]))


@pytest.fixture
def daemon(
    private_polkit: PrivatePolkit, sandbox_host: SandboxHost, cluster: Any
) -> Iterator[RunningDaemon]:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.root.parent.chmod(0o755)
    running = start_daemon(sandbox_host, cluster, group=API_GROUP)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize("user", list(MAY), ids=list(MAY))
def test_every_action_for_every_kind_of_user(daemon: RunningDaemon, user: str) -> None:
    for level, method, path, body in ACTIONS:
        answer = call_as(user, daemon.socket, method, path, body)
        what = f"{user}: {method} {path} ({level})"
        if level in MAY[user]:
            assert answer["status"] != 403, (what, answer)
        else:
            assert answer["status"] == 403, (what, answer)
            assert answer["level"] == level, (what, answer)
            assert f"{method} {path} needs " in answer["message"], answer
            assert "authenticate when asked" in answer["message"], answer


ATTACK = [
    ("PATCH", "/v1/settings", {"changes": {"download.base_url": "https://mirror.evil/"}}),
    ("PATCH", "/v1/settings", {"changes": {"network.ca_bundle": "/home/member/ca.pem"}}),
    ("PATCH", "/v1/settings", {"changes": {"network.http_proxy": "http://evil:3128"}}),
    ("PATCH", "/v1/settings", {"changes": {"agents.default.proxy": "cluster.evil:443"}}),
    (  # one harmless key does not carry a dangerous one through
        "PATCH",
        "/v1/settings",
        {"changes": {"notifications.on_update": "false", "download.base_url": "https://e/"}},
    ),
    ("PUT", "/v1/secrets/proxy-password", {"value": "hunter2"}),
    ("PUT", "/v1/secrets/mirror-token", {"value": "t0ken"}),
    ("DELETE", "/v1/secrets/mirror-token", None),
]


def test_a_member_cannot_point_the_daemon_at_their_own_cdn_ca_proxy_or_cluster(
    daemon: RunningDaemon,
) -> None:
    settings_dir = daemon.host.root / "etc/shepherd"
    before = {p: p.read_bytes() for p in settings_dir.rglob("*") if p.is_file()}
    secrets_before = daemon.api.get("/v1/secrets")
    for method, path, body in ATTACK:
        answer = call_as(MEMBER, daemon.socket, method, path, body)
        assert answer["status"] == 403, (method, path, body, answer)
        assert answer["level"] == HOST_ONLY
        assert "needs an administrator: run `sudo shepherd" in answer["message"]
    after = {p: p.read_bytes() for p in settings_dir.rglob("*") if p.is_file()}
    assert after == before
    assert daemon.api.get("/v1/secrets") == secrets_before
    records = daemon.api.get("/v1/history")["records"]
    assert not [r for r in records if r["event"] in ("settings", "secret")], records
    assert daemon.api.get("/v1/settings")["settings"].get("download.base_url") in (None, "")

    code, output = daemon.cli_as(MEMBER, "settings", "set", "download.base_url=https://e/")
    assert code == 4, output
    assert (
        "needs an administrator: run `sudo shepherd settings set …`, or authenticate when asked"
        in output
    )
