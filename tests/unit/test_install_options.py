"""What ``shepherd install`` accepts: each bad option is refused naming its value, and the
proxy falls back to the agent config's, as teleport-update's does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import InvalidInput
from engine.update.install_options import InstallRequest, config_proxy


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"agent": "bad name"}, "bad name"),
        ({"agent": "system"}, "system"),
        ({"agent": 7}, "7"),
        ({"agent": "fresh", "proxy": ""}, "'proxy'"),
        ({"agent": "fresh", "group": ["a"]}, "['a']"),
        ({"agent": "fresh", "base_url": "http://cdn.example"}, "http://cdn.example"),
        ({"agent": "fresh", "link_dir": "bin"}, "'bin'"),
        ({"agent": "fresh", "force": "yes"}, "'yes'"),
    ],
    ids=[
        "a name with a space",
        "a reserved name",
        "not a string",
        "an empty proxy",
        "a group that is a list",
        "a plain-HTTP base URL",
        "a relative link dir",
        "force not a bool",
    ],
)
def test_a_bad_option_is_refused_naming_it(body: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        InstallRequest.from_json(body)
    assert named in str(caught.value)


def test_the_options_are_kept_trimmed() -> None:
    request = InstallRequest.from_json(
        {"agent": "fresh", "proxy": " proxy.example:443 ", "link_dir": "/opt/tp/bin"}
    )
    assert (request.namespace, request.proxy, request.link_dir) == (
        "fresh",
        "proxy.example:443",
        "/opt/tp/bin",
    )
    assert request.group is None and request.base_url is None and not request.force


@pytest.mark.parametrize(
    ("text", "proxy"),
    [
        ("version: v3\nteleport:\n  proxy_server: proxy.example:443\n", "proxy.example:443"),
        ("version: v2\nteleport:\n  auth_server: auth.example:3025\n", "auth.example:3025"),
        ("teleport:\n  data_dir: /var/lib/teleport\n", None),
        ("", None),
        ("- not\n- a mapping\n", None),
        ("teleport: [\n", None),
    ],
    ids=["proxy_server", "auth_server", "neither", "empty", "a list", "not YAML"],
)
def test_the_proxy_comes_from_the_agent_config(
    tmp_path: Path, text: str, proxy: str | None
) -> None:
    config = tmp_path / "teleport.yaml"
    config.write_text(text)
    assert config_proxy(config) == proxy


def test_a_missing_agent_config_names_no_proxy(tmp_path: Path) -> None:
    assert config_proxy(tmp_path / "missing.yaml") is None
