"""All the tray's I/O, off the Qt event loop: the daemon API in plain threads, results
back to the GUI thread through queued signals.

    worker = ApiWorker(socket_path)
    worker.agents_changed.connect(...)   # GET /v1/agents, every poll and after events
    worker.daemon_down.connect(...)      # str: why nothing answers
    worker.event_received.connect(...)   # each /v1/events record
    worker.start()
    worker.call(lambda api: api.post(...), on_done, on_error)   # one request, off-thread
    worker.stop()                        # joins every thread it started

Two threads: a poller (``GET /v1/agents`` every ``poll_seconds``, at once when woken by an
event) and an event follower that reconnects after ``retry_seconds`` when the daemon goes
away (a restart, a stop). One-off calls run in a small pool. ``stop()`` shuts down the
sockets of requests in flight, so no thread is left waiting on a daemon that never
answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

from engine.api.client import ApiClient, ApiError, DaemonUnavailable

__all__ = ["ApiWorker"]

T = TypeVar("T")

# Events after which the agents' status is worth fetching again.
_REFRESH_ON = frozenset({"state", "operation", "decision", "agents", "settings"})


class ApiWorker(QObject):
    agents_changed = Signal(object)  # list[dict]: GET /v1/agents' "agents"
    daemon_down = Signal(str)
    event_received = Signal(object)  # dict: one server-sent event
    _deliver = Signal(object, object)  # (callback, value) into the GUI thread

    def __init__(
        self,
        socket_path: Path | None = None,
        *,
        poll_seconds: float = 5.0,
        retry_seconds: float = 2.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.client = ApiClient(socket_path)
        self._poll_seconds = poll_seconds
        self._retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._downs = 0  # times the daemon was seen gone (an int: atomic enough to compare)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="shepherd-tray-call")
        self._deliver.connect(self._on_deliver)

    # ---- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        for target, name in ((self._poll_loop, "poll"), (self._event_loop, "events")):
            thread = threading.Thread(target=target, name=f"shepherd-tray-{name}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop polling and following, cut requests in flight, join every thread."""
        self._stop.set()
        self._wake.set()
        self.client.close()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def refresh(self) -> None:
        """Poll ``/v1/agents`` now instead of at the next tick."""
        self._wake.set()

    # ---- one-off requests ---------------------------------------------------------------
    def call(
        self,
        work: Callable[[ApiClient], T],
        on_done: Callable[[T], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        """Run ``work(client)`` off the GUI thread; then ``on_done(result)`` or
        ``on_error(ApiError | DaemonUnavailable)`` in the GUI thread. Nothing is delivered
        after ``stop()``."""
        if self._stop.is_set():
            return

        def finished(future: Future[T]) -> None:
            error = future.exception() if not future.cancelled() else None
            if future.cancelled() or self._stop.is_set():
                return
            if error is None:
                self._deliver.emit(on_done, future.result())
            else:  # ApiError, DaemonUnavailable, or a bug: the GUI says so either way
                self._deliver.emit(on_error, error)

        self._pool.submit(work, self.client).add_done_callback(finished)

    @Slot(object, object)
    def _on_deliver(self, callback: Callable[[Any], None], value: Any) -> None:
        if not self._stop.is_set():
            callback(value)

    # ---- threads ------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            downs = self._downs
            try:
                agents = self.client.get("/v1/agents")["agents"]
            except (DaemonUnavailable, ApiError) as e:
                self._went_down(str(e))
            else:
                # an answer to a request sent before the daemon was seen going away is stale
                if not self._stop.is_set() and downs == self._downs:
                    self.agents_changed.emit(agents)
            self._wake.wait(self._poll_seconds)

    def _went_down(self, message: str) -> None:
        if not self._stop.is_set():
            self._downs += 1
            self.daemon_down.emit(message)

    def _event_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.client.get("/v1")  # up? then the status is worth a look at once
                self._wake.set()
                for event in self.client.events():
                    if self._stop.is_set():
                        return
                    self.event_received.emit(event)
                    if event.get("type") in _REFRESH_ON:
                        self._wake.set()
            except (DaemonUnavailable, ApiError) as e:
                self._went_down(str(e))
            # the stream ended or never started: the daemon stopped or restarts
            self._stop.wait(self._retry_seconds)
