"""The command line: the bundled example, JSON on stdout only, bad input as one line + exit 2."""

import json
from pathlib import Path

import pytest

from tests.helpers import cachesim

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ordering-python.yaml"


def test_example_runs_and_shows_why():
    """The README's example: the source edit re-runs pip install, and says why."""
    done = cachesim("run", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert "== build 2/4: edit the source ==" in done.stdout
    assert "why: app.py changed" in done.stdout


def test_json_is_the_only_thing_on_stdout():
    """`--format json` prints one JSON document in the spec's shape and nothing else."""
    done = cachesim("run", str(EXAMPLE), "--format", "json")
    document = json.loads(done.stdout)
    assert document["scenario"] == "ordering-python" and document["engine"] == "buildkit"
    step = document["builds"][0]["steps"][1]
    assert set(step) >= {"stage", "index", "total", "line", "instruction", "status", "reason"}
    assert (step["stage"], step["index"], step["total"], step["line"]) == ("0", 2, 4, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: x\ndockerfile: FROM a\nbuilds: [{}]\nextra: 1\n",
            "s.yaml:4: unknown key 'extra' in the scenario",
        ),
        (
            "name: x\ndockerfile: FROM a\nbuilds:\n  - changes:\n      - {edit: nope.txt, content: a}\n",
            "s.yaml:5: build 'build 1', change 1 (edit nope.txt): no file 'nope.txt' in the context",
        ),
        (
            "name: x\ndockerfile: FROM a\nfiles: {a: {content: '', mode: '99'}}\nbuilds: [{}]\n",
            "s.yaml:3: bad mode '99'",
        ),
        ("name: x\ndockerfile: [\n", "s.yaml:3: broken YAML"),
    ],
)
def test_bad_scenario_is_one_line_and_exit_2(tmp_path, text, message):
    """A malformed scenario: one line on stderr naming file and line, status 2, no traceback."""
    (tmp_path / "s.yaml").write_text(text)
    done = cachesim("run", "s.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}")
    assert "Traceback" not in done.stderr


def test_missing_file_and_bad_option(tmp_path):
    """A missing scenario file and an unknown option are bad input too."""
    missing = cachesim("run", "nope.yaml", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (2, "error: nope.yaml: no such scenario file\n")
    bad = cachesim("run", str(EXAMPLE), "--format", "xml")
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
    assert "invalid choice: 'xml'" in bad.stderr


def test_help_documents_exit_statuses():
    """`--help` teaches: commands, examples and what each exit status means."""
    done = cachesim("--help")
    assert done.returncode == 0
    for text in ("run", "verify", "exit status:", "2  bad input", "examples:"):
        assert text in done.stdout


def test_engine_both_shows_where_the_builders_differ():
    """Findings #7: a LABEL change rebuilds nothing on BuildKit, everything after it on the
    classic builder; `--engine both` says so."""
    done = cachesim("run", "tests/scenarios/label-change.yaml", "--engine", "both")
    assert done.returncode == 0, done.stderr
    build_2 = done.stdout.split("== build 2/")[1]
    assert "  - line 3 `RUN echo step one`: BuildKit cached, classic builder built" in build_2
