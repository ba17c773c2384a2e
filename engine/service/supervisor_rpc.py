"""supervisord's own XML-RPC interface over its Unix socket (what ``supervisorctl`` speaks).

    rpc = SupervisorRpc.from_config(Path("/etc/supervisor/supervisord.conf"))  # or None
    rpc.call("supervisor.getProcessInfo", "teleport", timeout=30)

One call costs a connection and a few hundred bytes; ``supervisorctl`` is a Python program
of its own (~0.1-0.3 s of CPU per call), which a wave of updates polling every agent's
state paid hundreds of times over. ``from_config`` answers None when the config names no
Unix socket or asks for a password; the caller then runs ``supervisorctl``. The XML and
HTTP modules load on the first call (a systemd host never needs them).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

__all__ = [
    "FAULT_ALREADY_STARTED",
    "FAULT_BAD_NAME",
    "FAULT_NOT_RUNNING",
    "SupervisorFault",
    "SupervisorRpc",
]

FAULT_BAD_NAME = 10
FAULT_ALREADY_STARTED = 60
FAULT_NOT_RUNNING = 70


class SupervisorFault(Exception):
    """supervisord refused the call: its fault code (``FAULT_*``) and text."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class SupervisorRpc:
    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path

    @classmethod
    def from_config(cls, config: Path) -> SupervisorRpc | None:
        """The socket ``[supervisorctl] serverurl = unix://...`` (or ``[unix_http_server]
        file``) names, when no user name is configured; None otherwise."""
        import configparser  # noqa: PLC0415 - only on a supervisord host

        parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"))
        try:
            parser.read(config)
        except (OSError, configparser.Error):
            return None
        ctl = dict(parser["supervisorctl"]) if parser.has_section("supervisorctl") else {}
        server = dict(parser["unix_http_server"]) if parser.has_section("unix_http_server") else {}
        if ctl.get("username") or server.get("username"):
            return None
        url = ctl.get("serverurl", "")
        if url.startswith("unix://"):
            return cls(Path(url.removeprefix("unix://")))
        if not url and server.get("file"):
            return cls(Path(server["file"]))
        return None

    def call(self, method: str, *args: Any, timeout: float) -> Any:
        """One XML-RPC call on a connection of its own. Raises SupervisorFault
        (supervisord's refusal), TimeoutError, or OSError (nothing listens, or it answered
        something not XML-RPC)."""
        import http.client  # noqa: PLC0415 - only on a supervisord host
        import xmlrpc.client  # noqa: PLC0415
        from xml.parsers.expat import ExpatError  # noqa: PLC0415

        body = xmlrpc.client.dumps(args, method).encode()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection = http.client.HTTPConnection("supervisord", timeout=timeout)
        try:
            sock.settimeout(timeout)
            sock.connect(str(self.socket_path))
            connection.sock = sock
            connection.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
            with connection.getresponse() as response:
                answer = response.read()
                status = response.status
        except http.client.HTTPException as e:
            raise OSError(f"supervisord answered {method} with broken HTTP: {e}") from e
        finally:
            connection.close()
            sock.close()
        if status != 200:
            raise OSError(f"supervisord answered {method} with HTTP {status}")
        try:
            (result,), _ = xmlrpc.client.loads(answer)
        except xmlrpc.client.Fault as e:
            raise SupervisorFault(e.faultCode, e.faultString) from e
        except (xmlrpc.client.ResponseError, ExpatError, ValueError) as e:
            raise OSError(f"supervisord answered {method} with something not XML-RPC: {e}") from e
        return result
