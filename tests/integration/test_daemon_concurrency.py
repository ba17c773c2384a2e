"""Many agents updating at once: every update runs at the same time (none waits for a free
worker thread), and the API answers while they all wait in their health checks."""

from __future__ import annotations

import os
import threading
from typing import Any

from engine.api.client import ApiClient
from sandbox.agentbuild import Behaviour
from sandbox.ports import wait_until
from tests.fixtures.daemon import start_daemon
from tests.fixtures.sandboxhost import SandboxHost

# More than asyncio's default pool holds (min(32, cpus + 4)): with it, the last updates
# would wait for the first ones' health checks to end.
AGENTS = (os.cpu_count() or 1) + 6


def test_more_updates_than_the_default_pool_holds_all_wait_in_their_health_checks_at_once(
    sandbox_host: SandboxHost, cluster: Any
) -> None:
    names = [f"agent{n}" for n in range(AGENTS)]
    for name in names:
        sandbox_host.add_agent(name, proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1", Behaviour(ready_after=20))  # health checks take a while
    daemon = start_daemon(sandbox_host, cluster, "--health-timeout", "90")
    answers: dict[str, Any] = {}
    try:

        def update(name: str) -> None:
            answers[name] = ApiClient(daemon.socket).post(
                f"/v1/agents/{name}/update", {"now": True}
            )

        requests = [threading.Thread(target=update, args=(n,), daemon=True) for n in names]
        for request in requests:
            request.start()
        journals = [sandbox_host.layouts[n].state_dir / "journal.json" for n in names]

        def all_in_their_health_check() -> bool:
            texts = [j.read_text() if j.exists() else "" for j in journals]
            return all('"reloaded"' in text for text in texts)

        wait_until(all_in_their_health_check, 120, f"all {AGENTS} updates to reach health checks")
        status = daemon.api.get("/v1/agents")
        assert sorted(a["agent"] for a in status["agents"]) == sorted(names)
        assert all(a["busy"] == "updating" for a in status["agents"])
        for request in requests:
            request.join(180)
        assert sorted(answers) == sorted(names)
        assert all(answer["outcome"]["ok"] for answer in answers.values()), answers
        for name in names:
            assert sandbox_host.running_version(sandbox_host.layouts[name]) == "17.2.1"
    finally:
        daemon.stop()
