"""The daemon's event bus: live state, progress and notifications for API clients.

Publishers may be worker threads (a download reports progress from the thread running the
transaction); subscribers are server-sent-event streams on the event loop. A subscriber
that does not keep up loses its oldest events, never blocks the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

__all__ = ["EventBus"]

_QUEUE_SIZE = 256


class EventBus:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._ids = itertools.count(1)
        self._listeners: list[Callable[[str, Mapping[str, Any]], None]] = []

    def listen(self, listener: Callable[[str, Mapping[str, Any]], None]) -> None:
        """Call ``listener(kind, data)`` at every publish, in the publishing thread: it must
        be quick and never raise (the status reader forgets what an event changed)."""
        self._listeners.append(listener)

    def publish(self, kind: str, **data: Any) -> None:
        """Safe to call from any thread."""
        for listener in self._listeners:
            listener(kind, data)
        event = {"id": next(self._ids), "type": kind, "time": time.time(), **data}
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._deliver(event)
        else:
            self.loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: dict[str, Any]) -> None:
        for queue in self._subscribers:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)

    def close(self) -> None:
        for queue in self._subscribers:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(None)

    async def stream(self, heartbeat_seconds: float = 15.0) -> AsyncIterator[bytes]:
        """Server-sent events: ``event: <type>`` and ``data: <json>``; comments as heartbeat."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(_QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            yield b": connected\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), heartbeat_seconds)
                except TimeoutError:
                    yield b": heartbeat\n\n"
                    continue
                if event is None:
                    return
                payload = json.dumps(event, separators=(",", ":"))
                yield f"id: {event['id']}\nevent: {event['type']}\ndata: {payload}\n\n".encode()
        finally:
            self._subscribers.discard(queue)
