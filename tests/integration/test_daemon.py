"""The daemon end to end: a real ``shepherd daemon`` process on a sandbox host (cluster
emulator, nginx CDN, supervisord agents), driven by the real ``shepherd`` CLI and by raw
socket clients."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.api.client import ApiError
from engine.settings.file import SettingsFile
from engine.store.history import History
from engine.store.update_yaml import load_config, save_config
from engine.update.transaction import Transaction
from engine.versions import Revision
from sandbox.agentbuild import Behaviour
from sandbox.ports import wait_until
from tests.fixtures.daemon import RunningDaemon, spawn, start_daemon
from tests.fixtures.sandboxhost import SandboxHost, readyz_pid
from tests.fixtures.users import ensure_user

pytestmark = pytest.mark.integration

API_GROUP = "shepherd-test"
MEMBER = "shepherd-member"
OUTSIDER = "shepherd-outsider"


def running(host: SandboxHost, namespace: str = "default") -> str:
    layout = host.layouts[namespace]
    pid = host.wait_healthy(layout)
    assert readyz_pid(layout) == pid
    return host.running_version(layout)


def raw_request(path: Path, data: bytes, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(body)


def test_status_update_now_and_history_through_the_cli(shepherd_daemon: RunningDaemon) -> None:
    host = shepherd_daemon.host
    status = shepherd_daemon.cli("status")
    assert status.returncode == 0, status.stderr
    assert "default" in status.stdout and "17.1.0" in status.stdout
    assert "not checked yet" in status.stdout

    check = shepherd_daemon.cli("check")
    assert check.returncode == 0, check.stderr
    assert "outside-cluster-window" in check.stdout
    assert running(host) == "17.1.0"

    update = shepherd_daemon.cli("update", "--now")
    assert update.returncode == 0, update.stderr
    assert "update-forced" in update.stdout and "result:     ok" in update.stdout
    assert running(host) == "17.2.1"

    agent = json.loads(shepherd_daemon.cli("status", "default", "--json").stdout)
    assert (agent["active"], agent["backup"]) == ("17.2.1", "17.1.0")
    assert agent["health"]["ready"] is True

    history = json.loads(shepherd_daemon.cli("history", "--json").stdout)
    assert history[0]["event"] == "update" and history[0]["outcome"] == "succeeded"
    assert history[0]["uid"] == os.getuid()
    rows = list(csv.DictReader(io.StringIO(shepherd_daemon.cli("history", "--csv").stdout)))
    assert rows[0]["to_revision"] == "17.2.1"


def test_dry_run_and_explain_change_nothing(shepherd_daemon: RunningDaemon) -> None:
    layout = shepherd_daemon.host.layouts["default"]
    before = layout.update_yaml.read_bytes()
    dry = json.loads(
        shepherd_daemon.cli("update", "default", "--now", "--dry-run", "--json").stdout
    )
    assert dry["decision"]["action"] == "update" and dry["outcome"] is None
    explain = shepherd_daemon.cli("explain", "--agent", "default")
    assert explain.returncode == 0
    assert "outside-cluster-window" in explain.stdout
    assert layout.update_yaml.read_bytes() == before


def test_rollback_pin_and_clear_bad(shepherd_daemon: RunningDaemon) -> None:
    host = shepherd_daemon.host
    assert shepherd_daemon.cli("update", "--now").returncode == 0
    rollback = shepherd_daemon.cli("rollback", "--reason", "TLS errors after 17.2.1")
    assert rollback.returncode == 0, rollback.stderr
    assert running(host) == "17.1.0"
    status = shepherd_daemon.cli("status").stdout
    assert "17.2.1 is remembered as bad (TLS errors after 17.2.1)" in status

    again = json.loads(shepherd_daemon.cli("update", "default", "--now", "--json").stdout)
    assert again["decision"]["reason"] == "target-marked-bad"
    assert running(host) == "17.1.0"

    back_to_bad = shepherd_daemon.cli("rollback")  # the backup is now the bad 17.2.1
    assert back_to_bad.returncode == 1 and "remembered as bad" in back_to_bad.stderr
    assert History(host.layouts["default"].state_dir).query()[0].reason == "backup-marked-bad"
    assert shepherd_daemon.cli("pin").returncode == 0
    config = load_config(host.layouts["default"].update_yaml)
    assert config is not None and config.spec.pinned
    assert shepherd_daemon.cli("clear-bad", "default", "17.2.1").returncode == 0
    pinned = json.loads(shepherd_daemon.cli("update", "default", "--now", "--json").stdout)
    assert pinned["decision"]["reason"] == "pinned"
    assert shepherd_daemon.cli("unpin").returncode == 0
    assert shepherd_daemon.cli("update", "--now").returncode == 0
    assert running(host) == "17.2.1"
    events = [r.event for r in History(host.layouts["default"].state_dir).query()]
    assert events[:6] == ["update", "settings", "clear-bad", "settings", "rollback", "rollback"]


def test_a_failed_update_exits_1_and_says_it_rolled_back(
    shepherd_daemon: RunningDaemon,
) -> None:
    shepherd_daemon.host.publish("17.2.1", Behaviour(crash_at_start=True))
    update = shepherd_daemon.cli("update", "--now")
    assert update.returncode == 1
    assert "rolled back to 17.1.0" in update.stdout
    assert running(shepherd_daemon.host) == "17.1.0"


def test_unknown_agents_and_bad_input_are_clear(shepherd_daemon: RunningDaemon) -> None:
    missing = shepherd_daemon.cli("update", "nosuch", "--now")
    assert missing.returncode == 2
    assert "no managed agent 'nosuch'" in missing.stderr
    bad = shepherd_daemon.cli("clear-bad", "default", "seventeen")
    assert bad.returncode == 2
    assert "'seventeen'" in bad.stderr


def test_hostile_requests_get_4xx_and_others_are_still_served(
    shepherd_daemon: RunningDaemon,
) -> None:
    path = shepherd_daemon.socket
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(str(path))
    slow.sendall(b"GET /v1 HTTP/1.1\r\nHost: x\r\n")  # and then nothing
    try:
        body = b"{not json"
        status, answer = raw_request(
            path,
            b"POST /v1/agents/default/update HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body),
        )
        assert status == 400 and "not valid JSON" in answer["error"]["message"]
        status, answer = raw_request(
            path,
            b"POST /v1/agents/default/update HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 99999999\r\n\r\n",
        )
        assert status == 413
        status, _ = raw_request(path, b"GET /v1/agents/..%2F..%2Fetc HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status in (400, 404)
        status, answer = raw_request(path, b"GET /v1/agents/nosuch HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 404 and "nosuch" in answer["error"]["message"]
        status, _ = raw_request(
            path, b"GET /v1 HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 5000 + b"\r\n"
        )
        assert status == 431
        status, _ = raw_request(path, b"DELETE /v1/history HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 405
        status, answer = raw_request(
            path, b"GET /v1/history?since=yesterday HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        assert status == 400 and "'yesterday'" in answer["error"]["message"]
        status, _ = raw_request(
            path,
            b"POST /v1/agents/default/pin HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Content-Length: 30\r\n\r\n{}",
        )
        assert status == 400
        # the slow client has not finished its request, and others were served meanwhile
        assert shepherd_daemon.api.get("/v1")["agents"] == ["default"]
    finally:
        slow.close()


def test_events_stream_progress_and_the_result_to_a_second_client(
    shepherd_daemon: RunningDaemon,
) -> None:
    seen: list[dict[str, Any]] = []
    done = threading.Event()

    def follow() -> None:
        for event in shepherd_daemon.api.events():
            seen.append(event)
            if event["type"] == "notification":
                done.set()
                return

    listener = threading.Thread(target=follow, daemon=True)
    listener.start()
    wait_until(lambda: shepherd_daemon.api.get("/v1") is not None, 5, "api")
    result = shepherd_daemon.api.post("/v1/agents/default/update", {"now": True})
    assert result["outcome"]["ok"]
    assert done.wait(30)
    kinds = [e["type"] for e in seen]
    assert "progress" in kinds and "notification" in kinds
    progress = [e for e in seen if e["type"] == "progress"]
    assert progress[-1]["bytes_done"] == progress[-1]["bytes_total"] > 0
    assert json.dumps(seen).count("Agent updated") == 1


# ---- who may call -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def api_users() -> Iterator[None]:
    ensure_user(MEMBER, API_GROUP)
    ensure_user(OUTSIDER)
    yield


def test_anyone_may_read_members_may_operate_and_host_only_needs_an_administrator(
    sandbox_host: SandboxHost, api_users: None, cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No polkit (the daemon's system bus does not exist): host-only is root only."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={sandbox_host.root}/no-bus")
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.root.parent.chmod(0o755)
    daemon = start_daemon(sandbox_host, cluster, group=API_GROUP)
    try:
        mode = daemon.socket.stat().st_mode & 0o777
        assert mode == 0o666
        code, output = daemon.cli_as(OUTSIDER, "status")
        assert code == 0, output
        assert "17.1.0" in output

        code, output = daemon.cli_as(OUTSIDER, "pin")
        assert code == 4
        assert f"needs a member of the group {API_GROUP!r} or an administrator" in output
        config = load_config(sandbox_host.layouts["default"].update_yaml)
        assert config is not None and not config.spec.pinned

        code, output = daemon.cli_as(MEMBER, "pin")
        assert code == 0, output
        member_uid = int(
            subprocess.run(["id", "-u", MEMBER], capture_output=True, text=True, check=True).stdout
        )
        record = History(sandbox_host.layouts["default"].state_dir).query()[0]
        assert (record.event, record.uid) == ("settings", member_uid)

        code, output = daemon.cli_as(MEMBER, "disable")
        assert code == 4
        assert "needs an administrator: run `sudo shepherd disable`" in output
        assert "no polkit on this host" in output
    finally:
        daemon.stop()


# ---- lifecycle ----------------------------------------------------------------------------
def test_sigterm_stops_cleanly_and_the_cli_says_the_daemon_is_down(
    shepherd_daemon: RunningDaemon,
) -> None:
    assert shepherd_daemon.stop(signal.SIGTERM) == 0
    assert not shepherd_daemon.socket.exists()
    down = shepherd_daemon.cli("status")
    assert down.returncode == 3
    assert "daemon is not running" in down.stderr


def test_daemon_killed_mid_update_repairs_on_restart(shepherd_daemon: RunningDaemon) -> None:
    host = shepherd_daemon.host
    layout = host.layouts["default"]
    host.publish("17.2.1", Behaviour(ready_after=30))  # health check runs until we kill it
    journal = update_until_health_check(shepherd_daemon)
    shepherd_daemon.process.kill()
    shepherd_daemon.process.wait(10)
    assert journal.exists()

    shepherd_daemon.process = spawn(shepherd_daemon.argv, shepherd_daemon.log)
    wait_until(lambda: not journal.exists(), 60, "the restarted daemon to repair the update")
    assert running(host) == "17.1.0"
    config = load_config(layout.update_yaml)
    assert config is not None and str(config.status.active) == "17.1.0"
    record = History(layout.state_dir).query()[0]
    assert record.reason == "recovered-back"


def update_until_health_check(daemon: RunningDaemon) -> Path:
    """Start 'update now' in the background; return the journal once the agent reloaded."""
    journal = daemon.host.layouts["default"].state_dir / "journal.json"
    request = threading.Thread(
        target=lambda: _ignore_errors(
            lambda: daemon.api.post("/v1/agents/default/update", {"now": True})
        ),
        daemon=True,
    )
    request.start()
    wait_until(
        lambda: journal.exists() and '"reloaded"' in journal.read_text(),
        60,
        "the update to reach its health check",
    )
    return journal


def _ignore_errors(call: Any) -> None:
    try:
        call()
    except (ApiError, OSError, Exception):  # the daemon is killed under this request
        return


def test_agents_add_and_remove(sandbox_host: SandboxHost, cluster: Any) -> None:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    daemon = start_daemon(sandbox_host, cluster)
    try:
        sandbox_host.add_agent("staging", proxy=cluster.proxy_addr)
        listed = daemon.cli("agents", "list").stdout.splitlines()
        assert listed[0] == "default"  # staging appeared after the start: found, not managed
        assert listed[1].startswith("staging: found, not managed;")
        added = daemon.cli("agents", "add", "staging")
        assert added.returncode == 0, added.stderr
        assert "now managing: staging (active 17.1.0)" in added.stdout
        again = daemon.cli("agents", "add", "staging")
        assert "already managed: staging" in again.stdout
        assert daemon.cli("agents", "list").stdout.split() == ["default", "staging"]
        missing = daemon.cli("agents", "add", "nothing-here")
        assert missing.returncode == 1
        assert "cannot adopt agent 'nothing-here'" in missing.stderr
        bad = daemon.cli("agents", "add", "../etc")
        assert bad.returncode == 2 and "invalid agent namespace" in bad.stderr

        removed = daemon.cli("agents", "remove", "default")
        assert removed.returncode == 0
        handed_back = [
            "staging",
            "default: found, not managed; 'shepherd agents add default' adopts it",
        ]
        assert daemon.cli("agents", "list").stdout.splitlines() == handed_back
        assert sandbox_host.layouts["default"].update_yaml.exists()
        daemon.restart()  # the list survives a restart
        assert daemon.cli("agents", "list").stdout.splitlines() == handed_back
    finally:
        daemon.stop()


def test_systemd_readiness_and_json_logs(sandbox_host: SandboxHost, cluster: Any) -> None:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    notify_path = sandbox_host.root.parent / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(notify_path))
        notify.settimeout(30)
        os.environ["NOTIFY_SOCKET"] = str(notify_path)
        try:
            daemon = start_daemon(sandbox_host, cluster, "--log-format", "json")
        finally:
            del os.environ["NOTIFY_SOCKET"]
        try:
            assert notify.recv(4096).startswith(b"READY=1")
            assert daemon.stop() == 0
            assert notify.recv(4096) == b"STOPPING=1"
        finally:
            daemon.stop()
    lines = [json.loads(line) for line in daemon.log_text().splitlines() if line.strip()]
    assert any("serving 1 agent(s)" in line["message"] for line in lines)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)


def test_update_local_runs_one_pass_without_the_daemon(
    sandbox_host: SandboxHost, cluster: Any
) -> None:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    argv = [
        sys.executable, "-m", "engine.cli", "update", "--local", "--now",
        "--root", str(sandbox_host.root),
        "--service", "supervisord",
        "--supervisor-config", str(sandbox_host.supervisor.config_path),
        "--ca-bundle", str(sandbox_host.ca.ca_path),
        "--base-url", sandbox_host.cdn.base_url,
        "--arch", "amd64", "--health-poll", "0.05", "--health-timeout", "5",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert "result:     ok: updated 17.1.0 -> 17.2.1" in done.stdout
    assert "downloading: 100%" in done.stderr
    assert running(sandbox_host) == "17.2.1"

    insecure = subprocess.run(
        [*argv[:-8], "--base-url", "http://mirror.invalid"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert insecure.returncode == 2
    assert "'http://mirror.invalid' must use https://" in insecure.stderr


def test_enable_and_disable(shepherd_daemon: RunningDaemon) -> None:
    disabled = shepherd_daemon.cli("disable")
    assert disabled.returncode == 0 and "updates disabled" in disabled.stdout
    shepherd_daemon.cluster.clear_requests()
    result = json.loads(shepherd_daemon.cli("update", "default", "--now", "--json").stdout)
    assert result["decision"]["reason"] == "disabled"
    assert shepherd_daemon.cluster.requests() == []
    assert "disabled" in shepherd_daemon.cli("status").stdout
    assert shepherd_daemon.cli("enable").returncode == 0
    assert shepherd_daemon.cli("update", "--now").returncode == 0
    assert running(shepherd_daemon.host) == "17.2.1"


def test_sigterm_during_an_update_lets_it_finish(shepherd_daemon: RunningDaemon) -> None:
    host = shepherd_daemon.host
    layout = host.layouts["default"]
    host.publish("17.2.1", Behaviour(ready_after=2))  # the health check takes a while
    journal = update_until_health_check(shepherd_daemon)
    assert shepherd_daemon.stop(signal.SIGTERM) == 0
    assert not journal.exists()
    config = load_config(layout.update_yaml)
    assert config is not None and str(config.status.active) == "17.2.1"
    assert running(host) == "17.2.1"
    assert "waiting up to" in shepherd_daemon.log_text()


def test_pin_during_the_jitter_answers_at_once_and_cancels_the_update(
    shepherd_daemon: RunningDaemon,
) -> None:
    shepherd_daemon.cluster.set_group("default", in_window=True, jitter=600)
    results: list[dict[str, Any]] = []
    checking = threading.Thread(
        target=lambda: results.append(shepherd_daemon.api.post("/v1/agents/default/check")),
        daemon=True,
    )
    checking.start()
    wait_until(
        lambda: "(the cluster's jitter)" in shepherd_daemon.log_text(),
        30,
        "the pass to wait out its jitter",
    )
    assert shepherd_daemon.api.get("/v1/agents/default")["busy"] == "checking"
    pinned = shepherd_daemon.cli("pin")
    assert pinned.returncode == 0, pinned.stderr
    checking.join(60)
    assert results and results[0]["outcome"]["reason"] == "cancelled"
    assert "pinned meanwhile" in results[0]["outcome"]["message"]
    assert running(shepherd_daemon.host) == "17.1.0"


def test_a_second_daemon_refuses_to_start(shepherd_daemon: RunningDaemon) -> None:
    second = subprocess.run(
        shepherd_daemon.argv, capture_output=True, text=True, timeout=60, check=False
    )
    assert second.returncode == 1
    assert "another Shepherd daemon" in second.stderr and "already manages" in second.stderr
    argv = list(shepherd_daemon.argv)
    argv[argv.index("--root") + 1] = str(shepherd_daemon.host.root.parent / "other-root")
    other = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert other.returncode == 1
    assert f"serving on {shepherd_daemon.socket}" in other.stderr
    assert shepherd_daemon.cli("status").returncode == 0  # the first still serves


def test_update_local_names_an_unknown_agent(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "update", "--local", "nosuch", "--root",
         str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "no agent 'nosuch'" in done.stderr


def test_the_poll_loop_wakes_when_the_canary_soak_ends(
    sandbox_host: SandboxHost, cluster: Any
) -> None:
    cluster.set_group("default", in_window=True)
    for namespace in ("staging", "prod"):
        sandbox_host.add_agent(namespace, proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    SettingsFile(sandbox_host.root).update({"canary.order": "staging", "canary.soak": "6s"})
    assert Transaction(sandbox_host.context("staging")).update(Revision.of("17.2.1")).ok
    canary = load_config(sandbox_host.layouts["staging"].update_yaml)
    assert canary is not None and canary.status.last_update is not None
    assert canary.status.last_update.time is not None
    soaked_at = canary.status.last_update.time + timedelta(seconds=6)

    # polls only every hour; the first pass (after 1 s) finds the canary soaking
    daemon = start_daemon(sandbox_host, cluster, "--first-check", "1")
    try:
        prod = sandbox_host.layouts["prod"]

        def prod_updated() -> bool:
            config = load_config(prod.update_yaml)
            return config is not None and str(config.status.active) == "17.2.1"

        wait_until(prod_updated, 60, "the prod agent to follow the canary after its soak")
        config = load_config(prod.update_yaml)
        assert config is not None and config.status.last_update is not None
        assert config.status.last_update.time is not None
        assert config.status.last_update.time >= soaked_at
        assert running(sandbox_host, "prod") == "17.2.1"
    finally:
        daemon.stop()


def test_update_local_one_bad_agent_does_not_stop_the_others(
    sandbox_host: SandboxHost, cluster: Any
) -> None:
    bad = sandbox_host.add_agent("bad", proxy=cluster.proxy_addr, start=False)
    sandbox_host.add_agent("good", proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    config = load_config(bad.update_yaml)
    assert config is not None
    save_config(bad.update_yaml, config.with_spec(group="my group"))
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "update", "--local", "--now",
         "--root", str(sandbox_host.root), "--service", "supervisord",
         "--supervisor-config", str(sandbox_host.supervisor.config_path),
         "--ca-bundle", str(sandbox_host.ca.ca_path), "--base-url", sandbox_host.cdn.base_url,
         "--arch", "amd64", "--health-poll", "0.05", "--health-timeout", "5"],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr  # nothing failed: bad waits
    assert "[bad]" in done.stdout and "'my group'" in done.stdout
    assert "[good]" in done.stdout and "updated 17.1.0 -> 17.2.1" in done.stdout
    assert running(sandbox_host, "good") == "17.2.1"
