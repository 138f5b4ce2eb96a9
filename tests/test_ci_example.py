"""examples/ci/cachesim-diff.yml: its command, run as the workflow runs it, exits 1 and
writes the JSON the comment step reads when a pull request busts the install (Docker's
documented rule: a changed file under `COPY . .` re-runs every later step)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.test_replay import BAD, commit_all, git, write

ROOT = Path(__file__).resolve().parent.parent


def test_workflow_diff_step_flags_the_busted_install(tmp_path: Path):
    workflow = yaml.safe_load((ROOT / "examples/ci/cachesim-diff.yml").read_text())
    step = next(s for s in workflow["jobs"]["cache"]["steps"] if s.get("id") == "diff")
    git(tmp_path, "init", "-q", "-b", "main")
    write(tmp_path, "Dockerfile", BAD)
    write(tmp_path, "requirements.txt", "flask\n")
    commit_all(tmp_path, "base")
    base = git(tmp_path, "rev-parse", "HEAD").strip()
    write(tmp_path, "app.py", "print(1)\n")
    commit_all(tmp_path, "head")
    head = git(tmp_path, "rev-parse", "HEAD").strip()
    script = (
        step["run"]
        .replace("${{ github.event.pull_request.base.sha }}", base)
        .replace("${{ github.event.pull_request.head.sha }}", head)
        .replace("cachesim diff", f"{sys.executable} -m cachesim diff")
    )
    output = tmp_path / "out.txt"
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "PYTHONPATH": str(ROOT)}
    subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, check=True, capture_output=True
    )
    assert output.read_text().strip() == "status=1"
    result = json.loads((tmp_path / "cachesim-diff.json").read_text())
    assert result["matched"] == ["RUN pip install -r requirements.txt"]
