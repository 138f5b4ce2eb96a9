"""``python -m cachesim``: the same command as ``cachesim``."""

import sys

from cachesim.app.cli import main

sys.exit(main())
