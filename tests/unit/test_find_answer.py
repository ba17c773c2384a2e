"""``parse_find_answer`` against what real proxies send.

The JSON bodies below were written from the struct definitions of Teleport's
``webclient.PingResponse`` / ``AutoUpdateSettings`` (all fields a 17.x proxy serialises on
``/webapi/find``: Go encodes non-``omitempty`` zero values, so ``automatic_upgrades: false``,
``auto_update.tools_*`` and nested ``auth``/``proxy`` objects are always there).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.errors import BadAnswer
from engine.policy.answers import Edition
from engine.sources.find import parse_find_answer
from engine.versions import Version

REAL_FIND_17 = """
{
  "auth": {
    "type": "",
    "private_key_policy": "",
    "piv_slot": "",
    "piv_pin_cache_duration": 0,
    "device_trust": {},
    "has_motd": false,
    "default_session_ttl": "0s",
    "signature_algorithm_suite": 2
  },
  "proxy": {
    "kube": {"enabled": true, "listen_addr": "0.0.0.0:3026"},
    "ssh": {
      "listen_addr": "0.0.0.0:3023",
      "tunnel_listen_addr": "0.0.0.0:3024",
      "web_listen_addr": "0.0.0.0:3080",
      "public_addr": "teleport.example.com:443",
      "dial_timeout": 30000000000
    },
    "db": {"mysql_listen_addr": "0.0.0.0:3036"},
    "tls_routing_enabled": true,
    "assist_enabled": false
  },
  "server_version": "17.2.1",
  "min_client_version": "16.0.0-aa",
  "auto_update": {
    "tools_version": "17.2.1",
    "tools_auto_update": false,
    "agent_version": "17.2.0",
    "agent_auto_update": true,
    "agent_update_jitter_seconds": 60
  },
  "cluster_name": "teleport.example.com",
  "automatic_upgrades": false,
  "edition": "ent",
  "fips": false,
  "license_warnings": ["an unknown future field"],
  "some_future_object": {"nested": [1, 2, {"x": null}]}
}
"""


def real(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REAL_FIND_17)
    for key, value in changes.items():
        if key.startswith("auto_update__"):
            data["auto_update"][key.removeprefix("auto_update__")] = value
        else:
            data[key] = value
    return data


def test_a_real_17x_find_answer_parses_with_all_its_extra_fields() -> None:
    answer = parse_find_answer(json.loads(REAL_FIND_17))
    assert answer.server_version == Version.parse("17.2.1")
    assert answer.edition is Edition.ENTERPRISE
    assert answer.edition_reported and not answer.fips
    assert answer.cluster_name == "teleport.example.com"
    assert answer.automatic_upgrades is False
    assert answer.auto_update is not None
    assert answer.auto_update.agent_version == Version.parse("17.2.0")
    assert answer.auto_update.agent_auto_update is True
    assert answer.auto_update.jitter_seconds == 60


def test_fips_enterprise_and_community_editions() -> None:
    assert parse_find_answer(real(fips=True)).fips
    assert parse_find_answer(real(edition="community")).edition is Edition.COMMUNITY
    assert parse_find_answer(real(edition="oss")).edition is Edition.OSS
    assert parse_find_answer(real(edition="something-new")).edition is Edition.UNKNOWN


def test_a_version_with_a_leading_v_or_a_prerelease_is_accepted() -> None:
    answer = parse_find_answer(real(auto_update__agent_version="v17.3.0-rc.1"))
    assert answer.auto_update is not None
    assert answer.auto_update.agent_version == Version.parse("17.3.0-rc.1")


def test_an_empty_server_version_is_accepted_as_unknown() -> None:
    assert parse_find_answer(real(server_version="")).server_version is None


def test_an_empty_agent_version_is_no_target() -> None:
    answer = parse_find_answer(real(auto_update__agent_version=""))
    assert answer.auto_update is not None and answer.auto_update.agent_version is None


def test_a_proxy_without_auto_update_has_no_agent_management() -> None:
    data = real()
    del data["auto_update"]
    assert parse_find_answer(data).auto_update is None


def test_a_tools_only_auto_update_block_is_no_agent_management() -> None:
    # Proxies that know client-tools updates but not agent updates send only tools_*:
    # that is "fall back to the v1 channel", not "wait for a window that never opens".
    data = real(auto_update={"tools_version": "16.4.6", "tools_auto_update": False})
    assert parse_find_answer(data).auto_update is None


def test_json_null_is_treated_as_absent_like_go_does() -> None:
    answer = parse_find_answer(
        real(
            cluster_name=None,
            automatic_upgrades=None,
            edition=None,
            fips=None,
            auto_update__agent_update_jitter_seconds=None,
        )
    )
    assert answer.cluster_name == ""
    assert answer.edition is Edition.COMMUNITY and not answer.edition_reported
    assert answer.auto_update is not None and answer.auto_update.jitter_seconds == 60
    assert parse_find_answer(real(auto_update=None)).auto_update is None


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"server_version": None}, "server_version"),
        ({"server_version": "seventeen"}, "server_version"),
        ({"edition": 1}, "edition"),
        ({"fips": "yes"}, "fips"),
        ({"auto_update": "soon"}, "auto_update"),
        ({"auto_update__agent_version": 17}, "auto_update.agent_version"),
        ({"auto_update__agent_version": "17.x"}, "auto_update.agent_version"),
        ({"auto_update__agent_auto_update": "true"}, "auto_update.agent_auto_update"),
        ({"auto_update__agent_update_jitter_seconds": "60"}, "agent_update_jitter_seconds"),
        ({"auto_update__agent_update_jitter_seconds": -1}, "agent_update_jitter_seconds"),
        ({"auto_update__agent_update_jitter_seconds": True}, "agent_update_jitter_seconds"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, Any], named: str) -> None:
    with pytest.raises(BadAnswer, match=named.replace(".", r"\.")):
        parse_find_answer(real(**changes))


def test_a_non_object_answer_is_refused() -> None:
    with pytest.raises(BadAnswer, match="JSON object"):
        parse_find_answer([1, 2])  # type: ignore[arg-type]
