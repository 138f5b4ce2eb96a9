"""scripts/install.sh on a system Python that PEP 668 marks externally managed (Debian 12)."""

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")


def _externally_managed(python: Path) -> bool:
    if not python.exists():
        return False
    stdlib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return (Path(stdlib) / "EXTERNALLY-MANAGED").exists()


@pytest.mark.skipif(
    not _externally_managed(SYSTEM_PYTHON), reason="no externally managed /usr/bin/python3 here"
)
@pytest.mark.skipif(
    os.environ.get("CACHESIM_SKIP_ENGINE") == "1",
    reason="a quick run (CACHESIM_SKIP_ENGINE=1): this installs into a fresh venv, ~2 min",
)
def test_install_sh_makes_a_venv_where_the_system_python_is_externally_managed(tmp_path):
    """The old script ran `pip install` into the system Python, which PEP 668 refuses."""
    assert sysconfig.get_path("stdlib")  # the test itself may run in any Python
    tree = tmp_path / "cachesim"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    for name in files.stdout.split():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env["PYTHON"] = str(SYSTEM_PYTHON)
    # Only the script's Python part: its engine part installs Docker engines, not wanted here.
    script = (tree / "scripts/install.sh").read_text()
    python_part = script[script.index("# Python:") :]
    done = subprocess.run(
        ["sh", "-eu", "-c", python_part],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "externally managed (PEP 668): installing into .venv" in done.stdout
    version = subprocess.run(
        [str(tree / ".venv/bin/cachesim"), "--version"], capture_output=True, text=True
    )
    assert version.stdout.strip() == "cachesim 0.1.0"
