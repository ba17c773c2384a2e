"""All the tray's I/O, off the Qt event loop: the daemon API in plain threads, results
back to the GUI thread through queued signals.

    worker = ApiWorker(socket_path)
    worker.agents_changed.connect(...)   # GET /v1/agents, at connect and after events
    worker.daemon_down.connect(...)      # str: why nothing answers
    worker.event_received.connect(...)   # each /v1/events record
    worker.start()
    worker.call(lambda api: api.post(...), on_done, on_error)   # one request, off-thread
    worker.stop()                        # joins every thread it started

Event-driven, no polling: a follower thread holds the daemon's event stream open and, once
it is connected, asks for the agents' status; after that the status is read again only when
an event says it changed (or ``refresh()`` asks: an action finished, the menu opened).
When the stream cannot be opened or drops (the daemon stops or restarts) the follower
reports the daemon down and tries again after ``retry_seconds``, doubling the wait up to
``max_retry_seconds``. A second thread reads the status, so a slow answer never holds up
the stream. Each one-off call runs in a thread of its own (concurrent.futures would cost the
tray ~0.6 MB resident). ``stop()`` shuts down the sockets of
requests in flight, so no thread is left waiting on a daemon that never answers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal, Slot
from shiboken6 import isValid

from engine.api.client import ApiClient, ApiError, DaemonUnavailable

__all__ = ["ApiWorker"]

T = TypeVar("T")

_log = logging.getLogger("shepherd.tray")

# Events after which the agents' status is worth fetching again.
_REFRESH_ON = frozenset({"state", "operation", "decision", "agents", "settings"})


class ApiWorker(QObject):
    agents_changed = Signal(object)  # list[dict]: GET /v1/agents' "agents"
    hello_changed = Signal(object)  # dict: GET /v1 (who you are, what you may do)
    daemon_down = Signal(str)
    event_received = Signal(object)  # dict: one server-sent event
    _deliver = Signal(object, object)  # (callback, value) into the GUI thread

    def __init__(
        self,
        socket_path: Path | None = None,
        *,
        retry_seconds: float = 1.0,
        max_retry_seconds: float = 30.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.client = ApiClient(socket_path)
        self._retry_seconds = retry_seconds
        self._max_retry_seconds = max(retry_seconds, max_retry_seconds)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._downs = 0  # times the daemon was seen gone (an int: atomic enough to compare)
        self._fetches = 0  # status reads done (for tests and the bench: no polling)
        self._greet = False  # ask GET /v1 (who am I, what may I do) with the next status read
        self._calls: set[threading.Thread] = set()
        self._calls_lock = threading.Lock()
        self._deliver.connect(self._on_deliver)

    # ---- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        for target, name in ((self._status_loop, "status"), (self._event_loop, "events")):
            thread = threading.Thread(target=target, name=f"shepherd-tray-{name}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop following, cut requests in flight, join every thread. Safe to call twice."""
        self._stop.set()
        self._wake.set()
        self.client.close()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        with self._calls_lock:
            calls = list(self._calls)
        for thread in calls:
            thread.join()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def status_reads(self) -> int:
        """How many times ``GET /v1/agents`` was asked so far."""
        return self._fetches

    def refresh(self) -> None:
        """Read the agents' status now (it is read otherwise only when an event says so)."""
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

        def run() -> None:
            try:
                result = work(self.client)
            except Exception as error:  # ApiError, DaemonUnavailable, or a bug: shown either way
                if not self._stop.is_set():
                    self._deliver.emit(on_error, error)
            else:
                if not self._stop.is_set():
                    self._deliver.emit(on_done, result)
            finally:
                with self._calls_lock:
                    self._calls.discard(threading.current_thread())

        thread = threading.Thread(target=run, name="shepherd-tray-call")
        with self._calls_lock:
            if self._stop.is_set():
                return
            self._calls.add(thread)
            thread.start()

    @Slot(object, object)
    def _on_deliver(self, callback: Callable[[Any], None], value: Any) -> None:
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, QObject) and not isValid(owner):
            return  # its window was closed (and deleted) while the request ran
        if not self._stop.is_set():
            callback(value)

    # ---- threads ------------------------------------------------------------------------
    def _status_loop(self) -> None:
        while True:
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()
            downs = self._downs
            self._fetches += 1
            _log.debug("reading the agents' status (%d)", self._fetches)
            greet, self._greet = self._greet, False
            try:
                hello = self.client.get("/v1") if greet else None
                agents = self.client.get("/v1/agents")["agents"]
            except (DaemonUnavailable, ApiError) as e:
                self._greet = self._greet or greet
                self._went_down(str(e))
                continue
            # an answer to a request sent before the daemon was seen going away is stale
            if not self._stop.is_set() and downs == self._downs:
                if hello is not None:
                    self.hello_changed.emit(hello)
                self.agents_changed.emit(agents)

    def _went_down(self, message: str) -> None:
        if not self._stop.is_set():
            self._downs += 1
            self.daemon_down.emit(message)

    def _event_loop(self) -> None:
        wait = self._retry_seconds
        while not self._stop.is_set():
            connected = False

            def on_connected() -> None:
                nonlocal connected
                connected = True
                self._greet = True
                self._wake.set()  # the state as of now; the stream carries every change after

            try:
                for event in self.client.events(on_connected):
                    if self._stop.is_set():
                        return
                    self.event_received.emit(event)
                    if event.get("type") in _REFRESH_ON:
                        self._wake.set()
            except (DaemonUnavailable, ApiError) as e:
                self._went_down(str(e))
            # the stream ended or never started: the daemon stopped or restarts
            if connected:
                wait = self._retry_seconds
            self._stop.wait(wait)
            if not connected:
                wait = min(wait * 2, self._max_retry_seconds)
