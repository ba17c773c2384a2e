"""agent-shepherd engine: policy, sources, installs and the daemon. Never imports Qt."""

__all__: list[str] = []
