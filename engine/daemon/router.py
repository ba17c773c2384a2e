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
from typing import TYPE_CHECKING, Any, Protocol

from engine.about import shepherd_version
from engine.api.schema import API_VERSION
from engine.daemon import request_args
from engine.daemon.authz import Authorizer, Level, Polkit, settings_level
from engine.daemon.http import HttpError, Request, Response, StreamResponse
from engine.errors import InvalidInput, InvalidSetting, LockTimeout, ShepherdError, StateError
from engine.packages.self_release import SelfRelease
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
    async def install_agent(
        self, namespace: str, options: Mapping[str, Any], *, uid: int | None
    ) -> dict[str, Any]: ...
    async def uninstall_agent(
        self, namespace: str, *, force: bool, uid: int | None
    ) -> dict[str, Any]: ...
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
        self.release = SelfRelease()  # this Shepherd's version and a newer one apt offers
        self.routes: list[tuple[str, re.Pattern[str], Route, LevelOf, str]] = []
        add = self._add
        # method, path, handler, level, the command an administrator would run instead
        add("GET", "/v1", self.hello)
        add("GET", "/v1/agents", self.list_agents)
        add("POST", "/v1/agents", self.add_agent, HOST_ONLY, "agents add …")
        add("GET", f"/v1/agents/{_NAME}", self.agent_status)
        add("DELETE", f"/v1/agents/{_NAME}", self.remove_agent, HOST_ONLY, "agents remove …")
        add("POST", f"/v1/agents/{_NAME}/install", self.install, HOST_ONLY, "install …")
        add("POST", f"/v1/agents/{_NAME}/uninstall", self.uninstall, HOST_ONLY, "uninstall …")
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
                    raise HttpError(400, str(e), errors=request_args.refused(e)) from e
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
                "version": shepherd_version(),
                "shepherd": await asyncio.to_thread(self.release.answer),
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
        found = await self.ops.found_agents()
        shepherd = await asyncio.to_thread(self.release.answer)
        return Response.json({"agents": agents, "found": found, "shepherd": shepherd})

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

    async def install(self, request: Request, params: dict[str, str]) -> Answer:
        answer = await self.ops.install_agent(params["agent"], request.json(), uid=request.peer.uid)
        return Response.json(answer, 201)

    async def uninstall(self, request: Request, params: dict[str, str]) -> Answer:
        force = request_args.bool_field(request.json(), "force")
        answer = await self.ops.uninstall_agent(params["agent"], force=force, uid=request.peer.uid)
        return Response.json(answer)

    async def explain(self, request: Request, params: dict[str, str]) -> Answer:
        forced = request_args.flag(request.query, "now")
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
            forced=request_args.bool_field(body, "now"),
            dry_run=request_args.bool_field(body, "dry_run"),
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
        limit = request_args.int_query(query, "limit", 100, 1, _MAX_PAGE)
        offset = request_args.int_query(query, "offset", 0, 0, 1 << 31)
        since = request_args.since(query.get("since"))
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
        await self.ops.change_settings(request_args.changes(request.json()), uid=request.peer.uid)
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
    return settings_level(request_args.changes(request.json()))
