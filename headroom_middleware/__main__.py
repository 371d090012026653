"""``python -m headroom_middleware``: the same command as ``headroom-middleware``."""

from .cli import main

raise SystemExit(main())
