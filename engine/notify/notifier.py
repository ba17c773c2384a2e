"""Deliver notices in the background: queued first, retried with backoff, never in the way.

    notifier = Notifier(state_dir, current_config)     # current_config() -> NotifyConfig
    notifier.start()                                   # the delivery thread
    notifier.submit(notice)                            # returns at once, from any thread
    notifier.send_test()                               # {"webhook": {"ok": True, ...}}
    notifier.stop()

``submit`` only hands the notice to the delivery thread, which queues one entry per channel
that wants its kind (persisted, ``engine.notify.queue``) and then delivers. A failed delivery
is tried again after ``first_delay``, doubling up to ``max_delay``, at most ``max_attempts``
times; a permanent failure (no secret, the receiver refused the request itself) is not
retried. Every outcome is logged; none of it ever blocks or fails an update.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import NotifyError
from engine.notify.config import NotifyConfig
from engine.notify.email import send_email
from engine.notify.notice import Notice
from engine.notify.queue import NoticeQueue, Pending
from engine.notify.webhook import send_webhook

__all__ = ["QUEUE_FILE", "Notifier", "RetryPolicy", "Sender"]

_log = logging.getLogger("shepherd.notify")
QUEUE_FILE = "notify-queue.json"
Sender = Callable[[NotifyConfig, Notice], None]
SENDERS: Mapping[str, Sender] = {"webhook": send_webhook, "email": send_email}


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 30.0
    max_delay: float = 3600.0
    max_attempts: int = 12  # about half a day with the defaults
    capacity: int = 200  # queued entries; the oldest make room

    def delay(self, attempts: int) -> float:
        return float(min(self.first_delay * 2 ** max(attempts - 1, 0), self.max_delay))


class Notifier:
    def __init__(
        self,
        state_dir: Path,
        config: Callable[[], NotifyConfig],
        *,
        retry: RetryPolicy | None = None,
        senders: Mapping[str, Sender] = SENDERS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._retry = retry or RetryPolicy()
        self._senders = senders
        self._clock = clock
        self._queue = NoticeQueue(state_dir / QUEUE_FILE, self._retry.capacity)
        self._inbox: queue.SimpleQueue[Notice] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        """Start the delivery thread; what an earlier run left queued is tried at once."""
        with self._lock:
            self._queue.retry_all_now(self._clock())
        self._thread = threading.Thread(target=self._run, name="shepherd-notify", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop delivering; what is still queued is delivered after the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, notice: Notice) -> None:
        """Hand ``notice`` to the delivery thread. Never blocks, never raises for delivery."""
        self._inbox.put(notice)
        self._wake.set()

    def status(self) -> dict[str, Any]:
        with self._lock:  # the queue and the last error as one settled state
            pending = [e.as_json() for e in self._queue.entries]
            last_error = self.last_error
        config = self._config()
        return {
            "channels": list(config.channels),
            "problems": list(config.problems),
            "pending": pending,
            "last_error": last_error,
        }

    def send_test(self) -> dict[str, Any]:
        """Send a test notice to every configured channel now, not queued. Blocking.

        Returns:
            ``{"channels": {name: {"ok": bool, "message": str}}, "problems": [...]}``.
        """
        config = self._config()
        notice = Notice.test()
        results: dict[str, dict[str, Any]] = {}
        for channel in config.channels:
            try:
                self._senders[channel](config, notice)
            except NotifyError as e:
                results[channel] = {"ok": False, "message": str(e)}
            else:
                results[channel] = {"ok": True, "message": f"test notice {notice.id} delivered"}
        return {"channels": results, "problems": list(config.problems)}

    # ---- the delivery thread -----------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._take_inbox()
                self._deliver_due()
            except Exception:  # a bug here must not end notices for the daemon's life
                _log.exception("notice delivery failed unexpectedly")
            with self._lock:
                next_due = self._queue.next_due()
            if self._inbox.empty():
                wait = None if next_due is None else max(next_due - self._clock(), 0.05)
                self._wake.wait(wait)

    def _take_inbox(self) -> None:
        while True:
            try:
                notice = self._inbox.get_nowait()
            except queue.Empty:
                return
            for channel in self._config().channels_for(notice.kind):
                with self._lock:
                    dropped = self._queue.add(Pending(channel, notice))
                if dropped is not None:
                    _log.error(
                        "notice queue full: dropped %s notice %s for %s (%s)",
                        dropped.notice.kind,
                        dropped.notice.id,
                        dropped.channel,
                        dropped.notice.title,
                    )

    def _deliver_due(self) -> None:
        with self._lock:
            due = self._queue.due(self._clock())
        for entry in due:
            if self._stop.is_set():
                return
            self._deliver(entry)

    def _deliver(self, entry: Pending) -> None:
        config = self._config()
        notice = entry.notice
        if entry.channel not in config.channels:
            self._settle(entry, None, f"{entry.channel} is no longer configured: notice dropped")
            return
        try:
            self._senders[entry.channel](config, notice)
        except NotifyError as e:
            failed = entry.failed(str(e), self._clock() + self._retry.delay(entry.attempts + 1))
            if e.permanent or failed.attempts >= self._retry.max_attempts:
                why = "not retried" if e.permanent else f"given up after {failed.attempts} tries"
                self._settle(entry, None, f"{e} ({why})", error=str(e))
            else:
                self._settle(entry, failed, f"{e} (try {failed.attempts}; retried later)", str(e))
            return
        self._settle(entry, None, "delivered")

    def _settle(
        self, entry: Pending, new: Pending | None, words: str, error: str | None = None
    ) -> None:
        """``entry`` becomes ``new`` (None: done with it); ``error``: why this try failed,
        the status's ``last_error`` from the same moment the queue shows it settled."""
        with self._lock:
            self._queue.replace(entry, new)
            if error is not None:
                self.last_error = error
        gave_up = error is not None and new is None
        level = logging.ERROR if gave_up else logging.WARNING if new is not None else logging.INFO
        notice = entry.notice
        _log.log(
            level,
            "%s notice %s (%s) by %s: %s",
            notice.kind,
            notice.id,
            notice.title,
            entry.channel,
            words,
        )
