"""Cluster emulator: a local HTTPS server that answers like a Teleport proxy.

Serves ``GET /webapi/find`` (per-group target version, window flag and jitter; cluster-wide
server version, edition and FIPS) and the v1 channel endpoints
``/v1/webapi/automaticupgrades/channel/<channel>/{version,critical}``.

    emu = ClusterEmulator(cert_pair)        # or run: python -m sandbox.emulator --help
    emu.start()
    emu.set_group("default", version="17.2.1", in_window=True)
    emu.proxy_addr                           # "127.0.0.1:PORT", for the engine
    emu.requests()                           # what clients asked, to assert group/update_id
    emu.set_mode(Hostile.MALFORMED_JSON)     # misbehave on purpose
    emu.stop()

A JSON control endpoint on a separate plain-HTTP 127.0.0.1 port (``control_url``) lets a
demo in another process do the same: ``POST /group``, ``/cluster``, ``/channel``, ``/mode``
with a JSON body of the same keyword arguments; ``GET /requests``.
"""

from __future__ import annotations

import argparse
import json
import ssl
import threading
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.certs import CertPair

__all__ = ["ClusterEmulator", "GroupState", "Hostile", "RecordedRequest"]

CHANNEL_PREFIX = "/v1/webapi/automaticupgrades/channel/"


class Hostile(StrEnum):
    NONE = "none"
    MALFORMED_JSON = "malformed-json"
    WRONG_TYPES = "wrong-types"
    HUGE_BODY = "huge-body"  # 10 MB
    SLOW_DRIP = "slow-drip"  # one byte every half second
    SERVER_ERROR = "server-error"  # HTTP 500
    REDIRECT_PLAIN_HTTP = "redirect-plain-http"
    REDIRECT_OTHER_HOST = "redirect-other-host"
    GARBAGE_CRITICAL = "garbage-critical"


@dataclass
class GroupState:
    version: str = "17.2.1"
    in_window: bool = False
    jitter: int | None = 0


@dataclass
class ClusterState:
    server_version: str = "17.2.1"
    edition: str | None = "ent"
    fips: bool | None = False
    cluster_name: str = "sandbox.example.com"
    automatic_upgrades: bool = False
    manages_agents: bool = True  # False: answer without auto_update (a v1 cluster)
    # With manages_agents=False: send the client-tools half of auto_update only, as proxies
    # that know tools updates but not agent updates do (still a v1 cluster for agents).
    tools_only_auto_update: bool = False


@dataclass
class ChannelState:
    version: str | None = "17.2.1"  # None: the channel answers "none"
    critical: bool = False


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    query: dict[str, str]
    time: float


@dataclass
class _State:
    cluster: ClusterState = field(default_factory=ClusterState)
    groups: dict[str, GroupState] = field(default_factory=lambda: {"default": GroupState()})
    channels: dict[str, ChannelState] = field(
        default_factory=lambda: {"stable/cloud": ChannelState()}
    )
    mode: Hostile = Hostile.NONE
    requests: list[RecordedRequest] = field(default_factory=list)


class ClusterEmulator:
    def __init__(self, cert: CertPair, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._cert = cert
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._state = _State()
        self._server: ThreadingHTTPServer | None = None
        self._control: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> ClusterEmulator:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self._cert.cert_path), str(self._cert.key_path))
        server = _Server((self._host, self._port), _ProxyHandler, self)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        control = _Server((self._host, 0), _ControlHandler, self)
        self._server, self._control = server, control
        for srv in (server, control):
            thread = threading.Thread(
                target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for srv in (self._server, self._control):
            if srv is not None:
                srv.shutdown()
                srv.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._server = self._control = None
        self._threads.clear()

    def __enter__(self) -> ClusterEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator is not running")
        return int(self._server.server_address[1])

    @property
    def proxy_addr(self) -> str:
        return f"{self._host}:{self.port}"

    @property
    def control_url(self) -> str:
        if self._control is None:
            raise RuntimeError("emulator is not running")
        return f"http://{self._host}:{self._control.server_address[1]}"

    # ---- control -----------------------------------------------------------------------
    def set_group(
        self,
        group: str = "default",
        *,
        version: str | None = None,
        in_window: bool | None = None,
        jitter: int | None = None,
    ) -> None:
        with self._lock:
            state = self._state.groups.setdefault(group, GroupState())
            if version is not None:
                state.version = version
            if in_window is not None:
                state.in_window = in_window
            if jitter is not None:
                state.jitter = jitter

    def set_cluster(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                if not hasattr(self._state.cluster, key):
                    raise ValueError(f"unknown cluster setting {key!r}")
                setattr(self._state.cluster, key, value)

    def set_channel(
        self, channel: str = "stable/cloud", *, version: str | None, critical: bool = False
    ) -> None:
        with self._lock:
            self._state.channels[channel] = ChannelState(version, critical)

    def set_mode(self, mode: Hostile | str) -> None:
        with self._lock:
            self._state.mode = Hostile(mode)

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._state.requests.clear()

    # ---- answers -----------------------------------------------------------------------
    def _record(self, path: str, query: dict[str, str]) -> None:
        with self._lock:
            self._state.requests.append(RecordedRequest(path, query, time.time()))

    def _find_body(self, group: str) -> dict[str, Any]:
        with self._lock:
            cluster = self._state.cluster
            state = self._state.groups.get(group) or self._state.groups.get("default")
            body: dict[str, Any] = {
                "auth": {"type": "local", "second_factor": "on", "local": {"name": ""}},
                "proxy": {
                    "kube": {"enabled": True},
                    "ssh": {"listen_addr": "0.0.0.0:3023", "public_addr": self.proxy_addr},
                    "tls_routing_enabled": True,
                },
                "server_version": cluster.server_version,
                "min_client_version": "16.0.0-aa",
                "cluster_name": cluster.cluster_name,
                "automatic_upgrades": cluster.automatic_upgrades,
                "auto_update": {
                    "tools_version": cluster.server_version,
                    "tools_auto_update": False,
                    "agent_version": state.version if state else "",
                    "agent_auto_update": state.in_window if state else False,
                },
            }
            if state is not None and state.jitter is not None:
                body["auto_update"]["agent_update_jitter_seconds"] = state.jitter
            if not cluster.manages_agents:
                if cluster.tools_only_auto_update:
                    body["auto_update"] = {
                        "tools_version": cluster.server_version,
                        "tools_auto_update": False,
                    }
                else:
                    del body["auto_update"]
            if cluster.edition is not None:
                body["edition"] = cluster.edition
            if cluster.fips is not None:
                body["fips"] = cluster.fips
            return body

    def _channel(self, name: str) -> ChannelState | None:
        with self._lock:
            return self._state.channels.get(name)

    @property
    def mode(self) -> Hostile:
        with self._lock:
            return self._state.mode


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a slow-drip handler must not hold up stop()

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], emu: ClusterEmulator
    ) -> None:
        super().__init__(address, handler)
        self.emulator = emu
        self.stopping = threading.Event()

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # clients that fail TLS verification on purpose are not errors here


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ProxyHandler(_Handler):
    def do_GET(self) -> None:
        emu = self.server.emulator
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        emu._record(parts.path, query)
        mode = emu.mode
        if self._hostile_transport(mode):
            return
        if parts.path == "/webapi/find":
            self._find(emu, query.get("group", "default"), mode)
        elif parts.path.startswith(CHANNEL_PREFIX):
            self._channel(emu, parts.path[len(CHANNEL_PREFIX) :], mode)
        else:
            self._send(404, b'{"error":{"message":"not found"}}')

    def _hostile_transport(self, mode: Hostile) -> bool:
        if mode is Hostile.SERVER_ERROR:
            self._send(500, b'{"error":{"message":"internal error"}}')
        elif mode is Hostile.REDIRECT_PLAIN_HTTP:
            self._redirect(f"http://127.0.0.1:{self.server.server_address[1]}{self.path}")
        elif mode is Hostile.REDIRECT_OTHER_HOST:
            self._redirect(f"https://localhost.invalid{self.path}")
        elif mode is Hostile.HUGE_BODY:
            self._send(200, b'{"pad":"' + b"x" * (10 * 1024 * 1024) + b'"}')
        elif mode is Hostile.SLOW_DRIP:
            body = b'{"server_version": "17.2.1"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    if self.server.stopping.wait(0.5):
                        break
            except OSError:
                pass
        else:
            return False
        return True

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _find(self, emu: ClusterEmulator, group: str, mode: Hostile) -> None:
        if mode is Hostile.MALFORMED_JSON:
            self._send(200, b'{"server_version": "17.2.1", "auto_update": {')
            return
        body = emu._find_body(group)
        if mode is Hostile.WRONG_TYPES and "auto_update" in body:
            body["auto_update"]["agent_version"] = 17
            body["auto_update"]["agent_auto_update"] = "yes"
        self._send(200, json.dumps(body).encode())

    def _channel(self, emu: ClusterEmulator, rest: str, mode: Hostile) -> None:
        name, _, leaf = rest.rpartition("/")
        channel = emu._channel(name)
        if channel is None or leaf not in {"version", "critical"}:
            self._send(404, b"channel not found\n", "text/plain")
            return
        if leaf == "version":
            text = f"v{channel.version}" if channel.version else "none"
        elif mode is Hostile.GARBAGE_CRITICAL:
            text = "perhaps"
        else:
            text = "yes" if channel.critical else "no"
        self._send(200, (text + "\n").encode(), "text/plain")


class _ControlHandler(_Handler):
    def do_GET(self) -> None:
        if self.path == "/requests":
            records = [asdict(r) for r in self.server.emulator.requests()]
            self._send(200, json.dumps(records).encode())
        else:
            self._send(404, b"{}")

    def do_POST(self) -> None:
        emu = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        try:
            args = json.loads(self.rfile.read(min(length, 65536)) or b"{}")
            if self.path == "/group":
                emu.set_group(**args)
            elif self.path == "/cluster":
                emu.set_cluster(**args)
            elif self.path == "/channel":
                emu.set_channel(**args)
            elif self.path == "/mode":
                emu.set_mode(args["mode"])
            else:
                self._send(404, b"{}")
                return
        except (ValueError, TypeError, KeyError) as e:
            self._send(400, json.dumps({"error": str(e)}).encode())
            return
        self._send(200, b"{}")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.emulator", description="Run the Teleport cluster emulator."
    )
    parser.add_argument("--cert", type=Path, required=True, help="server certificate (PEM)")
    parser.add_argument("--key", type=Path, required=True, help="server key (PEM)")
    parser.add_argument("--port", type=int, default=0, help="HTTPS port (default: a free one)")
    parser.add_argument("--version", default="17.2.1", help="agent version for group default")
    parser.add_argument("--in-window", action="store_true", help="open the default group window")
    args = parser.parse_args()
    emu = ClusterEmulator(CertPair(args.cert, args.key), port=args.port).start()
    emu.set_group("default", version=args.version, in_window=args.in_window)
    print(json.dumps({"proxy_addr": emu.proxy_addr, "control_url": emu.control_url}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emu.stop()


if __name__ == "__main__":
    main()
