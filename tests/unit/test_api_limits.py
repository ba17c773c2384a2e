"""The API's admission table: what one uid may hold, and root's reserve."""

from __future__ import annotations

from engine.daemon.limits import Admission, Limits

ROOT, ALICE, BOB = 0, 1001, 1002


def admission(**limits: int) -> Admission:
    return Admission(Limits(**limits), privileged=frozenset({ROOT}))  # type: ignore[arg-type]


def test_one_uid_is_held_to_its_share_and_others_still_get_theirs() -> None:
    table = admission(max_requests=10, max_requests_per_uid=3, requests_reserved_for_root=2)
    assert [table.take(table.requests, ALICE) for _ in range(3)] == [None, None, None]
    refused = table.take(table.requests, ALICE)
    assert refused == "uid 1001 already has 3 requests in progress open; close some first"
    assert table.take(table.requests, BOB) is None
    table.requests.give(ALICE)
    assert table.take(table.requests, ALICE) is None


def test_the_last_request_slots_are_roots_alone() -> None:
    table = admission(max_requests=4, max_requests_per_uid=4, requests_reserved_for_root=2)
    assert table.take(table.requests, ALICE) is None
    assert table.take(table.requests, BOB) is None
    assert table.take(table.requests, ALICE) is not None  # two left, both reserved
    assert table.take(table.requests, ROOT) is None
    assert table.take(table.requests, ROOT) is None
    assert "already has 4 requests" in (table.take(table.requests, ROOT) or "")


def test_root_skips_the_per_uid_limit() -> None:
    table = admission(max_streams=5, max_streams_per_uid=1)
    assert [table.take(table.streams, ROOT) for _ in range(5)] == [None] * 5
    assert table.take(table.streams, ROOT) is not None


def test_giving_back_forgets_a_uid() -> None:
    table = admission()
    assert table.take(table.connections, ALICE) is None
    table.connections.give(ALICE)
    assert table.connections.held == {}
