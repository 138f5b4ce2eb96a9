"""What several test files share: running the `cachesim` command as a user would."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cachesim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`cachesim ARGS...` in a fresh process: its exit status, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "cachesim.app.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )
