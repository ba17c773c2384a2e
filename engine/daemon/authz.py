"""Who may do what: every API action is in one of three levels (DESIGN.md, "Who may do what").

1. ``read`` — status, history, schedule, explain, events, settings: any local user.
2. ``operate`` — check, update now to the cluster's target, rollback, pause / resume: root,
   members of the API group, or a user whom polkit authorises for
   ``org.agentshepherd.operate``.
3. ``host-only`` — everything that decides what code runs or what is trusted (CDN, CA,
   proxies, per-agent proxy / group / base URL / channel, secrets, adopt / remove, enable /
   disable, clear-bad, canary order): root, or a user whom polkit authorises for
   ``org.agentshepherd.host-admin`` (the shipped default: ``auth_admin_keep``, an
   administrator's password) — never group membership alone.

polkit is asked as PackageKit asks it: ``CheckAuthorization`` over the system D-Bus (jeepney)
with a ``unix-process`` subject (the peer's SO_PEERCRED pid, its start time, its uid) and
``AllowUserInteraction``, so the session's polkit agent can ask for the password. Without a
system bus or polkit (a server, a container), polkit says no: host-only is root only.

    authz = Authorizer("shepherd", Polkit())
    verdict = authz.decide(peer, Level.HOST_ONLY, "settings set")    # blocking: a thread
    if not verdict.allowed: ... verdict.sentence ...
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from engine.daemon.http import PeerCred
from engine.errors import InvalidInput
from engine.settings.schema import option_for

__all__ = [
    "POLKIT_ACTIONS",
    "Authorizer",
    "Level",
    "Polkit",
    "PolkitAnswer",
    "PolkitUnavailable",
    "Verdict",
    "settings_level",
]

_log = logging.getLogger(__name__)


class Level(StrEnum):
    READ = "read"
    OPERATE = "operate"
    HOST_ONLY = "host-only"

    @property
    def rank(self) -> int:
        return list(Level).index(self)


POLKIT_ACTIONS = {
    Level.OPERATE: "org.agentshepherd.operate",
    Level.HOST_ONLY: "org.agentshepherd.host-admin",
}
_ALLOW_USER_INTERACTION = 1
_AUTHORITY = (
    "/org/freedesktop/PolicyKit1/Authority",
    "org.freedesktop.PolicyKit1",
    "org.freedesktop.PolicyKit1.Authority",
)


def settings_level(keys: Iterable[str]) -> Level:
    """The level a change of these settings needs: host-only if any key is marked
    ``host_only`` in the settings schema, else operate. An unknown key does not raise the
    level: the change is refused (400, naming it) anyway."""
    for key in keys:
        try:
            option, _ = option_for(key)
        except InvalidInput:
            continue
        if option.host_only:
            return Level.HOST_ONLY
    return Level.OPERATE


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    level: Level
    sentence: str = ""  # why not, and what to do; empty when allowed
    by: str = ""  # what allowed it: "anyone", "root", "group", "polkit"


@dataclass(frozen=True)
class PolkitAnswer:
    authorized: bool
    challenge: bool  # polkit would say yes after authentication (auth_admin...)


class PolkitUnavailable(Exception):
    """No system bus, no polkit on it, or it could not judge (e.g. the process is gone)."""


class PolkitChecker(Protocol):
    def check(self, pid: int, uid: int, action: str) -> PolkitAnswer:
        """Raises PolkitUnavailable."""
        ...


class Polkit:
    """polkit's Authority on the system bus (``DBUS_SYSTEM_BUS_ADDRESS`` or the default).

    One connection per check; a check may wait ``timeout`` seconds for a user typing a
    password into the polkit agent of their session."""

    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout

    def check(self, pid: int, uid: int, action: str) -> PolkitAnswer:
        # jeepney only when a non-root user asks for more than reading (~0.3 MB otherwise)
        from jeepney import DBusAddress, new_method_call  # noqa: PLC0415
        from jeepney.io.blocking import open_dbus_connection  # noqa: PLC0415
        from jeepney.wrappers import DBusErrorResponse, unwrap_msg  # noqa: PLC0415

        path, bus_name, interface = _AUTHORITY
        authority = DBusAddress(path, bus_name=bus_name, interface=interface)
        subject = (
            "unix-process",
            {"pid": ("u", pid), "start-time": ("t", process_start_time(pid)), "uid": ("i", uid)},
        )
        message = new_method_call(
            authority,
            "CheckAuthorization",
            "(sa{sv})sa{ss}us",
            (subject, action, {}, _ALLOW_USER_INTERACTION, ""),
        )
        try:
            with open_dbus_connection(bus="SYSTEM") as connection:
                reply = connection.send_and_get_reply(message, timeout=self.timeout)
            ((authorized, challenge, _details),) = unwrap_msg(reply)
        except DBusErrorResponse as e:
            raise PolkitUnavailable(f"polkit could not check {action}: {e.name} {e.data}") from e
        except (OSError, TimeoutError, ValueError) as e:
            raise PolkitUnavailable(f"no polkit on the system bus: {e}") from e
        return PolkitAnswer(bool(authorized), bool(challenge))


def process_start_time(pid: int) -> int:
    """Field 22 of /proc/PID/stat (clock ticks since boot), which polkit checks against
    the pid so that a reused pid is not mistaken for the asker. Raises PolkitUnavailable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError as e:
        raise PolkitUnavailable(f"process {pid} is gone: {e}") from e
    return int(stat.rsplit(")", 1)[1].split()[19])


def process_groups(peer: PeerCred) -> set[int]:
    """The peer process's groups: its gid and the supplementary groups it runs with (from
    /proc, else the account's from the group database)."""
    groups = {peer.gid}
    try:
        for line in Path(f"/proc/{peer.pid}/status").read_text().splitlines():
            if line.startswith("Groups:"):
                return groups | {int(g) for g in line.split()[1:]}
    except OSError:
        pass
    try:
        user = pwd.getpwuid(peer.uid)
    except KeyError:
        return groups
    return groups | set(os.getgrouplist(user.pw_name, user.pw_gid))


class Authorizer:
    """The one decision: may this peer do something of this level?"""

    def __init__(
        self,
        group: str,
        polkit: PolkitChecker | None,
        *,
        privileged: frozenset[int] | None = None,
    ) -> None:
        self.group = group
        self.polkit = polkit
        self.privileged = privileged if privileged is not None else frozenset({0, os.getuid()})

    def decide(self, peer: PeerCred, level: Level, command: str = "…") -> Verdict:
        """Blocking (polkit may wait for a password): call it from a worker thread.

        ``command`` is the shepherd command an administrator would run instead, for the
        sentence ("settings set …")."""
        if level is Level.READ:
            return Verdict(True, level, by="anyone")
        if peer.uid in self.privileged:
            return Verdict(True, level, by="root")
        if level is Level.OPERATE and self._in_group(peer):
            return Verdict(True, level, by="group")
        answer, problem = self._ask_polkit(peer, level)
        if answer is not None and answer.authorized:
            return Verdict(True, level, by="polkit")
        return Verdict(False, level, self._refusal(level, command, answer, problem))

    def without_asking(self, peer: PeerCred) -> dict[str, bool]:
        """What ``peer`` may do with no polkit question (cheap: asks nobody):
        ``{"operate": root or a member of the group, "host_only": root}``. Anything else
        may still be allowed by polkit, with authentication."""
        privileged = peer.uid in self.privileged
        return {"operate": privileged or self._in_group(peer), "host_only": privileged}

    def _in_group(self, peer: PeerCred) -> bool:
        try:
            gid = grp.getgrnam(self.group).gr_gid
        except KeyError:
            return False
        return gid in process_groups(peer)

    def _ask_polkit(self, peer: PeerCred, level: Level) -> tuple[PolkitAnswer | None, str]:
        if self.polkit is None:
            return None, "polkit is not used"
        try:
            return self.polkit.check(peer.pid, peer.uid, POLKIT_ACTIONS[level]), ""
        except PolkitUnavailable as e:
            _log.info("uid %d asked for %s: %s", peer.uid, level, e)
            return None, str(e)

    def _refusal(
        self, level: Level, command: str, answer: PolkitAnswer | None, problem: str
    ) -> str:
        if level is Level.HOST_ONLY:
            sentence = f"needs an administrator: run `sudo shepherd {command}`"
        else:
            sentence = (
                f"needs a member of the group {self.group!r} or an administrator: ask an "
                f"admin to add you to it (then log in again), or run `sudo shepherd {command}`"
            )
        if answer is None:
            return f"{sentence} (no polkit on this host to authenticate with: {problem})"
        if answer.challenge:
            return f"{sentence}, or authenticate when asked (no password was given)"
        return f"{sentence}, or authenticate when asked"
