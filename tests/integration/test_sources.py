"""The find and channel clients against the real emulator over TLS, through real tinyproxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.clock import ManualClock
from engine.errors import BadAnswer, InvalidInput, TransportError
from engine.policy.answers import Edition
from engine.sources.channel import ChannelClient
from engine.sources.cluster import ask_cluster
from engine.sources.find import find
from engine.sources.transport import Secret, TransportConfig, make_client
from engine.versions import Version
from sandbox.certs import SandboxCA
from sandbox.emulator import ClusterEmulator, Hostile
from sandbox.ports import free_port
from sandbox.proxy import TinyProxy
from tests.fixtures.network import PROXY_PASSWORD, PROXY_USER

pytestmark = pytest.mark.integration


@pytest.fixture
def client(sandbox_ca: SandboxCA) -> Iterator[httpx.Client]:
    with make_client(
        TransportConfig(ca_bundle=sandbox_ca.ca_path, timeout_seconds=2, trust_env=False)
    ) as c:
        yield c


def test_find_happy_path_sends_group_and_update_id(
    emulator: ClusterEmulator, client: httpx.Client
) -> None:
    emulator.set_group("staging", version="17.3.0", in_window=True, jitter=30)
    answer = find(client, emulator.proxy_addr, group="staging", update_id="0b5e-id")
    assert answer.server_version == Version.parse("17.2.1")
    assert answer.edition is Edition.ENTERPRISE
    assert answer.edition_reported
    assert answer.auto_update is not None
    assert answer.auto_update.agent_version == Version.parse("17.3.0")
    assert answer.auto_update.agent_auto_update is True
    assert answer.auto_update.jitter_seconds == 30
    (request,) = emulator.requests()
    assert request.path == "/webapi/find"
    assert request.query == {"group": "staging", "update_id": "0b5e-id"}


def test_find_group_defaults_to_default(emulator: ClusterEmulator, client: httpx.Client) -> None:
    find(client, emulator.proxy_addr)
    assert emulator.requests()[0].query == {"group": "default"}


def test_old_proxy_without_edition_is_community(
    emulator: ClusterEmulator, client: httpx.Client
) -> None:
    emulator.set_cluster(edition=None, fips=None)
    answer = find(client, emulator.proxy_addr)
    assert answer.edition is Edition.COMMUNITY
    assert not answer.edition_reported


def test_v1_cluster_answers_without_auto_update(
    emulator: ClusterEmulator, client: httpx.Client
) -> None:
    emulator.set_cluster(manages_agents=False)
    assert find(client, emulator.proxy_addr).auto_update is None


def test_missing_jitter_defaults_to_60(emulator: ClusterEmulator, client: httpx.Client) -> None:
    emulator.set_group("default", jitter=None)
    emulator._state.groups["default"].jitter = None
    answer = find(client, emulator.proxy_addr)
    assert answer.auto_update is not None
    assert answer.auto_update.jitter_seconds == 60


@pytest.mark.parametrize(
    ("mode", "error", "words"),
    [
        (Hostile.MALFORMED_JSON, BadAnswer, "did not answer with JSON"),
        (Hostile.WRONG_TYPES, BadAnswer, "agent_auto_update"),
        (Hostile.HUGE_BODY, BadAnswer, "too large"),
        (Hostile.SLOW_DRIP, TransportError, "timed out"),
        (Hostile.SERVER_ERROR, BadAnswer, "HTTP 500"),
        (Hostile.REDIRECT_PLAIN_HTTP, TransportError, "plain HTTP"),
        (Hostile.REDIRECT_OTHER_HOST, TransportError, "localhost.invalid"),
    ],
    ids=[
        "malformed json",
        "wrong types",
        "10 MB body",
        "slow drip",
        "500",
        "redirect to http",
        "redirect to another host",
    ],
)
def test_hostile_find_answers_fail_clearly(
    emulator: ClusterEmulator,
    client: httpx.Client,
    mode: Hostile,
    error: type[Exception],
    words: str,
) -> None:
    emulator.set_mode(mode)
    with pytest.raises(error, match=words):
        find(client, emulator.proxy_addr)


def test_channel_via_the_proxy(emulator: ClusterEmulator, client: httpx.Client) -> None:
    emulator.set_channel("stable/cloud", version="17.4.2", critical=True)
    answer = ChannelClient(client, proxy_address=emulator.proxy_addr).get()
    assert answer.version == Version.parse("17.4.2")
    assert answer.critical is True
    paths = [r.path for r in emulator.requests()]
    assert paths == [
        "/v1/webapi/automaticupgrades/channel/stable/cloud/version",
        "/v1/webapi/automaticupgrades/channel/stable/cloud/critical",
    ]


def test_channel_none_and_public_url_form(emulator: ClusterEmulator, client: httpx.Client) -> None:
    emulator.set_channel("stable/rolling", version=None)
    base = f"https://{emulator.proxy_addr}/v1/webapi/automaticupgrades/channel/stable/rolling"
    answer = ChannelClient(client, base_url=base).get()
    assert answer.version is None
    assert answer.critical is False


def test_channel_answers_are_cached_for_a_minute(
    emulator: ClusterEmulator, client: httpx.Client
) -> None:
    clock = ManualClock()
    channel = ChannelClient(client, proxy_address=emulator.proxy_addr, clock=clock)
    first = channel.get()
    emulator.set_channel("stable/cloud", version="18.0.0")
    clock.advance(59)
    assert channel.get() == first
    clock.advance(2)
    assert channel.get().version == Version.parse("18.0.0")
    assert len(emulator.requests()) == 4


def test_garbage_critical_flag_is_an_error(emulator: ClusterEmulator, client: httpx.Client) -> None:
    emulator.set_mode(Hostile.GARBAGE_CRITICAL)
    with pytest.raises(BadAnswer, match="'perhaps'"):
        ChannelClient(client, proxy_address=emulator.proxy_addr).get()


def test_unknown_channel_is_an_http_error(emulator: ClusterEmulator, client: httpx.Client) -> None:
    with pytest.raises(BadAnswer, match="HTTP 404"):
        ChannelClient(client, proxy_address=emulator.proxy_addr, channel="nope/x").get()


def test_through_the_real_proxy(
    emulator: ClusterEmulator, sandbox_ca: SandboxCA, tinyproxy: TinyProxy
) -> None:
    config = TransportConfig(ca_bundle=sandbox_ca.ca_path, proxy_url=tinyproxy.url)
    with make_client(config) as client:
        assert find(client, emulator.proxy_addr).server_version == Version.parse("17.2.1")
    tinyproxy.wait_for_log(f"CONNECT 127.0.0.1:{emulator.port}")


def test_through_the_authenticated_proxy(
    emulator: ClusterEmulator, sandbox_ca: SandboxCA, tinyproxy_auth: TinyProxy
) -> None:
    good = TransportConfig(
        ca_bundle=sandbox_ca.ca_path,
        proxy_url=tinyproxy_auth.url,
        proxy_username=PROXY_USER,
        proxy_password=Secret(PROXY_PASSWORD),
    )
    with make_client(good) as client:
        assert find(client, emulator.proxy_addr).cluster_name == "sandbox.example.com"
    bad = TransportConfig(
        ca_bundle=sandbox_ca.ca_path,
        proxy_url=tinyproxy_auth.url,
        proxy_username=PROXY_USER,
        proxy_password=Secret("wrong"),
    )
    with make_client(bad) as client, pytest.raises(TransportError, match=r"407|proxy"):
        find(client, emulator.proxy_addr)
    assert "wrong" not in repr(bad)
    assert PROXY_PASSWORD not in repr(good)


def test_https_proxy_from_the_environment(
    emulator: ClusterEmulator,
    sandbox_ca: SandboxCA,
    tinyproxy: TinyProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", tinyproxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with make_client(TransportConfig(ca_bundle=sandbox_ca.ca_path)) as client:
        find(client, emulator.proxy_addr)
    tinyproxy.wait_for_log("CONNECT 127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    before = tinyproxy.log_text().count("CONNECT")
    with make_client(TransportConfig(ca_bundle=sandbox_ca.ca_path)) as client:
        find(client, emulator.proxy_addr)
    assert tinyproxy.log_text().count("CONNECT") == before


@pytest.mark.parametrize("where", ["settings", "environment"])
def test_a_dead_proxy_is_named_not_the_server(
    emulator: ClusterEmulator, sandbox_ca: SandboxCA, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    if where == "environment":
        monkeypatch.setenv("HTTPS_PROXY", dead)
        config = TransportConfig(ca_bundle=sandbox_ca.ca_path)
    else:
        config = TransportConfig(ca_bundle=sandbox_ca.ca_path, proxy_url=dead)
    with (
        make_client(config) as client,
        pytest.raises(TransportError, match=f"cannot reach the HTTP proxy {dead} .*refused"),
    ):
        find(client, emulator.proxy_addr)


def test_unknown_ca_is_named(emulator: ClusterEmulator, tmp_path: Path) -> None:
    other = SandboxCA.create(tmp_path / "other")
    with (
        make_client(TransportConfig(ca_bundle=other.ca_path)) as client,
        pytest.raises(TransportError, match="unknown certificate authority"),
    ):
        find(client, emulator.proxy_addr)


def test_a_replaced_ca_bundle_is_honoured_by_the_next_client(
    emulator: ClusterEmulator, sandbox_ca: SandboxCA, tmp_path: Path
) -> None:
    # clients share a CA store per bundle (loading one costs ~30 ms): a changed file is
    # loaded again, both ways
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(sandbox_ca.ca_path.read_bytes())
    config = TransportConfig(ca_bundle=bundle, trust_env=False)
    with make_client(config) as client:
        find(client, emulator.proxy_addr)
    other = SandboxCA.create(tmp_path / "other")
    bundle.write_bytes(other.ca_path.read_bytes() + b"\n")
    with (
        make_client(config) as client,
        pytest.raises(TransportError, match="unknown certificate authority"),
    ):
        find(client, emulator.proxy_addr)
    bundle.write_bytes(sandbox_ca.ca_path.read_bytes())
    with make_client(config) as client:
        find(client, emulator.proxy_addr)
    bundle.write_text("not a certificate\n")
    with pytest.raises(InvalidInput, match="not a readable PEM bundle"):
        make_client(config)


def test_system_store_does_not_trust_the_sandbox_ca(emulator: ClusterEmulator) -> None:
    with (
        make_client(TransportConfig(trust_env=False)) as client,
        pytest.raises(TransportError, match="unknown certificate authority"),
    ):
        find(client, emulator.proxy_addr)


def test_expired_certificate_is_named(sandbox_ca: SandboxCA, client: httpx.Client) -> None:
    with (
        ClusterEmulator(sandbox_ca.server_pair("expired", expired=True)) as emu,
        pytest.raises(TransportError, match="expired"),
    ):
        find(client, emu.proxy_addr)


def test_name_mismatch_is_named(sandbox_ca: SandboxCA, client: httpx.Client) -> None:
    pair = sandbox_ca.server_pair("elsewhere", names=("proxy.elsewhere.example",))
    with ClusterEmulator(pair) as emu, pytest.raises(TransportError, match="name mismatch"):
        find(client, emu.proxy_addr)


def test_connection_refused_is_named(client: httpx.Client) -> None:
    with pytest.raises(TransportError, match="refused"):
        find(client, f"127.0.0.1:{free_port()}")


def test_dns_failure_is_named(client: httpx.Client) -> None:
    with pytest.raises(TransportError, match="DNS"):
        find(client, "no-such-host.invalid:443")


@pytest.mark.parametrize(
    "address",
    ["https://proxy.example.com", "proxy.example.com/webapi", "proxy:99999", "", "a b"],
    ids=["scheme", "path", "port out of range", "empty", "space"],
)
def test_bad_proxy_addresses_are_named(client: httpx.Client, address: str) -> None:
    with pytest.raises(InvalidInput, match="invalid proxy address"):
        find(client, address)


def test_missing_ca_bundle_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(InvalidInput, match=str(missing)):
        make_client(TransportConfig(ca_bundle=missing))


def test_proxy_url_with_credentials_is_refused() -> None:
    with pytest.raises(InvalidInput, match="must not contain credentials"):
        make_client(TransportConfig(proxy_url="http://bob:pw@127.0.0.1:3128"))


def test_ask_cluster_uses_v2_when_the_cluster_manages_agents(
    emulator: ClusterEmulator, client: httpx.Client
) -> None:
    view = ask_cluster(client, emulator.proxy_addr, group=None, update_id="u")
    assert view.find is not None
    assert view.channel is None
    assert [r.path for r in emulator.requests()] == ["/webapi/find"]


def test_ask_cluster_falls_back_to_the_v1_channel(
    emulator: ClusterEmulator, client: httpx.Client
) -> None:
    emulator.set_cluster(manages_agents=False)
    emulator.set_channel("stable/cloud", version="17.2.3", critical=True)
    view = ask_cluster(client, emulator.proxy_addr, group=None, update_id="u")
    assert view.channel is not None
    assert view.channel.version == Version.parse("17.2.3")
    assert view.find is not None  # kept for the edition and the compatibility rule


def test_ask_cluster_reports_failures_instead_of_raising(client: httpx.Client) -> None:
    view = ask_cluster(client, f"127.0.0.1:{free_port()}", group=None, update_id=None)
    assert view.failure is not None
    assert "refused" in view.failure


def test_ask_cluster_falls_back_when_auto_update_has_only_the_tools_half(
    emulator: ClusterEmulator, client: httpx.Client
) -> None:
    emulator.set_cluster(manages_agents=False, tools_only_auto_update=True)
    emulator.set_channel("stable/cloud", version="17.2.4", critical=False)
    view = ask_cluster(client, emulator.proxy_addr, group=None, update_id="u")
    assert view.failure is None
    assert view.channel is not None and view.channel.version == Version.parse("17.2.4")
    assert [r.path for r in emulator.requests()][-2:] == [
        "/v1/webapi/automaticupgrades/channel/stable/cloud/version",
        "/v1/webapi/automaticupgrades/channel/stable/cloud/critical",
    ]


def test_a_bad_proxy_or_group_in_update_yaml_is_a_failed_ask_not_an_exception() -> None:
    with make_client(TransportConfig(trust_env=False)) as client:
        empty = ask_cluster(client, "", group=None, update_id=None)
        bad_group = ask_cluster(client, "proxy.example:443", group="my group", update_id=None)
    assert empty.failure is not None and "''" in empty.failure
    assert bad_group.failure is not None and "'my group'" in bad_group.failure
