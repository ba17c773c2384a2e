"""The ``shepherd`` argument parser: every command, its options and its ``--help`` text."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.api.paths import default_socket
from engine.cli.exits import EPILOG
from engine.cli.host import add_host_options
from engine.cli.lazy import Lazy, VersionAction
from engine.cli.records import add_local_option

__all__ = ["build_parser"]


def _command(
    commands: Any, name: str, help_text: str, handler: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shepherd",
        description="Keeps the Teleport agents on this host on the version their cluster "
        "wants, updates them only when it is safe, and rolls bad updates back. Most commands "
        "talk to the Shepherd daemon over its local socket.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--socket",
        type=Path,
        default=None,
        help=f"the daemon's API socket (default: $SHEPHERD_SOCKET or {default_socket()})",
    )
    parser.add_argument("--version", action=VersionAction)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", prog=parser.prog
    )

    status = _command(
        commands,
        "status",
        "show each agent: versions, health, why and when",
        Lazy("status", "status_command"),
    )
    status.add_argument("agent", nargs="?", help="one agent (namespace); default: all")
    status.add_argument("--json", action="store_true", help="print JSON")

    check = _command(
        commands,
        "check",
        "ask the cluster now and act as the policy says",
        Lazy("operate", "check_command"),
    )
    check.add_argument("agent", nargs="?", help="one agent; default: all")
    check.add_argument("--json", action="store_true", help="print JSON")

    update = _command(
        commands,
        "update",
        "update an agent now if the policy allows (--now: without waiting for the window)",
        Lazy("operate", "update_command"),
    )
    update.add_argument("agent", nargs="?", help="one agent; default: all")
    update.add_argument(
        "--now", action="store_true", help="force: skip the cluster window and jitter"
    )
    update.add_argument(
        "--dry-run", action="store_true", help="say what would happen, change nothing"
    )
    update.add_argument("--json", action="store_true", help="print JSON")
    update.add_argument(
        "--local",
        action="store_true",
        help="run one pass in this process without the daemon (as root, e.g. from a timer)",
    )
    add_host_options(update)

    _add_change_commands(commands)
    _add_install_commands(commands)
    _add_read_commands(commands)
    _add_settings_commands(commands)
    _add_notify_command(commands)
    _add_daemon_command(commands)
    return parser


_INSTALL_HELP = """\
What teleport-update's 'enable' does, and then starts the agent: asks the cluster (the
proxy) for its target version, downloads it from the CDN (or --base-url) and checks its
SHA-256, installs it under /opt/teleport/AGENT/versions, links its binaries into the link
dir, writes the agent's unit (systemd: teleport_AGENT.service; supervisord: a program in its
include dir), enables and starts it and checks its health. Only then is update.yaml written
and the agent added to Shepherd's agents. If any step fails, everything done is undone and
the message names the step. The agent's config (/etc/teleport_AGENT.yaml, or
/etc/teleport.yaml for 'default') must exist. An existing installation (update.yaml,
versions, binaries in the link dir, a unit) is refused, naming what exists, unless --force.
Needs an administrator.
"""

_UNINSTALL_HELP = """\
What teleport-update's 'uninstall' does. If a package-installed Teleport is there
(/opt/teleport/system, the default agent only), its binaries and unit are linked again and
the agent restarted on them, health-checked (a failure puts everything back). Otherwise the
agent is refused while its service runs or is enabled, since it would be left without
binaries; --force stops, disables and removes its unit. Then the links into its versions,
the versions and update.yaml are removed and Shepherd stops managing it (its history stays).
Needs an administrator.
"""


def _add_install_commands(commands: Any) -> None:
    install = _command(
        commands,
        "install",
        "set up a fresh agent from its cluster's target version, start and health-check it",
        Lazy("install", "install_command"),
    )
    install.description = _INSTALL_HELP
    install.add_argument(
        "agent", nargs="?", default="default", help="the agent's namespace (default: default)"
    )
    install.add_argument(
        "--proxy", help="the cluster's proxy, HOST[:PORT] (default: from the agent config)"
    )
    install.add_argument("--group", help="the update group (default: default)")
    install.add_argument("--base-url", help="the CDN to download from (https only)")
    install.add_argument(
        "--link-dir",
        help="where to link the binaries (default: /usr/local/bin; /opt/teleport/AGENT/bin)",
    )
    install.add_argument(
        "--force", action="store_true", help="install over an existing installation"
    )
    install.add_argument("--json", action="store_true", help="print JSON")

    uninstall = _command(
        commands,
        "uninstall",
        "remove an agent's installation, handing it back to a package if there is one",
        Lazy("install", "uninstall_command"),
    )
    uninstall.description = _UNINSTALL_HELP
    uninstall.add_argument("agent", help="the agent's namespace")
    uninstall.add_argument(
        "--force",
        action="store_true",
        help="stop, disable and remove a running agent that has no package to go back to",
    )
    uninstall.add_argument("--json", action="store_true", help="print JSON")


def _add_notify_command(commands: Any) -> None:
    notify = _command(
        commands,
        "notify",
        "where notices go (webhook, e-mail: the notifications.* settings) and which are "
        "still queued for delivery",
        Lazy("notify", "notify_status_command"),
    )
    notify.add_argument("--json", action="store_true", help="print JSON")
    sub = notify.add_subparsers(dest="notify_command", metavar="ACTION", prog=notify.prog)
    test = sub.add_parser("test", help="send one test notice to every channel now (admin)")
    test.add_argument("--json", action="store_true", help="print JSON")
    test.set_defaults(handler=Lazy("notify", "notify_test_command"))


def _add_change_commands(commands: Any) -> None:
    rollback = _command(
        commands,
        "rollback",
        "switch an agent back to its backup version",
        Lazy("operate", "rollback_command"),
    )
    rollback.add_argument("agent", nargs="?", help="the agent (default: the only one)")
    rollback.add_argument(
        "--reason", default="rolled back by hand", help="why (kept in the history)"
    )
    rollback.add_argument("--json", action="store_true", help="print JSON")

    for name, help_text in (
        ("pin", "keep an agent on its current version (update.yaml pinned: true)"),
        ("unpin", "let an agent follow its cluster again"),
        ("enable", "enable updates of an agent"),
        ("disable", "disable updates of an agent (nothing is asked or changed)"),
    ):
        command = _command(commands, name, help_text, Lazy("operate", "spec_change_command"))
        command.add_argument("agent", nargs="?", help="the agent (default: the only one)")
        add_local_option(command)
        command.set_defaults(action=name)

    clear = _command(
        commands,
        "clear-bad",
        "allow a version that failed or was rolled back again",
        Lazy("operate", "clear_bad_command"),
    )
    clear.add_argument("agent", help="the agent")
    clear.add_argument("version", help="the version, e.g. 17.2.1")
    add_local_option(clear)


def _add_read_commands(commands: Any) -> None:
    version = _command(
        commands,
        "version",
        "show this Shepherd's version, the daemon's, and a newer one apt offers",
        Lazy("version", "version_command"),
    )
    version.add_argument("--json", action="store_true", help="print JSON")

    history = _command(
        commands,
        "history",
        "what Shepherd changed, and every failure",
        Lazy("history", "history_command"),
    )
    history.add_argument("agent", nargs="?", help="one agent; default: all")
    fmt = history.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    history.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    history.add_argument("--offset", type=int, default=0, help="skip this many newest first")
    history.add_argument("--event", help="only this event (update, rollback, settings, ...)")

    agents = _command(
        commands,
        "agents",
        "list, adopt or stop managing agents",
        Lazy("agents", "agents_list_command"),
    )
    agents_sub = agents.add_subparsers(dest="agents_command", metavar="ACTION", prog=agents.prog)
    agents_list = agents_sub.add_parser("list", help="list the managed agents")
    agents_list.add_argument("--json", action="store_true", help="print JSON")
    agents_list.set_defaults(handler=Lazy("agents", "agents_list_command"))
    agents_add = agents_sub.add_parser(
        "add", help="adopt an agent namespace set up by teleport-update (nothing reinstalled)"
    )
    agents_add.add_argument("agent", help="namespace (default for the main agent)")
    add_local_option(agents_add)
    agents_add.set_defaults(handler=Lazy("agents", "agents_add_command"))
    agents_remove = agents_sub.add_parser(
        "remove", help="stop managing an agent (its files and service are untouched)"
    )
    agents_remove.add_argument("agent", help="namespace")
    add_local_option(agents_remove)
    agents_remove.set_defaults(handler=Lazy("agents", "agents_remove_command"))
    agents.add_argument("--json", action="store_true", help="print JSON")

    explain = _command(
        commands,
        "explain",
        "show what Shepherd would decide, and why: for a managed agent (asks the daemon) or "
        "for a scenario file (no cluster needed; format in docs/scenarios.md)",
        Lazy("explain", "explain_command"),
    )
    source = explain.add_mutually_exclusive_group(required=True)
    source.add_argument("scenario", nargs="?", type=Path, help="scenario file (YAML or JSON)")
    source.add_argument("--demo", action="store_true", help="use the embedded demo scenario")
    source.add_argument("--agent", help="explain the live decision for this managed agent")
    explain.add_argument("--now", action="store_true", help="as if 'update --now' were asked")
    explain.add_argument("--json", action="store_true", help="print the decision as JSON")


def _add_settings_commands(commands: Any) -> None:
    settings = _command(
        commands,
        "settings",
        "show or change the host settings (cluster proxy, group, CDN, CA bundle, HTTP proxy, "
        "windows, canary, ...)",
        Lazy("settings", "settings_get_command"),
    )
    sub = settings.add_subparsers(dest="settings_command", metavar="ACTION", prog=settings.prog)
    get = sub.add_parser("get", help="show the settings (or one key)")
    get.add_argument("key", nargs="?", help="e.g. network.http_proxy or agents.staging.group")
    get.add_argument("--json", action="store_true", help="print JSON")
    get.set_defaults(handler=Lazy("settings", "settings_get_command"))
    change = sub.add_parser(
        "set",
        help="set KEY=VALUE (several at once: all or nothing)",
        description="Set settings; each is validated and a bad value changes nothing. "
        "Examples: network.http_proxy=http://proxy:3128  agents.staging.group=canary  "
        "'agents.default.windows=sat 02:00 3h Europe/Berlin'",
    )
    change.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    change.set_defaults(handler=Lazy("settings", "settings_set_command"))
    unset = sub.add_parser("unset", help="back to the default")
    unset.add_argument("keys", nargs="+", metavar="KEY")
    unset.set_defaults(handler=Lazy("settings", "settings_unset_command"))
    options = sub.add_parser("describe", help="every setting: type, default and meaning")
    options.add_argument(
        "--json", action="store_true", help="print JSON (what GET /v1/settings/schema serves)"
    )
    options.set_defaults(handler=Lazy("settings", "settings_describe_command"))
    settings.add_argument("--json", action="store_true", help="print JSON")
    settings.set_defaults(key=None)

    secret = _command(
        commands,
        "secret",
        "store or delete a secret in the keyring (proxy-password, mirror-token, "
        "mirror-token:AGENT, webhook-secret, smtp-password); secrets are write-only",
        Lazy("settings", "secret_list_command"),
    )
    secret.epilog = (
        "names:\n"
        "  proxy-password       password of network.proxy_user for network.http_proxy\n"
        "  mirror-token         bearer token for the custom CDN (download.base_url)\n"
        "  mirror-token:AGENT   that agent's own token for its CDN (agents.AGENT.base_url);\n"
        "                       it wins over mirror-token for that agent only. 'secret list'\n"
        "                       shows one such entry per managed agent, '-' when not stored\n"
        "                       (then the agent uses mirror-token).\n"
        "  webhook-secret       HMAC-SHA256 key of the notices sent to the webhook\n"
        "  smtp-password        password of notifications.smtp_user for e-mail notices\n"
        "Only mirror-token has a per-agent form; the others are host-wide.\n\n" + EPILOG
    )
    sub = secret.add_subparsers(dest="secret_command", metavar="ACTION", prog=secret.prog)
    store = sub.add_parser(
        "set",
        help="store a secret, read from standard input or a prompt (never from arguments)",
    )
    store.add_argument(
        "name",
        help="proxy-password, mirror-token, mirror-token:AGENT, webhook-secret or smtp-password",
    )
    store.set_defaults(handler=Lazy("settings", "secret_set_command"))
    delete = sub.add_parser("delete", help="delete a secret")
    delete.add_argument("name")
    delete.set_defaults(handler=Lazy("settings", "secret_delete_command"))
    listing = sub.add_parser(
        "list",
        help="which secrets are stored (never their values): the host-wide ones, then "
        "mirror-token:AGENT for each managed agent",
    )
    listing.set_defaults(handler=Lazy("settings", "secret_list_command"))


def _add_daemon_command(commands: Any) -> None:
    daemon = _command(
        commands,
        "daemon",
        "run the Shepherd daemon (root): poll loops per agent and the local API",
        Lazy("daemon", "daemon_command"),
    )
    add_host_options(daemon)
    daemon.add_argument("--group", default="shepherd", help="group allowed to use the API")
    daemon.add_argument(
        "--poll-interval",
        type=float,
        default=None,
        help="seconds between checks (default: the policy.poll_interval setting, 5 min)",
    )
    daemon.add_argument(
        "--poll-spread", type=float, default=60, help="random spread of the interval (60)"
    )
    daemon.add_argument(
        "--first-check", type=float, default=60, help="seconds before the first check (60)"
    )
    daemon.add_argument(
        "--request-timeout",
        type=float,
        default=10.0,
        help="seconds a client may take to send a request (10)",
    )
    daemon.add_argument(
        "--head-timeout",
        type=float,
        default=5.0,
        help="seconds a client may take to send a request's head, from connecting (5): "
        "a client that holds a connection without asking is cut off then",
    )
    daemon.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines as text or JSON"
    )
