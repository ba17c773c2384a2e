"""``python -m engine.cli``: the ``shepherd`` command."""

from engine.cli.main import main

raise SystemExit(main())
