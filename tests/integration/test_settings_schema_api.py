"""The settings schema served by a real daemon process (``GET /v1/settings/schema``), and a
refused settings change answered with a structured error that names each key."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

from engine.api.client import ApiClient, ApiError
from engine.settings.schema import OPTIONS
from sandbox.emulator import ClusterEmulator
from tests.fixtures.daemon import RunningDaemon, start_daemon
from tests.fixtures.sandboxhost import SandboxHost

pytestmark = pytest.mark.integration

API_GROUP = "shepherd-test"
MEMBER = "shepherd-member"


@pytest.fixture(scope="module")
def member() -> str:
    """A real user in the daemon's API group (created once, kept: the same user the
    daemon's authorisation tests use)."""
    assert os.getuid() == 0, "this test creates a user: run the suite as root"
    known = subprocess.run(["getent", "group", API_GROUP], capture_output=True, check=False)
    if known.returncode != 0:
        subprocess.run(["groupadd", API_GROUP], check=True)
    if subprocess.run(["id", MEMBER], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", MEMBER], check=True)
    subprocess.run(["usermod", "-a", "-G", API_GROUP, MEMBER], check=True)
    return MEMBER


@pytest.fixture
def daemon(
    sandbox_host: SandboxHost, cluster: ClusterEmulator, member: str
) -> Iterator[RunningDaemon]:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.root.parent.chmod(0o755)  # the member reaches the socket next to the root
    running = start_daemon(sandbox_host, cluster, group=API_GROUP)
    try:
        yield running
    finally:
        running.stop()


def get_as(daemon: RunningDaemon, user: str, path: str) -> Any:
    """``GET path`` from a child process that has become ``user`` (uid, gid, groups), so the
    daemon sees that peer."""
    account = pwd.getpwnam(user)
    groups = os.getgrouplist(user, account.pw_gid)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.close(read_end)
            os.setgroups(groups)
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
            answer = ApiClient(daemon.socket, timeout=60).get(path)
            with open(write_end, "w") as out:  # noqa: PTH123 - an inherited descriptor
                json.dump(answer, out)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as output:
        text = output.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, f"GET {path} as {user} failed"
    return json.loads(text)


def test_root_and_a_group_member_get_the_same_schema_with_labels_and_host_only_marks(
    daemon: RunningDaemon, member: str
) -> None:
    as_root = daemon.api.get("/v1/settings/schema")
    assert get_as(daemon, member, "/v1/settings/schema") == as_root
    assert as_root["schema"] == 2
    assert as_root["secrets"] == [
        "proxy-password",
        "mirror-token",
        "webhook-secret",
        "smtp-password",
    ]
    options = {o["key"]: o for o in as_root["options"]}
    assert list(options) == [o.key for o in OPTIONS]  # declaration order, every option
    assert options["download.base_url"] == {
        "key": "download.base_url",
        "label": "Custom CDN",
        "kind": "url",
        "type": "https URL",
        "default": None,
        "help": options["download.base_url"]["help"],
        "scope": "host",
        "host_only": True,
        "secret": False,
    }
    assert "Teleport's CDN" in options["download.base_url"]["help"]
    assert options["secrets.backend"]["choices"] == ["secret-service", "file"]
    assert options["secrets.backend"]["default"] == "file"
    assert options["canary.soak"]["default"] == "1h"
    assert options["agents.*.windows"]["scope"] == "agent"
    assert options["agents.*.windows"]["default"] == []
    assert options["agents.*.windows"]["host_only"] is False
    assert options["agents.*.proxy"]["host_only"] is True
    assert not any(o["secret"] for o in as_root["options"])

    described = daemon.cli("settings", "describe", "--json")
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout) == as_root  # the CLI shows the same declaration
    text = daemon.cli("settings", "describe").stdout
    assert "download.base_url  (https URL; default (unset); host only)" in text
    assert "    Custom CDN — " in text


def test_a_refused_change_names_each_key_its_label_the_value_and_the_reason(
    daemon: RunningDaemon,
) -> None:
    assert daemon.cli("settings", "set", "canary.soak=2h").returncode == 0
    path = daemon.host.root / "etc/shepherd/settings.toml"
    before = path.read_bytes()
    changes = {
        "canary.soak": "3h",
        "download.base_url": "http://mirror.example",
        "network.http_proxy": "http://alice:hunter2@proxy.example:3128",
        "agents.default.windows": "someday 02:00 1h",
        "no.such.key": "1",
    }
    with pytest.raises(ApiError) as refused:
        daemon.api.request("PATCH", "/v1/settings", body={"changes": changes})
    error = refused.value
    assert error.status == 400
    assert error.errors == [
        {
            "key": "download.base_url",
            "label": "Custom CDN",
            "value": "http://mirror.example",
            "reason": "must use https://",
        },
        {
            "key": "network.http_proxy",
            "label": "HTTP proxy URL",
            "value": "http://***@proxy.example:3128",
            "reason": error.errors[1]["reason"],
        },
        {
            "key": "agents.default.windows",
            "label": "Maintenance windows",
            "value": "someday 02:00 1h",
            "reason": error.errors[2]["reason"],
        },
        {
            "key": "no.such.key",
            "label": "no.such.key",
            "value": "1",
            "reason": error.errors[3]["reason"],
        },
    ]
    assert error.errors[1]["reason"].startswith("must not contain credentials")
    assert "unknown weekday 'someday'" in error.errors[2]["reason"]
    assert "unknown setting 'no.such.key'" in error.errors[3]["reason"]
    assert error.message.startswith(
        "invalid value for download.base_url: 'http://mirror.example' must use https://; "
    )
    assert "hunter2" not in json.dumps(error.details) + error.message
    assert path.read_bytes() == before  # all or nothing: 3h was not written either

    with pytest.raises(ApiError) as typed:  # a JSON number where a string is expected
        daemon.api.request("PATCH", "/v1/settings", body={"changes": {"canary.soak": 7200}})
    assert typed.value.status == 400
    assert typed.value.errors == [
        {
            "key": "canary.soak",
            "label": "Canary soak time",
            "value": "7200",
            "reason": "must be a string (as on the command line) or null for the default",
        }
    ]
    assert path.read_bytes() == before

    cli = daemon.cli("settings", "set", "download.base_url=http://mirror.example")
    assert cli.returncode == 2
    assert cli.stderr == (
        "shepherd: error: invalid value for download.base_url: 'http://mirror.example' "
        "must use https://\n"
    )  # the sentence the CLI always printed
    with pytest.raises(ApiError) as other:  # any other 400 carries no settings errors
        daemon.api.get("/v1/history", {"limit": "nope"})
    assert other.value.status == 400 and other.value.errors == []
