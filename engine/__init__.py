"""agent-shepherd engine: policy, sources, installs and the daemon. Never imports Qt."""

import sys

# httpx imports its own command line (``httpx._main``: rich, click, pygments) whenever those
# are installed, as they are beside import-linter; Shepherd never runs it, and it costs a
# process ~60 ms and ~5.7 MB. ``None`` in sys.modules makes that import fail, which httpx
# expects (it then defines a stub ``httpx.main``).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

__all__: list[str] = []
