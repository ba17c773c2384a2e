"""The shapes of the local API's answers: what the daemon sends and its clients read.

This module is the API's contract in types, and imports nothing else of ``engine``: the
tray app and other clients read it without loading the engine. The daemon builds these
answers from engine objects in ``engine.update.report``; docs/api.md says what each field
means.

    hello      GET /v1                                 HelloAnswer
    status     GET /v1/agents, GET /v1/agents/{agent}  AgentsAnswer, AgentStatus
    explain    GET /v1/agents/{agent}/explain          ExplainAnswer
    pass       POST /v1/agents/{agent}/check, update   PassAnswer
    outcome    POST /v1/agents/{agent}/rollback        OutcomeAnswer
    history    GET /v1/history, .../{agent}/history    HistoryPage of HistoryRecordAnswer
    errors     any 4xx/5xx                             ErrorAnswer
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "API_VERSION",
    "ActionName",
    "AgentStatus",
    "AgentsAnswer",
    "BadRevisionAnswer",
    "DecisionAnswer",
    "ErrorAnswer",
    "ErrorDetail",
    "ExplainAnswer",
    "ExplainedDecision",
    "FailedVersionAnswer",
    "FoundAgent",
    "HealthAnswer",
    "HelloAnswer",
    "HistoryPage",
    "HistoryRecordAnswer",
    "LastUpdateAnswer",
    "OfferAnswer",
    "OutcomeAnswer",
    "PackageRepositoryAnswer",
    "PassAnswer",
    "ProgressAnswer",
    "SettingErrorAnswer",
    "SettingsLocation",
    "ShepherdRelease",
    "WindowAnswer",
    "YouAnswer",
]

API_VERSION = "v1"

ActionName = Literal["nothing", "wait", "update", "error"]


class DecisionAnswer(TypedDict):
    """One update decision: what to do, a stable reason code and the sentence saying why."""

    action: ActionName
    reason: str  # stable code, e.g. "outside-cluster-window"; clients key on it
    message: str  # why, and when next
    target: str | None  # revision, e.g. "17.2.1" or "17.2.1+fips"
    delay_seconds: float  # jitter before the update
    next_check: str | None  # ISO 8601; from the daemon: its poll loop's next check
    retry_at: str | None  # a version that failed here is tried again from then


class ExplainedDecision(DecisionAnswer):
    """A decision as ``shepherd explain --json`` prints it for a scenario file."""

    mark_unhealthy: bool | None  # v1 two-strike marker: set, clear, or leave (None)


class OutcomeAnswer(TypedDict):
    """What an update, a rollback or a repair did."""

    ok: bool
    reason: str  # stable code, e.g. "updated", "rolled-back", "cancelled"
    message: str
    target: str | None
    previous: str | None
    seconds: float


class PassAnswer(TypedDict):
    """One pass of an agent (check or update): the decision and what came of it."""

    agent: str
    decision: DecisionAnswer
    outcome: OutcomeAnswer | None  # None: nothing was tried
    repaired: OutcomeAnswer | None  # an interrupted run repaired first
    dry_run: bool


class ExplainAnswer(TypedDict):
    agent: str
    decision: DecisionAnswer


class LastUpdateAnswer(TypedDict):
    success: bool
    time: str | None
    target: str | None


class BadRevisionAnswer(TypedDict):
    """Why a revision is remembered as bad on this host, who said so and when."""

    reason: str
    by_uid: int | None
    time: str


class FailedVersionAnswer(TypedDict):
    """Why updates to a version failed here, and when it is tried again by itself."""

    kind: str  # crashed-at-start, never-ready, restart-loop, ignored-reload, reload-error,
    why: str  # install-error; ``why`` says it in words
    message: str
    time: str  # the last failure
    tries: int
    retry_at: str | None  # None: not by itself (tries used up, or retries off)


class HealthAnswer(TypedDict):
    running: bool
    pid: int | None
    ready: bool | None  # None: not running, no debug socket, or a new process not probed yet


class ProgressAnswer(TypedDict):
    """A download under way (also the ``progress`` event)."""

    bytes_done: int
    bytes_total: int | None
    rate_bps: float
    eta_seconds: float | None


class OfferAnswer(TypedDict):
    """What the cluster offers the agent and why it is not installed yet."""

    target: str | None  # the offered revision; None: nothing known (not asked yet)
    installed: bool  # the target is the active revision
    # Why not yet: cluster-window, local-window, blackout, canary, pinned, disabled,
    # remembered-bad, failed-here, incompatible, cluster-unreachable,
    # unhealthy-first-strike, updating, refused; None when installed or not known.
    held_by: str | None
    why: str  # the sentence of the decision behind it
    installs_at: str | None  # ISO 8601: when it is expected to install, where known
    offered_at: str | None  # ISO 8601: when the cluster offered it
    cluster_problem: str | None  # the cluster could not be asked (the last target is kept)


class WindowAnswer(TypedDict):
    start: str  # ISO 8601, UTC
    end: str


class PackageRepositoryAnswer(TypedDict):
    url: str
    key_file: str


class AgentStatus(TypedDict):
    """One managed agent as ``GET /v1/agents/{agent}`` answers (None: update.yaml unknown)."""

    agent: str
    kind: str  # "v2" (teleport-update's layout) or "package" (apt/yum/zypper, v1 host)
    package: NotRequired[str]  # package agents: the package, its version and manager,
    version: NotRequired[str]  # whether its version is locked, and the repository
    manager: NotRequired[str]
    locked: NotRequired[bool | None]
    repository: NotRequired[PackageRepositoryAnswer | None]
    enabled: bool | None
    pinned: bool | None
    proxy: str | None
    group: str | None
    active: str | None
    backup: str | None
    backup_installed: bool
    versions_installed: list[str]  # the version dirs present (at most three)
    rollback_refused: str | None  # why a rollback to the backup is refused; None: possible
    skip: str | None
    last_update: LastUpdateAnswer | None
    bad: dict[str, BadRevisionAnswer]  # revision -> why
    last_failure: str | None
    failed: dict[str, FailedVersionAnswer]  # version -> why it failed here
    health: HealthAnswer
    busy: str | None  # what runs now ("update", "rollback", ...)
    progress: ProgressAnswer | None
    last_check: str | None
    next_check: str | None
    decision: DecisionAnswer | None
    offer: OfferAnswer | None  # None: not checked since the daemon started
    exported_windows: list[WindowAnswer] | None  # v1: the agent's exported schedule
    last_result: OutcomeAnswer | None
    problems: list[str]


class FoundAgent(TypedDict):
    """An agent on the host that Shepherd does not manage (until adopted)."""

    agent: str
    foreign_updaters: list[str]  # Teleport's own updater timers that are on for it


class ShepherdRelease(TypedDict):
    """The running Shepherd, its installed package and apt's newer candidate, if any."""

    version: str
    package: str | None  # the installed agent-shepherd package's version (None: not by apt)
    available: str | None  # "Shepherd <available> available" (apt's candidate)


class AgentsAnswer(TypedDict):
    agents: list[AgentStatus]
    found: list[FoundAgent]
    shepherd: ShepherdRelease


class HistoryRecordAnswer(TypedDict):
    """One history event; ``reason`` is a stable code, ``message`` the sentence."""

    time: str
    agent: str
    event: str  # update, rollback, pin, settings, check, ...
    outcome: str  # succeeded, failed, changed, refused, ...
    reason: str
    message: str
    from_revision: str | None
    to_revision: str | None
    uid: int | None  # who asked; None for the daemon itself
    duration_seconds: float | None
    extra: dict[str, Any]


class HistoryPage(TypedDict):
    records: list[HistoryRecordAnswer]  # newest first
    offset: int
    limit: int


class SettingsLocation(TypedDict):
    file: str
    problem: str | None


class YouAnswer(TypedDict):
    """Who asked, and what they may do without authenticating: ``may`` is
    ``{"operate": bool, "host_only": bool}``; false means polkit decides (it may ask for an
    administrator's password), not a refusal."""

    uid: int
    group: str  # the API group whose members may operate
    may: dict[str, bool]


class HelloAnswer(TypedDict):
    service: str
    api: str  # API_VERSION
    version: str  # Shepherd's own version
    shepherd: ShepherdRelease
    pid: int
    agents: list[str]
    you: YouAnswer
    settings: SettingsLocation
    secrets: dict[str, Any]  # backend, available, problem


class SettingErrorAnswer(TypedDict):
    """One refused settings value: its key, its label, the value as sent (credentials
    redacted) and why it was refused."""

    key: str
    label: str
    value: str
    reason: str


class ErrorDetail(TypedDict):
    status: int
    message: str
    errors: NotRequired[list[SettingErrorAnswer]]  # a refused settings change, by key


class ErrorAnswer(TypedDict):
    """Every 4xx/5xx answer."""

    error: ErrorDetail
