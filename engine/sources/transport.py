"""HTTPS transport shared by the find client, the v1 channel client and downloads.

- TLS is always verified: against the system CA store or a configured CA bundle.
- An HTTP(S) proxy comes from settings (credentials from the keyring, never from a file) or
  from ``HTTPS_PROXY``/``NO_PROXY`` when ``trust_env`` is on.
- Redirects are followed by hand: only https -> https, at most ``max_redirects``.
- Every body read is capped; errors say what went wrong in words a user can act on.
"""

from __future__ import annotations

import functools
import socket
import ssl
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from engine.errors import BadAnswer, InvalidInput, TransportError
from engine.sources.batched_reads import use_batched_reads

__all__ = [
    "Secret",
    "TransportConfig",
    "describe_error",
    "get_bounded",
    "make_client",
    "open_stream",
    "proxy_for",
]

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_BODY_BYTES = 1 << 20
USER_AGENT = "agent-shepherd/0.1"


class Secret:
    """A string that never shows itself in repr/str/logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass(frozen=True)
class TransportConfig:
    ca_bundle: Path | None = None
    proxy_url: str | None = None
    proxy_username: str | None = None
    proxy_password: Secret | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_redirects: int = 5
    trust_env: bool = True


def _ssl_context(config: TransportConfig) -> ssl.SSLContext:
    """The verifying context for ``config``'s CA bundle (the system's when None). Loading a
    CA store costs ~30 ms of CPU, so a context is shared by every client with the same
    bundle for as long as the bundle file is unchanged (its inode, size and mtime)."""
    if config.ca_bundle is None:
        default = ssl.get_default_verify_paths()
        return _cached_context(None, _file_identity(default.cafile), _file_identity(default.capath))
    path = config.ca_bundle
    if not path.is_file():
        raise InvalidInput(f"CA bundle {str(path)!r} does not exist or is not a file")
    try:
        return _cached_context(str(path), _file_identity(str(path)), None)
    except (OSError, ssl.SSLError) as e:
        raise InvalidInput(f"CA bundle {str(path)!r} is not a readable PEM bundle: {e}") from e


def _file_identity(path: str | None) -> tuple[int, int, int] | None:
    try:
        info = Path(path).stat() if path else None
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns) if info else None


@functools.lru_cache(maxsize=8)
def _cached_context(
    cafile: str | None,
    file_identity: tuple[int, int, int] | None,
    dir_identity: tuple[int, int, int] | None,
) -> ssl.SSLContext:
    """A new context per (bundle, identity): the identities only key the cache."""
    return ssl.create_default_context(cafile=cafile)


def _proxy(config: TransportConfig) -> httpx.Proxy | None:
    if not config.proxy_url:
        return None
    parts = urlsplit(config.proxy_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInput(f"HTTP proxy URL {config.proxy_url!r} must look like http://host:port")
    if parts.username or parts.password:
        raise InvalidInput(
            "HTTP proxy URL must not contain credentials; set the user name in settings "
            "and the password in the keyring"
        )
    auth = None
    if config.proxy_username:
        password = config.proxy_password.reveal() if config.proxy_password else ""
        auth = (config.proxy_username, password)
    return httpx.Proxy(config.proxy_url, auth=auth)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def make_client(config: TransportConfig) -> httpx.Client:
    """Build a client that verifies TLS, uses the proxy and never follows redirects itself.

    Raises:
        InvalidInput: the CA bundle or proxy URL is unusable (named).
    """
    client = httpx.Client(
        verify=_ssl_context(config),
        proxy=_proxy(config),
        trust_env=config.trust_env and not config.proxy_url,
        timeout=httpx.Timeout(config.timeout_seconds),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )
    client.shepherd_proxy_url = config.proxy_url  # type: ignore[attr-defined]  # for errors
    use_batched_reads(client)  # a download at curl's pace: engine/sources/batched_reads.py
    return client


def proxy_for(client: httpx.Client, url: str) -> str | None:
    """The HTTP proxy ``client`` sends ``url`` through (configured or from the environment),
    without credentials, for error messages; None when it goes direct."""
    configured: str | None = getattr(client, "shepherd_proxy_url", None)
    if configured:
        return configured
    if not client.trust_env:
        return None
    host = urlsplit(url).hostname or ""
    if urllib.request.proxy_bypass(host):
        return None
    found = urllib.request.getproxies().get(urlsplit(url).scheme)
    if not found:
        return None
    parts = urlsplit(found)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


@contextmanager
def open_stream(
    client: httpx.Client,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    max_redirects: int = 5,
) -> Iterator[httpx.Response]:
    """GET ``url`` as a stream, following only https -> https redirects.

    Raises:
        TransportError: connection, TLS, proxy, timeout or redirect problems (in words).
    """
    current = url
    for _ in range(max_redirects + 1):
        _require_https(current, original=url)
        try:
            request = client.build_request("GET", current, headers=headers)
            response = client.send(request, stream=True)
        except httpx.HTTPError as e:
            raise TransportError(describe_error(e, current, proxy_for(client, current))) from e
        if response.is_redirect:
            location = response.headers.get("location", "")
            response.close()
            previous, current = current, urljoin(current, location)
            if not current.startswith("https://"):
                raise TransportError(f"refusing redirect to plain HTTP {current} (from {url})")
            if headers and _origin(current) != _origin(previous):
                # A mirror token is for the mirror only: never hand it to another host.
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            continue
        if response.status_code == 407:
            response.close()
            raise TransportError(
                f"the HTTP proxy refused the credentials (407 Proxy Authentication Required) "
                f"while fetching {url}"
            )
        try:
            yield response
        finally:
            response.close()
        return
    raise TransportError(f"too many redirects (more than {max_redirects}) fetching {url}")


def get_bounded(
    client: httpx.Client,
    url: str,
    *,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_redirects: int = 5,
    headers: dict[str, str] | None = None,
) -> bytes:
    """GET a small body (an API answer, a checksum) with a size cap; 200 only.

    Raises:
        TransportError: as ``open_stream``.
        BadAnswer: a non-200 status, or a body larger than ``max_bytes``.
    """
    total = client.timeout.read or DEFAULT_TIMEOUT_SECONDS
    deadline = time.monotonic() + total
    with open_stream(client, url, headers=headers, max_redirects=max_redirects) as response:
        if response.status_code != 200:
            raise BadAnswer(f"{url} answered HTTP {response.status_code}")
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise BadAnswer(f"answer from {url} is too large ({declared} bytes > {max_bytes})")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if time.monotonic() > deadline:
                    raise TransportError(
                        f"timed out reading the answer from {url} (over {total:.0f} s in total)"
                    )
                if size > max_bytes:
                    raise BadAnswer(f"answer from {url} is too large (over {max_bytes} bytes)")
                chunks.append(chunk)
        except httpx.HTTPError as e:
            raise TransportError(describe_error(e, url, proxy_for(client, url))) from e
        return b"".join(chunks)


def _require_https(url: str, *, original: str) -> None:
    if not url.startswith("https://"):
        raise TransportError(f"refusing to fetch {url} over plain HTTP (from {original})")


def describe_error(error: httpx.HTTPError, url: str, proxy: str | None = None) -> str:
    """One sentence naming the cause of a failed request (``proxy``: the HTTP proxy the
    request went through, if any, so a dead proxy is not taken for a dead server)."""
    host = urlsplit(url).hostname or url
    if isinstance(error, httpx.ProxyError):
        return f"the HTTP proxy failed while connecting to {host}: {error}"
    if proxy is not None and isinstance(error, httpx.ConnectError):
        return f"cannot reach the HTTP proxy {proxy} (for {host}): {_connect_reason(error)}"
    if isinstance(error, httpx.TimeoutException):
        return f"timed out talking to {host} ({type(error).__name__})"
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS verification of {host} failed: {_tls_reason(cause)}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake with {host} failed: {cause.reason or cause}"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve host name {host!r} (DNS lookup failed)"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection to {host} refused (nothing listening on {_port(url)})"
        cause = cause.__cause__ or cause.__context__
    text = str(error)
    if "Name or service not known" in text or "nodename nor servname" in text:
        return f"cannot resolve host name {host!r} (DNS lookup failed)"
    if "Connection refused" in text:
        return f"connection to {host} refused (nothing listening on {_port(url)})"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"{host} closed the connection or broke the HTTP protocol: {text}"
    return f"request to {host} failed: {text or type(error).__name__}"


def _connect_reason(error: httpx.ConnectError) -> str:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "its host name does not resolve"
        cause = cause.__cause__ or cause.__context__
    return str(error) or type(error).__name__


def _tls_reason(error: ssl.SSLCertVerificationError) -> str:
    message = (error.verify_message or "").lower()
    if (
        "unable to get local issuer" in message
        or "self-signed" in message
        or ("self signed" in message)
    ):
        return "unknown certificate authority (configure the CA bundle that signed it)"
    if "expired" in message:
        return "the server's certificate has expired"
    if "hostname mismatch" in message or "ip address mismatch" in message:
        return "the certificate is for a different host name (name mismatch)"
    if "not yet valid" in message:
        return "the server's certificate is not yet valid (check the clock)"
    return error.verify_message or str(error)


def _port(url: str) -> str:
    parts = urlsplit(url)
    return str(parts.port or (443 if parts.scheme == "https" else 80))
