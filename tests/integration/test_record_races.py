"""An admin's operation on an agent's records while an update or a rollback of that agent is
running (real transaction, real agent under supervisord, real files): the operation waits
for the agent's lock and then reads the records afresh, so it never writes back what the
transaction changed meanwhile."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine.store.agent_record import load_agent_record
from engine.store.journal import Step
from engine.store.layout import Layout
from engine.store.update_yaml import load_config
from engine.update.host import HostConfig
from engine.update.operations import AgentOperations
from engine.update.outcome import Outcome
from engine.update.transaction import Transaction
from engine.versions import Revision, Version
from sandbox.ports import wait_until
from tests.fixtures.sandboxhost import SandboxHost

pytestmark = pytest.mark.integration

NEW = Revision.of("17.2.1")


def operations(host: SandboxHost) -> AgentOperations:
    return AgentOperations(
        HostConfig(
            root=host.root,
            service="supervisord",
            supervisor_config=host.supervisor.config_path,
            lock_timeout=60,
        )
    )


def lock_file_opens(layout: Layout) -> int:
    """How many descriptors of this process have the agent's lock file open."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            if Path(os.readlink(fd)) == layout.lock_file:
                count += 1
        except OSError:
            continue
    return count


@contextmanager
def held_at(
    host: SandboxHost, step: Step, run: Callable[[Transaction], Outcome]
) -> Iterator[list[Outcome]]:
    """Run a real transaction in a thread and hold it at ``step`` (lock taken, records not
    yet written) until the ``with`` block ends; the outcome is in the yielded list."""
    reached, release = threading.Event(), threading.Event()

    def hook(at: Step) -> None:
        if at == step:
            reached.set()
            release.wait(120)

    ctx = host.context(step_hook=hook)
    outcomes: list[Outcome] = []
    worker = threading.Thread(target=lambda: outcomes.append(run(Transaction(ctx))))
    worker.start()
    try:
        assert reached.wait(120), f"the transaction never reached {step}"
        yield outcomes
    finally:
        release.set()
        worker.join(120)
    assert outcomes, "the transaction did not finish"


def clear_bad_meanwhile(host: SandboxHost, layout: Layout, version: str) -> list[object]:
    """Start a clear-bad in a thread; return once it is waiting for the agent's lock."""
    results: list[object] = []
    before = lock_file_opens(layout)
    thread = threading.Thread(
        target=lambda: results.append(
            operations(host).clear_bad(layout.namespace, version, uid=0, who="test")
        ),
        daemon=True,
    )
    thread.start()
    wait_until(
        lambda: lock_file_opens(layout) > before, 30, "the clear-bad to wait for the agent's lock"
    )
    results.append(thread)
    return results


def finish(results: list[object]) -> dict[str, object]:
    thread = results.pop()
    assert isinstance(thread, threading.Thread)
    thread.join(60)
    assert results, "the clear-bad did not finish"
    answer = results[0]
    assert isinstance(answer, dict)
    return answer


def test_a_clear_bad_during_a_rollback_keeps_the_rollbacks_bad_mark(
    sandbox_host: SandboxHost,
) -> None:
    layout = sandbox_host.add_agent()
    sandbox_host.publish("17.2.1")
    assert Transaction(sandbox_host.context()).update(NEW).ok
    with held_at(
        sandbox_host, Step.VERIFIED, lambda t: t.rollback(uid=0, reason="TLS errors")
    ) as rollback:
        pending = clear_bad_meanwhile(sandbox_host, layout, "17.9.9")  # never marked bad
    answer = finish(pending)
    assert rollback[0].ok, rollback[0].message
    assert answer["cleared"] is False
    assert NEW in load_agent_record(layout.state_dir).bad_revisions()
    config = load_config(layout.update_yaml)
    assert config is not None and str(config.status.active) == "17.1.0"


def test_a_clear_bad_during_an_update_keeps_when_the_new_version_became_active(
    sandbox_host: SandboxHost,
) -> None:
    layout = sandbox_host.add_agent()
    sandbox_host.publish("17.2.1")
    with held_at(sandbox_host, Step.VERIFIED, lambda t: t.update(NEW)) as update:
        pending = clear_bad_meanwhile(sandbox_host, layout, "17.9.9")
    finish(pending)
    assert update[0].ok, update[0].message
    record = load_agent_record(layout.state_dir)
    assert record.active_since_for(NEW) is not None


def test_a_clear_bad_after_a_rollback_clears_that_version(sandbox_host: SandboxHost) -> None:
    layout = sandbox_host.add_agent()
    sandbox_host.publish("17.2.1")
    assert Transaction(sandbox_host.context()).update(NEW).ok
    with held_at(sandbox_host, Step.VERIFIED, lambda t: t.rollback(uid=0, reason="bad")):
        pending = clear_bad_meanwhile(sandbox_host, layout, "17.2.1")
    answer = finish(pending)
    assert answer == {"agent": "default", "version": "17.2.1", "cleared": True}
    assert load_agent_record(layout.state_dir).bad_revisions() == frozenset()
    config = load_config(layout.update_yaml)
    assert config is not None
    assert config.status.skip is None or config.status.skip.version != Version.parse("17.2.1")
