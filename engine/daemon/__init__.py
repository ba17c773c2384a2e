"""The root daemon: one poll loop per agent, and the local HTTP API on a Unix socket."""
