"""Host settings: declared once, validated with errors naming the key, written atomically,
schema 1 migrated, change on disk detected, and turned into LocalSettings/TransportConfig."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
import trustme

from engine.errors import InvalidInput, InvalidSetting
from engine.policy.schedule import LocalWindow
from engine.settings.file import SettingsFile, parse_assignment, parse_settings, render_settings
from engine.settings.model import (
    Settings,
    transport_config,
)
from engine.settings.schema import OPTIONS, describe, option_for
from engine.settings.secrets import open_store
from engine.update.host import HostConfig

GOLDEN = Path(__file__).parent.parent / "golden" / "settings"
REGENERATE = os.environ.get("SHEPHERD_REGENERATE_GOLDEN") == "1"


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def settings_file(tmp_path: Path) -> SettingsFile:
    return SettingsFile(tmp_path / "root")


FULL = {
    "secrets.backend": "file",
    "network.http_proxy": "http://proxy.example:3128",
    "network.proxy_user": "shepherd",
    "download.base_url": "https://mirror.example/teleport/",
    "canary.order": "staging, prod",
    "canary.soak": "2h",
    "policy.critical_bypasses_local_window": "false",
    "policy.poll_interval": "10m",
    "notifications.on_update": "no",
    "agents.staging.group": "canary",
    "agents.staging.proxy": "teleport.example.com:443",
    "agents.staging.windows": "mon,wed 02:00 2h Europe/Berlin; sat 03:00 90m",
    "agents.staging.blackouts": '[{days = "daily", start = "12:00", duration = "1h"}]',
    "agents.prod.base_url": "https://prod-mirror.example",
    "agents.prod.channel": "stable/rolling",
}


def test_no_file_means_the_declared_defaults(settings_file: SettingsFile) -> None:
    settings = settings_file.load()
    assert settings.get("secrets.backend") == "file"
    assert settings.get("policy.poll_interval") == timedelta(minutes=5)
    assert settings.get("canary.soak") == timedelta(hours=1)
    assert settings.get("policy.critical_bypasses_local_window") is True
    assert settings.get("network.http_proxy") is None
    assert settings.get("agents.anything.windows") == ()
    assert settings.namespaces == ()
    assert not settings_file.path.exists()
    assert not settings_file.changed_on_disk()


def test_round_trip_through_the_file_matches_the_golden(
    settings_file: SettingsFile, ca_file: Path
) -> None:
    settings = settings_file.update({**FULL, "network.ca_bundle": str(ca_file)})
    text = settings_file.path.read_text()
    assert oct(settings_file.path.stat().st_mode & 0o777) == oct(0o644)
    assert settings_file.load() == settings
    assert render_settings(parse_settings(text)) == text
    assert settings.namespaces == ("prod", "staging")
    assert settings.get("agents.staging.windows") == (
        LocalWindow.parse(
            {
                "days": ["mon", "wed"],
                "start": "02:00",
                "duration": "2h",
                "timezone": "Europe/Berlin",
            }
        ),
        LocalWindow.parse({"days": "sat", "start": "03:00", "duration": "1h30m"}),
    )
    assert settings.get("canary.order") == ("staging", "prod")
    assert settings.get("notifications.on_update") is False
    golden = GOLDEN / "full.toml"
    without_ca = text.replace(str(ca_file), "/etc/ssl/private-ca.pem")
    if REGENERATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(without_ca)
    assert without_ca == golden.read_text()


def test_set_one_key_from_a_cli_assignment(settings_file: SettingsFile) -> None:
    key, value = parse_assignment("agents.staging.group=canary")
    settings = settings_file.set(key, value)
    assert settings.get("agents.staging.group") == "canary"
    assert '[agents.staging]\ngroup = "canary"\n' in settings_file.path.read_text()
    with pytest.raises(InvalidInput, match="KEY=VALUE"):
        parse_assignment("agents.staging.group")


def test_unset_restores_the_default_and_removes_an_agent(settings_file: SettingsFile) -> None:
    settings_file.update(FULL)
    settings = settings_file.unset("canary.soak")
    assert settings.get("canary.soak") == timedelta(hours=1)
    assert not settings.is_set("canary.soak")
    settings = settings_file.unset("agents.staging.windows")
    assert settings.get("agents.staging.windows") == ()
    assert settings.get("agents.staging.group") == "canary"
    settings = settings_file.unset("agents.staging")
    assert settings.namespaces == ("prod",)
    assert "staging]" not in settings_file.path.read_text()


BAD_VALUES = [
    ("download.base_url", "http://cdn.example", "must use https://"),
    ("agents.prod.base_url", "ftp://mirror.example", "must use https://"),
    ("download.base_url", "https://user:tok@cdn.example", "must not contain credentials"),
    ("network.http_proxy", "http://alice:hunter2@proxy.example:3128", "credentials"),
    ("network.http_proxy", "socks5://proxy.example:1080", "must use http:// or https://"),
    ("network.http_proxy", "http://proxy.example:3128/path", "without a path"),
    ("network.http_proxy", "http://proxy.example", "needs a port"),
    ("network.ca_bundle", "/nonexistent/ca.pem", "does not exist"),
    ("network.ca_bundle", "relative/ca.pem", "absolute path"),
    ("network.proxy_user", "al ice", "no spaces"),
    ("agents.staging.windows", "mon 25:00 1h", "invalid start '25:00'"),
    ("agents.staging.windows", "funday 02:00 1h", "unknown weekday 'funday'"),
    ("agents.staging.windows", "mon 02:00 9d", "invalid duration '9d'"),
    ("agents.staging.windows", "mon 02:00 1h Mars/Olympus", "invalid time zone"),
    ("agents.staging.blackouts", "[{start = '02:00', duration = '1h', color = 'red'}]", "color"),
    ("agents.staging.windows", "mon 02:00", "expected DAYS HH:MM DURATION"),
    ("policy.poll_interval", "5x", "'5x' is not a duration"),
    ("policy.poll_interval", "10s", "out of range"),
    ("canary.soak", "forever", "not a duration"),
    ("canary.order", "staging, staging", "listed twice"),
    ("canary.order", "bad name", "invalid agent namespace"),
    ("policy.critical_bypasses_local_window", "maybe", "not true or false"),
    ("secrets.backend", "plaintext", "not one of secret-service, file"),
    ("agents.staging.proxy", "https://teleport.example.com", "host\\[:port\\]"),
    ("agents.staging.group", "has space", "letters, digits"),
    ("agents.staging.channel", "../etc", "v1 channel"),
]


@pytest.mark.parametrize(
    ("key", "value", "message"), BAD_VALUES, ids=[f"{k}={v}" for k, v, _ in BAD_VALUES]
)
def test_a_bad_value_is_named_and_the_old_file_kept_byte_for_byte(
    settings_file: SettingsFile, key: str, value: str, message: str
) -> None:
    settings_file.update(FULL)
    before = settings_file.path.read_bytes()
    before_stat = settings_file.path.stat()
    with pytest.raises(InvalidInput, match=message) as raised:
        settings_file.set(key, value)
    assert key in str(raised.value)
    assert "hunter2" not in str(raised.value)
    assert settings_file.path.read_bytes() == before
    assert settings_file.path.stat().st_ino == before_stat.st_ino
    assert sorted(p.name for p in settings_file.path.parent.iterdir()) == ["settings.toml"]


@pytest.mark.parametrize(
    "key",
    ["nope", "network.nope", "agents.staging.nope", "agents.staging", "agents..group", "schema"],
)
def test_an_unknown_key_is_named_and_the_old_file_kept(
    settings_file: SettingsFile, key: str
) -> None:
    settings_file.update(FULL)
    before = settings_file.path.read_bytes()
    with pytest.raises(InvalidInput, match="unknown setting"):
        settings_file.set(key, "x")
    assert settings_file.path.read_bytes() == before


def test_a_batch_with_one_bad_value_changes_nothing(settings_file: SettingsFile) -> None:
    settings_file.update(FULL)
    before = settings_file.path.read_bytes()
    with pytest.raises(InvalidInput, match=r"download\.base_url"):
        settings_file.update({"canary.soak": "3h", "download.base_url": "http://cdn"})
    assert settings_file.path.read_bytes() == before


HAND_EDITED_BAD = [
    ("[download]\nbase_url = 'http://cdn.example'\n", "download.base_url"),
    ("[network]\nca_bundle = '/missing.pem'\n", "network.ca_bundle"),
    ("[policy]\npoll_interval = 300\n", "policy.poll_interval"),
    ("[agents.staging]\nwindows = [{days = 'mon', start = '2am', duration = '1h'}]\n", "start"),
    ("[netwerk]\nhttp_proxy = 'http://p:1'\n", "'netwerk'"),
    ("network = 'http://p:1'\n", "must be a table"),
    ("[agents.bad_name]\ngroup = 'x'\n", "bad_name"),
    ("schema = 3\n", "unknown settings schema 3"),
    ("[network\n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), HAND_EDITED_BAD, ids=[m for _, m in HAND_EDITED_BAD])
def test_a_bad_hand_edited_file_is_a_clear_error(
    settings_file: SettingsFile, text: str, message: str
) -> None:
    settings_file.path.parent.mkdir(parents=True)
    settings_file.path.write_text(text)
    with pytest.raises(InvalidInput, match=message) as raised:
        settings_file.load()
    assert str(settings_file.path) in str(raised.value)
    with pytest.raises(InvalidInput):
        settings_file.set("canary.soak", "2h")
    assert settings_file.path.read_text() == text


SCHEMA_1 = """\
# written by agent-shepherd 0.0.x
schema = 1
secrets_backend = "secret-service"
http_proxy = "http://proxy.example:3128"
proxy_user = "shepherd"
cdn_base_url = "https://mirror.example/teleport"
canary_order = ["staging"]
canary_soak_minutes = 90
critical_bypasses_local_window = false
poll_interval_seconds = 120
notify = ["failure", "rollback"]

[agent.staging]
group = "canary"
proxy_address = "teleport.example.com:443"
maintenance_windows = [{days = ["sat", "sun"], start = "01:00", duration = "3h"}]

[agent.prod]
cdn_base_url = "https://prod-mirror.example"
blackouts = [{days = "weekdays", start = "09:00", duration = "8h", timezone = "Europe/Paris"}]
"""


def test_schema_1_is_migrated_in_memory_and_on_disk(settings_file: SettingsFile) -> None:
    settings_file.path.parent.mkdir(parents=True)
    settings_file.path.write_text(SCHEMA_1)
    settings = settings_file.load()
    assert settings.migrated_from == 1
    assert settings.get("secrets.backend") == "secret-service"
    assert settings.get("download.base_url") == "https://mirror.example/teleport"
    assert settings.get("canary.soak") == timedelta(minutes=90)
    assert settings.get("policy.poll_interval") == timedelta(minutes=2)
    assert settings.get("policy.critical_bypasses_local_window") is False
    assert settings.get("notifications.on_update") is False
    assert settings.get("notifications.on_failure") is True
    assert settings.get("agents.staging.proxy") == "teleport.example.com:443"
    assert len(settings.get("agents.staging.windows")) == 1  # type: ignore[arg-type]
    assert settings.get("agents.prod.base_url") == "https://prod-mirror.example"
    assert settings_file.path.read_text() == SCHEMA_1  # loading never writes

    assert settings_file.migrate() == 1
    backup = settings_file.path.with_name("settings.toml.schema1.bak")
    assert backup.read_text() == SCHEMA_1
    text = settings_file.path.read_text()
    assert "schema = 2" in text
    assert "[agents.staging]" in text
    migrated = settings_file.load()
    assert migrated.migrated_from is None
    assert migrated == settings
    assert settings_file.migrate() is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema = 1\ncdn_url = 'https://x'\n", "unknown setting 'cdn_url'"),
        ("schema = 1\ncdn_base_url = 'http://x'\n", "download.base_url.*https://"),
        ("schema = 1\ncanary_soak_minutes = -5\n", "canary_soak_minutes"),
        ("schema = 1\nnotify = ['everything']\n", "notify"),
        ("schema = 1\n[agent.staging]\nwindow = []\n", "agent.staging.window"),
    ],
)
def test_a_bad_schema_1_file_names_the_old_key(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_settings(text)


def test_a_change_on_disk_is_detected(settings_file: SettingsFile) -> None:
    settings_file.update(FULL)
    assert not settings_file.changed_on_disk()
    text = settings_file.path.read_text()
    stat = settings_file.path.stat()
    # Same size and mtime, different content: the hash still tells.
    settings_file.path.write_text(text.replace('"2h"', '"3h"'))
    os.utime(settings_file.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert settings_file.changed_on_disk()
    assert settings_file.load().get("canary.soak") == timedelta(hours=3)
    assert not settings_file.changed_on_disk()
    settings_file.path.unlink()
    assert settings_file.changed_on_disk()


def test_transport_config_takes_the_password_from_the_secret_store(
    settings_file: SettingsFile, ca_file: Path, tmp_path: Path
) -> None:
    store = open_store("file", root=tmp_path / "root")
    settings = settings_file.update({**FULL, "network.ca_bundle": str(ca_file)})
    config = transport_config(settings, store, timeout_seconds=5.0)
    assert config.proxy_url == "http://proxy.example:3128"
    assert config.proxy_username == "shepherd"
    assert config.proxy_password is None
    assert config.ca_bundle == ca_file
    assert config.timeout_seconds == 5.0
    store.set("proxy-password", "s3cret-for-transport")
    config = transport_config(settings, store)
    assert config.proxy_password is not None
    assert config.proxy_password.reveal() == "s3cret-for-transport"
    assert "s3cret-for-transport" not in repr(config)
    plain = transport_config(settings_file.unset("network.http_proxy"), store)
    assert plain.proxy_url is None
    assert plain.proxy_username is None
    assert plain.proxy_password is None


def test_every_option_is_described_with_type_and_default() -> None:
    text = describe()
    for option in OPTIONS:
        shown = option.key.replace("agents.*.", "agents.<namespace>.")
        assert shown in text
        assert option.description
    assert 'policy.poll_interval  (duration (e.g. 90s, 5m, 1h30m, 2d); default "5m")' in text
    assert option_for("agents.web-1.windows")[1] == "web-1"


def test_as_dict_is_json_shaped_and_has_no_secrets(
    settings_file: SettingsFile, tmp_path: Path
) -> None:
    store = open_store("file", root=tmp_path / "root")
    store.set("proxy-password", "never-in-settings-pw")
    settings = settings_file.update(FULL)
    document = settings.as_dict()
    text = json.dumps(document)
    assert document["host"]["canary.soak"] == "2h"
    assert document["agents"]["staging"]["windows"][0]["start"] == "02:00"
    assert document["agents"]["prod"]["group"] is None
    assert "never-in-settings-pw" not in text
    assert "never-in-settings-pw" not in settings_file.path.read_text()


def test_typed_getters_answer_the_declared_type_and_refuse_another_kind(
    settings_file: SettingsFile, ca_file: Path
) -> None:
    settings = settings_file.update({**FULL, "network.ca_bundle": str(ca_file)})
    assert settings.get_text("network.http_proxy") == "http://proxy.example:3128"
    assert settings.get_text("agents.staging.proxy") == "teleport.example.com:443"
    assert settings.get_text("agents.other.group") is None
    assert settings.get_choice("secrets.backend") == "file"
    assert settings.get_bool("notifications.on_update") is False
    assert settings.get_duration("canary.soak") == timedelta(hours=2)
    assert settings.get_path("network.ca_bundle") == ca_file
    assert settings.get_names("canary.order") == ("staging", "prod")
    assert len(settings.get_windows("agents.staging.windows")) == 2
    assert settings.get_windows("agents.other.blackouts") == ()
    with pytest.raises(TypeError, match=r"canary\.soak is a duration, not a text or url"):
        settings.get_text("canary.soak")
    with pytest.raises(InvalidInput, match=r"unknown setting 'canary\.nope'"):
        settings.get_bool("canary.nope")


def test_every_refused_value_of_a_batch_is_named_with_its_label_and_reason(
    settings_file: SettingsFile,
) -> None:
    settings_file.update(FULL)
    before = settings_file.path.read_bytes()
    changes = {
        "canary.soak": "3h",
        "download.base_url": "http://cdn.example",
        "network.http_proxy": "http://alice:hunter2@proxy.example:3128",
        "agents.staging.windows": "mon 25:00 1h",
        "no.such.key": "1",
    }
    with pytest.raises(InvalidSetting) as raised:
        settings_file.update(changes)
    problems = {p.key: p for p in raised.value.problems}
    assert list(problems) == [k for k in changes if k != "canary.soak"]
    cdn = problems["download.base_url"]
    assert (cdn.label, cdn.value, cdn.reason) == (
        "Custom CDN",
        "http://cdn.example",
        "must use https://",
    )
    assert (
        cdn.sentence
        == "invalid value for download.base_url: 'http://cdn.example' must use https://"
    )
    proxy = problems["network.http_proxy"]
    assert proxy.value == "http://***@proxy.example:3128"
    assert proxy.reason.startswith("must not contain credentials")
    assert "invalid start '25:00'" in problems["agents.staging.windows"].reason
    assert problems["agents.staging.windows"].label == "Maintenance windows"
    assert problems["no.such.key"].label == "no.such.key"
    assert "unknown setting 'no.such.key'" in problems["no.such.key"].reason
    assert "hunter2" not in str(raised.value)
    assert str(raised.value) == "; ".join(p.sentence for p in raised.value.problems)
    assert settings_file.path.read_bytes() == before


HOST_ONLY = {
    "secrets.backend",
    "download.deadline",
    "download.min_rate",
    "network.http_proxy",
    "network.proxy_user",
    "network.ca_bundle",
    "download.base_url",
    "discovery.adopt_found",  # decides whether Teleport's own updater is turned off
    "package.repository_url",
    "package.signing_key",
    "package.suite",
    "canary.order",
    "canary.soak",
    "agents.*.group",
    "agents.*.proxy",
    "agents.*.base_url",
    "agents.*.channel",
    # where notices (what happens on this host) go, and the credentials sent there
    "notifications.webhook_url",
    "notifications.smtp_server",
    "notifications.smtp_user",
    "notifications.email_from",
    "notifications.email_to",
}


def test_the_host_only_options_are_those_that_decide_what_code_runs_or_is_trusted() -> None:
    assert {o.key for o in OPTIONS if o.host_only} == HOST_ONLY
    assert all(o.label and o.label[0].isupper() for o in OPTIONS)
    assert len({o.label for o in OPTIONS}) == len(OPTIONS)
    assert option_for("download.base_url")[0].label == "Custom CDN"
    assert "download.base_url  (https URL; default (unset); host only)" in describe()


def test_download_deadline_and_minimum_rate_bound_every_download(
    settings_file: SettingsFile,
) -> None:
    default = HostConfig(settings=settings_file.load()).download_limits
    assert (default.total_seconds, default.min_rate_bps) == (1800, 10 * 1024)
    settings = settings_file.update({"download.deadline": "1h", "download.min_rate": "1MiB/s"})
    limits = HostConfig(settings=settings).download_limits
    assert (limits.total_seconds, limits.min_rate_bps) == (3600, 1 << 20)
    off = settings_file.update({"download.min_rate": "0"})
    assert HostConfig(settings=off).download_limits.min_rate_bps == 0
    before = settings_file.path.read_bytes()
    with pytest.raises(InvalidSetting) as refused:
        settings_file.update({"download.min_rate": "fast"})
    assert "download.min_rate" in str(refused.value) and "'fast'" in str(refused.value)
    with pytest.raises(InvalidSetting, match=r"download\.deadline"):
        settings_file.update({"download.deadline": "5s"})
    assert settings_file.path.read_bytes() == before


@pytest.mark.parametrize(
    ("key", "text", "refused"),
    [
        ("notifications.webhook_url", "http://hooks.example/x", "must use https://"),
        ("notifications.webhook_kinds", "updated, exploded", "'exploded' is not one of"),
        ("notifications.email_kinds", "failed, failed", "'failed' is listed twice"),
        ("notifications.smtp_server", "smtp://mail.example", "host[:port]"),
        ("notifications.email_to", "root", "addresses separated by commas"),
    ],
    ids=["webhook over http", "unknown kind", "kind twice", "smtp with scheme", "no address"],
)
def test_bad_notice_settings_are_refused_naming_the_value(
    key: str, text: str, refused: str
) -> None:
    with pytest.raises(InvalidSetting) as raised:
        Settings().with_text(key, text)
    assert refused in str(raised.value) and key in str(raised.value)


def test_notice_kinds_default_to_all_and_parse_as_a_list() -> None:
    settings = Settings().with_text("notifications.email_kinds", "failed, agent-down")
    assert settings.get_names("notifications.email_kinds") == ("failed", "agent-down")
    assert "rolled-back" in Settings().get_names("notifications.webhook_kinds")
    assert settings.as_dict()["host"]["notifications.email_kinds"] == ["failed", "agent-down"]
