"""The exercise checks and tables of cachesim.output.teach, through the public facade.

Expected statuses come from Docker's documented rules and the real-engine runs recorded in
docs/cache-rules.md (K1, K3, K4, K6, S1): a source edit rebuilds the COPY that reads it
and every step after it; ENV and LABEL make no step on BuildKit.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import cachesim

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "notebooks" / "scenarios"

TWO_BUILDS = {
    "name": "two-builds",
    "dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
    "RUN pip install -r requirements.txt\nENV MODE=prod\nCOPY . .\nLABEL v=2\n",
    "files": {"requirements.txt": "flask\n", "app.py": "print(1)\n"},
    "builds": [
        {"name": "cold"},
        {"name": "edit app.py", "changes": [{"edit": "app.py", "append": "print(2)\n"}]},
    ],
}


def test_check_accepts_the_right_answer_in_any_case():
    """Strings compare without case and surrounding spaces; sets as sets."""
    assert cachesim.check(" Built ", "built", right="yes", hint="no").ok
    assert cachesim.check([1, 2], (1, 2), right="yes", hint="no").ok
    assert cachesim.check({2, 1}, {1, 2}, right="yes", hint="no").ok


def test_check_gives_the_hint_that_fits_the_wrong_answer():
    """A known wrong answer gets its own hint; others the general one; `...` is no answer."""
    hints = {"a": "the Dockerfile is in the context"}
    assert cachesim.check("A", "c", right="", hint="general", hints=hints) == cachesim.Feedback(
        False, "'A' is not it.", "the Dockerfile is in the context"
    )
    other = cachesim.check("b", "c", right="", hint=lambda answer: f"not {answer}")
    assert (other.ok, other.hint) == (False, "not b")
    empty = cachesim.check(..., "c", right="", hint="general")
    assert empty == cachesim.Feedback(
        False, "no answer yet: replace the ... with yours.", "general"
    )


def test_feedback_text_shows_the_hint_only_when_wrong():
    """What a learner reads, as text and as HTML."""
    wrong = cachesim.Feedback(False, "step 3 is not 'cached'.", "look at line 3")
    assert str(wrong) == "✘ Not yet: step 3 is not 'cached'.\nHint: look at line 3"
    assert "Hint:" in wrong._repr_html_()
    right = cachesim.Feedback(True, "every step right.", "unused")
    assert str(right) == "✔ Right: every step right." and "Hint" not in right._repr_html_()


def test_check_statuses_names_the_first_wrong_step_and_why():
    """After a source edit, only `COPY . .` is rebuilt (ENV and LABEL are no steps: S1, K1)."""
    build = cachesim.simulate(cachesim.load_scenario(TWO_BUILDS)).builds[1]
    right = ["cached", "cached", "cached", "cached", "built"]
    assert cachesim.check_statuses(right, build).ok
    wrong = cachesim.check_statuses(["cached"] * 5, build)
    assert wrong == cachesim.Feedback(
        False,
        "step 5 (COPY . .) is not 'cached'.",
        "look at line 6 and what changed before this build. cachesim says: app.py changed.",
    )
    short = cachesim.check_statuses(["cached"] * 7, build)
    assert not short.ok and short.message == "this build has 5 steps; you gave 7 statuses."


@pytest.mark.parametrize("app", ["node", "go", "python"])
def test_check_saving_accepts_the_reference_and_hints_at_the_install(app):
    """Copying the manifest before the install keeps it cached after source edits (K1, K6);
    the original order re-runs it every build, and the hint names it."""
    month = cachesim.load_scenario(SCENARIOS / f"month-{app}.yaml")
    reference = (SCENARIOS / "solutions" / f"{app}.Dockerfile").read_text()
    assert cachesim.check_saving(reference, month, reference).ok
    wrong = cachesim.check_saving(month.dockerfile, month, reference)
    install = {"node": "RUN npm ci", "go": "RUN go mod download", "python": "RUN pip install"}
    assert not wrong.ok and wrong.hint.startswith(f"`{install[app]}")
    assert f"runs in {len(month.builds)} of {len(month.builds)} builds" in wrong.hint


def test_check_saving_refuses_a_dockerfile_that_drops_the_work():
    """Deleting the install is not a fix."""
    month = cachesim.load_scenario(SCENARIOS / "month-node.yaml")
    reference = (SCENARIOS / "solutions" / "node.Dockerfile").read_text()
    lazy = "FROM node:20-alpine\nCOPY . .\n"
    feedback = cachesim.check_saving(lazy, month, reference)
    assert feedback == cachesim.Feedback(
        False,
        "your Dockerfile no longer has `RUN npm ci`.",
        "keep every RUN: the point is to move the COPY lines, not to drop the work.",
    )


def test_check_expectations_gives_the_failing_expectations_hint():
    """A .dockerignore that does not list .env: an .env edit rebuilds `COPY . .` (K2, K4)."""
    task = cachesim.load_scenario(SCENARIOS / "lesson04-exercise.yaml")
    expect = [
        cachesim.Expect("edit .env", "COPY . .", "cached", "is .env listed?"),
        cachesim.Expect("edit app.py", "COPY . .", "built", "app.py must be copied"),
    ]
    good = cachesim.simulate(cachesim.with_dockerignore(task, ".env\n"))
    assert cachesim.check_expectations(good, expect, right="fine").ok
    bad = cachesim.check_expectations(cachesim.simulate(task), expect, right="fine")
    assert (bad.ok, bad.hint) == (False, "is .env listed?")
    assert bad.message.startswith("in build 'edit .env', `COPY . .` is built (.env changed)")


def test_tables_are_plain_text_and_html():
    """A steps table lists each step; a builds table puts two builders side by side."""
    scenario = cachesim.load_scenario(TWO_BUILDS)
    table = cachesim.steps_table(cachesim.simulate(scenario, costs=False).builds[1])
    assert table.headers == ("step", "instruction", "status", "why")
    assert [row[1] for row in table.rows] == [
        "FROM python:3.12-slim",
        "WORKDIR /app",
        "COPY requirements.txt .",
        "RUN pip install -r requirements.txt",
        "COPY . .",
    ]
    assert str(table).splitlines()[0] == "edit app.py"
    assert "<td style='text-align:left'><b style='color:#D55E00'>built</b></td>" in (
        table._repr_html_()
    )
    both = cachesim.builds_table([cachesim.simulate(scenario, b) for b in cachesim.BUILDERS])
    assert both.headers == (
        "build",
        "buildkit built",
        "buildkit time",
        "legacy built",
        "legacy time",
    )
    assert both.rows[1][1] == "1/5" and both.rows[1][3] == "2/7"  # classic: ENV, LABEL are steps


def test_read_recording_splits_header_and_commands():
    """A recorded run names its engine, and each command's output can be read."""
    rec = cachesim.read_recording(ROOT / "notebooks/recorded/seed-layers-docker28.5-buildkit.txt")
    assert rec.header["docker"].startswith("28.5")
    assert rec.engine.startswith("Docker 28.5") and "(BuildKit 0.25)" in rec.engine
    assert "no layer  ENV PYTHONUNBUFFERED=1" in rec.output("docker save")
    with pytest.raises(KeyError):
        rec.output("docker push")


def test_load_scenario_reads_a_file_text_or_dict_alike():
    """The three forms give the same scenario; bad input names where."""
    path = ROOT / "examples" / "ordering-python.yaml"
    from_file = cachesim.load_scenario(path)
    from_text = cachesim.load_scenario(path.read_text())
    assert from_file.dockerfile == from_text.dockerfile
    assert cachesim.load_scenario(str(path)).builds == from_file.builds
    assert cachesim.load_scenario(TWO_BUILDS).name == "two-builds"
    with pytest.raises(cachesim.InputError, match="needs 'dockerfile'"):
        cachesim.load_scenario({"name": "x", "builds": [{"name": "cold"}]})


def test_simulate_checks_builder_and_buildkit():
    """Unknown builders and BuildKit versions are bad input, not a silent default."""
    scenario = cachesim.load_scenario(TWO_BUILDS)
    assert cachesim.simulate(scenario, "legacy", "0.8").engine == "legacy"
    with pytest.raises(cachesim.InputError, match=re.escape("unknown builder 'podman'")):
        cachesim.simulate(scenario, "podman")
    with pytest.raises(cachesim.InputError, match=re.escape("unknown BuildKit version '0.9'")):
        cachesim.simulate(scenario, buildkit="0.9")
