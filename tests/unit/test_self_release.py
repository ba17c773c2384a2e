"""apt's answer about the agent-shepherd package, as ``apt-cache policy`` prints it."""

from __future__ import annotations

import pytest

from engine.packages.self_release import parse_policy

_UPGRADABLE = """\
agent-shepherd:
  Installed: 0.1.0
  Candidate: 0.1.0+upgrade1
  Version table:
     0.1.0+upgrade1 500
        500 http://127.0.0.1:8080/repo stable/main amd64 Packages
 *** 0.1.0 100
        100 /var/lib/dpkg/status
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_UPGRADABLE, ("0.1.0", "0.1.0+upgrade1")),
        (
            "agent-shepherd:\n  Installed: 0.2.0\n  Candidate: 0.2.0\n  Version table:\n",
            ("0.2.0", "0.2.0"),
        ),
        (
            "agent-shepherd:\n  Installed: (none)\n  Candidate: 0.2.0\n",
            (None, "0.2.0"),
        ),
        ("", (None, None)),
    ],
    ids=["a newer build in the repository", "up to date", "not installed", "unknown package"],
)
def test_installed_and_candidate(text: str, expected: tuple[str | None, str | None]) -> None:
    assert parse_policy(text) == expected
