"""The local API's routes (``/v1/...``): who may call, what each path does.

Each route declares its privilege level in the route table below (``engine.daemon.authz``):
``read`` for anyone, ``operate`` or ``host-only`` decided from the peer's credentials and
polkit before the route runs; a refusal is 403 with the level it needs and what to do.
The reference is docs/api.md.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from engine.api.schema import API_VERSION
from engine.daemon.authz import Authorizer, Level, Polkit, settings_level
from engine.daemon.http import HttpError, Request, Response, StreamResponse
from engine.errors import InvalidInput, InvalidSetting, LockTimeout, ShepherdError, StateError
from engine.settings.model import refusal
from engine.settings.schema import OPTIONS, describe, schema_document
from engine.settings.secrets import validate_secret_name
from engine.update.operations import SPEC_ACTIONS
from engine.update.report import decision_json, outcome_json, pass_json

if TYPE_CHECKING:
    from engine.store.history import History
    from engine.update.outcome import Outcome
    from engine.update.update_pass import PassResult

__all__ = ["API_VERSION", "Operations", "Router"]

Answer = Response | StreamResponse
Route = Callable[[Request, dict[str, str]], Awaitable[Answer]]
LevelOf = Level | Callable[[Request], Level]  # a level, or how to find it in the request
READ, OPERATE, HOST_ONLY = Level.READ, Level.OPERATE, Level.HOST_ONLY

_NAME = r"(?P<agent>[^/]+)"
_MAX_PAGE = 1000


class Operations(Protocol):
    """What the routes need of the daemon (``engine.daemon.actions.DaemonActions``).

    Lookups of an unknown agent raise ``LookupError``; the engine's errors map to 4xx in
    ``Router.handle``."""

    def agent_names(self) -> list[str]: ...
    async def status(self, namespace: str) -> dict[str, Any]: ...
    async def statuses(self) -> list[dict[str, Any]]: ...
    async def check(
        self, namespace: str, *, uid: int | None, forced: bool = ..., dry_run: bool = ...
    ) -> PassResult: ...
    async def rollback(self, namespace: str, *, uid: int | None, reason: str) -> Outcome: ...
    async def set_spec(
        self, namespace: str, changes: Mapping[str, bool], *, uid: int | None
    ) -> dict[str, Any]: ...
    async def clear_bad(
        self, namespace: str, version: str, *, uid: int | None
    ) -> dict[str, Any]: ...
    async def skip_version(
        self, namespace: str, revision: str, *, reason: str, uid: int | None
    ) -> dict[str, Any]: ...
    async def add_agent(self, namespace: str, *, uid: int | None) -> dict[str, Any]: ...
    async def found_agents(self) -> list[dict[str, Any]]: ...
    async def remove_agent(self, namespace: str, *, uid: int | None) -> dict[str, Any]: ...
    async def change_settings(self, changes: dict[str, str | None], *, uid: int | None) -> None: ...
    async def set_secret(self, name: str, value: str | None, *, uid: int | None) -> bool: ...
    def settings_answer(self) -> dict[str, Any]: ...
    def secrets_status(self) -> dict[str, Any]: ...
    def history(self, namespace: str | None) -> list[History]: ...
    async def notices_status(self) -> dict[str, Any]: ...
    async def send_test_notice(self) -> dict[str, Any]: ...
    def events(self) -> AsyncIterator[bytes]: ...


class Router:
    def __init__(self, ops: Operations, *, api_group: str, authz: Authorizer | None = None) -> None:
        self.ops = ops
        self.api_group = api_group
        self.authz = authz or Authorizer(api_group, Polkit())
        self.routes: list[tuple[str, re.Pattern[str], Route, LevelOf, str]] = []
        add = self._add
        # method, path, handler, level, the command an administrator would run instead
        add("GET", "/v1", self.hello)
        add("GET", "/v1/agents", self.list_agents)
        add("POST", "/v1/agents", self.add_agent, HOST_ONLY, "agents add …")
        add("GET", f"/v1/agents/{_NAME}", self.agent_status)
        add("DELETE", f"/v1/agents/{_NAME}", self.remove_agent, HOST_ONLY, "agents remove …")
        add("GET", f"/v1/agents/{_NAME}/explain", self.explain)
        add("POST", f"/v1/agents/{_NAME}/check", self.check, OPERATE, "check …")
        add("POST", f"/v1/agents/{_NAME}/update", self.update, OPERATE, "update …")
        add("POST", f"/v1/agents/{_NAME}/rollback", self.rollback, OPERATE, "rollback …")
        for action in SPEC_ACTIONS:
            level = OPERATE if action in ("pin", "unpin") else HOST_ONLY
            add("POST", f"/v1/agents/{_NAME}/{action}", self._spec_route(action), level, action)
        add("POST", f"/v1/agents/{_NAME}/clear-bad", self.clear_bad, HOST_ONLY, "clear-bad …")
        add("POST", f"/v1/agents/{_NAME}/skip", self.skip_version, OPERATE, "skip …")
        add("GET", f"/v1/agents/{_NAME}/history", self.history)
        add("GET", "/v1/history", self.history)
        add("GET", "/v1/events", self.events)
        add("GET", "/v1/settings", self.get_settings)
        add("PATCH", "/v1/settings", self.patch_settings, _settings_level, "settings set …")
        add("GET", "/v1/settings/options", self.settings_options)
        add("GET", "/v1/settings/schema", self.settings_schema)
        add("GET", "/v1/secrets", self.get_secrets)
        add("PUT", "/v1/secrets/(?P<name>[^/]+)", self.put_secret, HOST_ONLY, "secret set …")
        add("DELETE", "/v1/secrets/(?P<name>[^/]+)", self.delete_secret, HOST_ONLY, "secret …")
        add("GET", "/v1/notify", self.notices)
        add("POST", "/v1/notify/test", self.test_notice, HOST_ONLY, "notify test")

    def _add(
        self, method: str, pattern: str, route: Route, level: LevelOf = READ, command: str = ""
    ) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), route, level, command))

    async def _authorize(self, request: Request, level_of: LevelOf, command: str) -> None:
        level = level_of if isinstance(level_of, Level) else level_of(request)
        if level is READ:
            return
        verdict = await asyncio.to_thread(self.authz.decide, request.peer, level, command)
        if not verdict.allowed:
            raise HttpError(
                403, f"{request.method} {request.path} {verdict.sentence}", level=level.value
            )

    async def handle(self, request: Request) -> Answer:
        methods = []
        for method, pattern, route, level, command in self.routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            methods.append(method)
            if method == request.method:
                try:
                    await self._authorize(request, level, command)
                    return await route(request, match.groupdict())
                except LookupError as e:
                    raise HttpError(404, str(e)) from e
                except LockTimeout as e:
                    raise HttpError(409, str(e)) from e
                except InvalidSetting as e:
                    raise HttpError(400, str(e), errors=_refused(e)) from e
                except InvalidInput as e:
                    raise HttpError(400, str(e)) from e
                except StateError as e:
                    raise HttpError(409, str(e)) from e
                except ShepherdError as e:
                    raise HttpError(409, str(e)) from e
        if methods:
            raise HttpError(405, f"{request.method} is not allowed on {request.path}")
        raise HttpError(404, f"no such API path {request.path!r}")

    # ---- handlers ---------------------------------------------------------------------
    async def hello(self, request: Request, _: dict[str, str]) -> Answer:
        settings = self.ops.settings_answer()
        return Response.json(
            {
                "service": "agent-shepherd",
                "api": API_VERSION,
                "pid": os.getpid(),
                "agents": self.ops.agent_names(),
                "you": {
                    "uid": request.peer.uid,
                    "group": self.authz.group,
                    "may": self.authz.without_asking(request.peer),
                },
                "settings": {k: settings[k] for k in ("file", "problem")},
                "secrets": {k: v for k, v in settings["secrets"].items() if k != "stored"},
            }
        )

    async def list_agents(self, request: Request, _: dict[str, str]) -> Answer:
        agents = await self.ops.statuses()
        return Response.json({"agents": agents, "found": await self.ops.found_agents()})

    async def agent_status(self, request: Request, params: dict[str, str]) -> Answer:
        return Response.json(await self.ops.status(params["agent"]))

    async def add_agent(self, request: Request, _: dict[str, str]) -> Answer:
        body = request.json()
        name = body.get("agent")
        if not isinstance(name, str):
            raise HttpError(400, 'expected {"agent": "<namespace>"}')
        return Response.json(await self.ops.add_agent(name, uid=request.peer.uid), 201)

    async def remove_agent(self, request: Request, params: dict[str, str]) -> Answer:
        return Response.json(await self.ops.remove_agent(params["agent"], uid=request.peer.uid))

    async def explain(self, request: Request, params: dict[str, str]) -> Answer:
        forced = _flag(request.query, "now")
        result = await self.ops.check(
            params["agent"], uid=request.peer.uid, forced=forced, dry_run=True
        )
        return Response.json(
            {"agent": result.namespace, "decision": decision_json(result.decision)}
        )

    async def check(self, request: Request, params: dict[str, str]) -> Answer:
        return await self._pass(request, params, forced=False, dry_run=False)

    async def update(self, request: Request, params: dict[str, str]) -> Answer:
        body = request.json()
        return await self._pass(
            request,
            params,
            forced=_bool(body, "now"),
            dry_run=_bool(body, "dry_run"),
        )

    async def _pass(
        self, request: Request, params: dict[str, str], *, forced: bool, dry_run: bool
    ) -> Answer:
        result = await self.ops.check(
            params["agent"], uid=request.peer.uid, forced=forced, dry_run=dry_run
        )
        return Response.json(pass_json(result, dry_run=dry_run))

    async def rollback(self, request: Request, params: dict[str, str]) -> Answer:
        body = request.json()
        reason = body.get("reason", "rolled back by hand")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
            raise HttpError(400, "'reason' must be a non-empty string of at most 500 characters")
        outcome = await self.ops.rollback(params["agent"], uid=request.peer.uid, reason=reason)
        return Response.json(outcome_json(outcome), 200 if outcome.ok else 409)

    def _spec_route(self, action: str) -> Route:
        changes = SPEC_ACTIONS[action]

        async def route(request: Request, params: dict[str, str]) -> Answer:
            return Response.json(
                await self.ops.set_spec(params["agent"], changes, uid=request.peer.uid)
            )

        return route

    async def clear_bad(self, request: Request, params: dict[str, str]) -> Answer:
        version = request.json().get("version")
        if not isinstance(version, str):
            raise HttpError(400, 'expected {"version": "17.2.1"}')
        return Response.json(
            await self.ops.clear_bad(params["agent"], version, uid=request.peer.uid)
        )

    async def skip_version(self, request: Request, params: dict[str, str]) -> Answer:
        body = request.json()
        revision, reason = body.get("revision"), body.get("reason", "skipped by hand")
        if not isinstance(revision, str) or not isinstance(reason, str) or len(reason) > 500:
            raise HttpError(400, 'expected {"revision": "17.2.1", "reason": "..."}')
        return Response.json(
            await self.ops.skip_version(
                params["agent"], revision, reason=reason.strip() or "skipped", uid=request.peer.uid
            )
        )

    async def history(self, request: Request, params: dict[str, str]) -> Answer:
        query = request.query
        limit = _int(query, "limit", 100, 1, _MAX_PAGE)
        offset = _int(query, "offset", 0, 0, 1 << 31)
        since = _since(query.get("since"))
        histories = self.ops.history(params.get("agent"))

        def newest() -> list[dict[str, Any]]:  # reads files: off the event loop
            records = []
            for history in histories:
                records += history.query(
                    event=query.get("event") or None,
                    outcome=query.get("outcome") or None,
                    since=since,
                    limit=offset + limit,
                )
            records.sort(key=lambda r: r.time, reverse=True)
            return [asdict(r) for r in records[offset : offset + limit]]

        page = await asyncio.to_thread(newest)
        return Response.json({"records": page, "offset": offset, "limit": limit})

    async def get_settings(self, request: Request, _: dict[str, str]) -> Answer:
        return Response.json(self._settings_answer())

    def _settings_answer(self) -> dict[str, Any]:
        return self.ops.settings_answer()

    async def patch_settings(self, request: Request, _: dict[str, str]) -> Answer:
        await self.ops.change_settings(_changes(request.json()), uid=request.peer.uid)
        return Response.json(self._settings_answer())

    async def settings_options(self, request: Request, _: dict[str, str]) -> Answer:
        return Response.json(
            {
                "options": [
                    {
                        "key": o.key,
                        "type": o.type_name,
                        "default": o.default_text(),
                        "help": o.description,
                    }
                    for o in OPTIONS
                ],
                "text": describe(),
            }
        )

    async def settings_schema(self, request: Request, _: dict[str, str]) -> Answer:
        return Response.json(schema_document())

    async def get_secrets(self, request: Request, _: dict[str, str]) -> Answer:
        return Response.json(self.ops.secrets_status())

    async def put_secret(self, request: Request, params: dict[str, str]) -> Answer:
        value = request.json().get("value")
        if not isinstance(value, str):
            raise HttpError(400, 'expected {"value": "<the secret>"}')
        name = validate_secret_name(params["name"])
        await self.ops.set_secret(name, value, uid=request.peer.uid)
        return Response.json({"name": name, "stored": True})

    async def delete_secret(self, request: Request, params: dict[str, str]) -> Answer:
        name = validate_secret_name(params["name"])
        deleted = await self.ops.set_secret(name, None, uid=request.peer.uid)
        return Response.json({"name": name, "deleted": deleted})

    async def events(self, request: Request, _: dict[str, str]) -> Answer:
        return StreamResponse(self.ops.events())

    async def notices(self, request: Request, _: dict[str, str]) -> Answer:
        return Response.json(await self.ops.notices_status())

    async def test_notice(self, request: Request, _: dict[str, str]) -> Answer:
        return Response.json(await self.ops.send_test_notice())


def _settings_level(request: Request) -> Level:
    return settings_level(_changes(request.json()))


def _changes(body: dict[str, Any]) -> dict[str, str | None]:
    changes = body.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise HttpError(400, 'expected {"changes": {"<key>": "<value>" or null, ...}}')
    for key, value in changes.items():
        if value is not None and not isinstance(value, str):
            reason = "must be a string (as on the command line) or null for the default"
            raise refusal(key, value, reason, f"the value for {key!r} {reason}")
    return changes


def _refused(error: InvalidSetting) -> list[dict[str, str]]:
    """The structured form of a refused settings change: one entry per key."""
    return [
        {"key": p.key, "label": p.label, "value": p.value, "reason": p.reason}
        for p in error.problems
    ]


def _since(text: str | None) -> str | None:
    """An ISO 8601 time as the history stores it (UTC, seconds); 400 naming a bad one."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise HttpError(
            400, f"query parameter 'since' {text[:40]!r} is not an ISO 8601 time"
        ) from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).isoformat(timespec="seconds")
    except OverflowError as e:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise HttpError(400, f"query parameter 'since' {text[:40]!r} is out of range") from e


def _flag(query: dict[str, str], name: str) -> bool:
    value = query.get(name, "").lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise HttpError(400, f"query parameter {name!r} must be true or false, not {value[:20]!r}")


def _bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise HttpError(400, f"{name!r} must be true or false, not {value!r}"[:200])
    return value


def _int(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    # ASCII digits only: str.isdigit() also accepts '²', which int() then refuses
    if not (text.isascii() and text.isdigit()) or len(text) > 12 or not low <= int(text) <= high:
        raise HttpError(400, f"query parameter {name!r} must be an integer in [{low}, {high}]")
    return int(text)
