"""What the tray does to one agent: its menu entries and the actions behind them (check,
the update prompt, pause, allow again, roll back). A part of ``TrayController``, which
supplies the request, notification and menu plumbing these use."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFontMetrics
from PySide6.QtWidgets import QMenu

from engine.api.client import ApiClient, agent_path
from gui.feedback import UpdateChoice, update_offer, update_offer_for
from gui.prompts import Prompts
from gui.viewmodel import AgentView, Notice, TrayView

__all__ = ["AgentActions", "elided"]


class AgentActions:
    """The per-agent half of the tray controller."""

    prompts: Prompts
    view: TrayView

    def _request(self, key: str, work: Callable[[ApiClient], object]) -> None:
        raise NotImplementedError

    def _notify(self, notice: Notice) -> None:
        raise NotImplementedError

    def _add(
        self,
        menu: QMenu,
        key: str,
        text: str,
        slot: Callable[[], object] | None,
        enabled: bool = True,
    ) -> QAction:
        raise NotImplementedError

    def _agent_actions(self, menu: QMenu, agent: AgentView) -> None:
        name = agent.name
        menu.setToolTipsVisible(True)
        header = self._add(menu, f"about:{name}", agent.headline, None)
        header.setToolTip(f"{agent.headline}\n{agent.why}")
        why = self._add(menu, f"why:{name}", agent.progress_text or agent.why, None)
        why.setToolTip(agent.progress_text or agent.why)
        for index, detail in enumerate(agent.details):
            self._add(menu, f"detail{index}:{name}", detail, None).setToolTip(detail)
        idle = agent.busy is None
        self._add(menu, f"check:{name}", "Check now", lambda: self.check_now(name), idle)
        update_text = f"Update to {agent.offered}…" if agent.offered else "Update now…"
        self._add(
            menu, f"update:{name}", update_text, lambda: self.update_now(name), agent.can_update
        )
        self._add(menu, f"pause:{name}", agent.pause_text, lambda: self.toggle_pause(agent), idle)
        if agent.allow_again:
            self._add(
                menu,
                f"allow:{name}",
                f"Allow {agent.allow_again} again…",
                lambda: self.allow_again(agent),
                idle,
            )
        rollback_text = f"Roll back to {agent.backup}…" if agent.backup else "Roll back…"
        self._add(
            menu,
            f"rollback:{name}",
            rollback_text,
            lambda: self.rollback(agent),
            agent.can_rollback,
        )

    def check_now(self, agent: str) -> None:
        self._request(f"check:{agent}", lambda api: api.post(agent_path(agent, "check")))

    def update_now(self, name: str) -> None:
        """The update prompt: install now, leave it to the next window, or skip it."""
        agent = self._agent(name)
        offer = update_offer(agent) if agent is not None else update_offer_for(name)
        choice = self.prompts.update_choice(offer)
        if choice is UpdateChoice.NOW:
            self._request(
                f"update:{name}", lambda api: api.post(agent_path(name, "update"), {"now": True})
            )
        elif choice is UpdateChoice.AT_WINDOW:
            self._notify(Notice("Update at the next window", offer.when_text, "info"))
        elif choice is UpdateChoice.SKIP and offer.version is not None:
            body = {"revision": offer.version, "reason": "skipped from the tray"}
            self._request(f"skip:{name}", lambda api: api.post(agent_path(name, "skip"), body))

    def toggle_pause(self, agent: AgentView) -> None:
        verb = "unpin" if agent.pinned else "pin"
        self._request(f"pause:{agent.name}", lambda api: api.post(agent_path(agent.name, verb)))

    def allow_again(self, agent: AgentView) -> None:
        revision = agent.allow_again
        if revision is None or not self.prompts.confirm(
            "Allow again",
            f"Allow {revision} on {agent.name} again?\nShepherd forgets that it failed here "
            "and installs it when the cluster's window allows (this needs an administrator).",
        ):
            return
        body = {"version": revision.split("_", 1)[0]}
        self._request(
            f"allow:{agent.name}", lambda api: api.post(agent_path(agent.name, "clear-bad"), body)
        )

    def rollback(self, agent: AgentView) -> None:
        reason = self.prompts.rollback_reason(
            "Roll back",
            f"Roll {agent.name} back from {agent.version} to {agent.backup}?\n"
            f"{agent.version} will be remembered as bad. Reason:",
            ok_text=f"Roll back to {agent.backup}",
        )
        if reason is None:
            return
        self._request(
            f"rollback:{agent.name}",
            lambda api: api.post(agent_path(agent.name, "rollback"), {"reason": reason}),
        )

    def run_action(self, kind: str, name: str) -> None:
        """An action asked for from the status window's card of agent ``name``."""
        agent = self._agent(name)
        if agent is None:
            return
        handlers: dict[str, Callable[[], None]] = {
            "check": lambda: self.check_now(name),
            "update": lambda: self.update_now(name),
            "pause": lambda: self.toggle_pause(agent),
            "allow": lambda: self.allow_again(agent),
            "rollback": lambda: self.rollback(agent),
        }
        handlers[kind]()

    def _agent(self, name: str) -> AgentView | None:
        return next((a for a in self.view.agents if a.name == name), None)


def elided(menu: QMenu, text: str, width: int = 460) -> str:
    """One line no wider than ``width`` pixels (the full text goes in the tooltip)."""
    line = " ".join(text.split())
    return QFontMetrics(menu.font()).elidedText(line, Qt.TextElideMode.ElideRight, width)
