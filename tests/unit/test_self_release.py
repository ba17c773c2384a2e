"""apt's answer about the agent-shepherd package, as ``apt-cache policy`` prints it."""

from __future__ import annotations

import pytest

from engine.cli.version import available_line
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


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        ({"version": "0.2.0", "package": "0.2.0", "available": None}, None),
        (
            {"version": "0.2.0", "package": "0.2.0", "available": "0.3.0"},
            "Shepherd 0.3.0 available (installed: 0.2.0): "
            "sudo apt-get update && sudo apt-get install agent-shepherd",
        ),
        (
            {"version": "0.2.0", "package": "0.3.0", "available": None},
            "the daemon runs Shepherd 0.2.0 but 0.3.0 is installed: restart it "
            "(systemctl restart shepherd, or your service manager)",
        ),
        ({"version": "0.2.0", "package": None, "available": None}, None),
        (None, None),
    ],
    ids=[
        "up to date",
        "apt offers a newer one",
        "upgraded but the daemon was not restarted",
        "not installed by apt",
        "no daemon",
    ],
)
def test_what_status_says_about_shepherd_itself(
    release: dict[str, str | None] | None, expected: str | None
) -> None:
    assert available_line(release) == expected
