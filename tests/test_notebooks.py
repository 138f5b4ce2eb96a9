"""The lessons in notebooks/: each runs, is stored fresh, has figures and exercises that work.

Every lesson is executed once, in a fresh kernel, with no Docker engine and no network
(``notebooks/tools/nbtools.py``), with its declared exercises appended; the checks below
read that one execution. The time limit for the whole course (3 minutes) is a benchmark:
benchmarks/test_notebooks_time.py.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks" / "tools"))

import nbtools  # noqa: E402

LESSONS = [p for p in nbtools.lessons() if not p.name.startswith("00-")]
ALL = nbtools.lessons()
LINK = re.compile(r"\]\(([^)#\s]+\.ipynb)\)")

# One worker executes every notebook once (the executions are cached per process).
pytestmark = pytest.mark.xdist_group("notebooks")


def _ids(paths):
    return [p.stem for p in paths]


@cache
def executed(path: Path) -> tuple[nbformat.NotebookNode, int]:
    """The executed notebook (with its exercise cells appended) and its own cell count."""
    stored = nbformat.read(path, as_version=4)
    calls = [
        f"_feedback = {exercise[kind]}\n"
        f"assert isinstance(_feedback, cachesim.Feedback), type(_feedback)\n"
        f"print({kind!r}, _feedback.ok, repr(_feedback.hint))"
        for exercise in nbtools.exercises(stored)
        for kind in ("right", "wrong")
    ]
    return nbtools.execute(path, ["import cachesim", *calls]), len(stored.cells)


def test_the_course_has_its_lessons():
    """The contents notebook and lessons 1-4 exist, numbered (lessons 5-7 come from lesson helpers)."""
    names = [p.name for p in ALL]
    assert names[0] == "00-Contents.ipynb"
    for number in ("01", "02", "03", "04"):
        assert any(n.startswith(f"{number}-") for n in names), names


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_runs_and_stored_outputs_are_fresh(path):
    """A fresh run prints what the stored notebook shows (else: run notebooks/tools/run_all.py)."""
    fresh, own = executed(path)
    stored = nbformat.read(path, as_version=4)
    assert nbtools.text_outputs(fresh, own) == nbtools.text_outputs(stored), (
        f"{path.name}: stored outputs are stale; run python3 notebooks/tools/run_all.py"
    )
    assert nbtools.figure_count(stored) == nbtools.figure_count(fresh)


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lesson_has_two_figures(path):
    """Each lesson shows at least two figures (PNG outputs of the stored notebook)."""
    stored = nbformat.read(path, as_version=4)
    assert nbtools.figure_count(stored) >= 2, path.name


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_exercises_accept_right_answers_and_hint_at_wrong_ones(path):
    """Each declared exercise: the right answer passes, a wrong one fails with a hint."""
    stored = nbformat.read(path, as_version=4)
    assert nbtools.exercises(stored), (
        f"{path.name} declares no exercise: see notebooks/README.md (metadata.cachesim.exercises)"
    )
    fresh, own = executed(path)
    printed = [
        out.text
        for cell in fresh.cells[own + 1 :]
        for out in cell.outputs
        if out.output_type == "stream"
    ]
    results = [line.split(" ", 2) for text in printed for line in text.splitlines()]
    rights = [r for r in results if r[0] == "right"]
    wrongs = [r for r in results if r[0] == "wrong"]
    assert len(rights) == len(wrongs) == len(nbtools.exercises(stored))
    assert all(r[1] == "True" for r in rights), rights
    assert all(w[1] == "False" and w[2] not in ("None", "''") for w in wrongs), wrongs


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lesson_opens_with_goals_closes_with_summary_and_links(path):
    """Goals first, a summary and "try it on your own Docker" at the end, contents linked."""
    stored = nbformat.read(path, as_version=4)
    markdown = [c.source for c in stored.cells if c.cell_type == "markdown"]
    assert "you will be able to" in markdown[0].lower()
    text = "\n".join(markdown)
    assert "## Summary" in text and "## Try it on your own Docker" in text
    assert "cachesim verify" in text
    assert "(00-Contents.ipynb)" in markdown[0] and "(00-Contents.ipynb)" in markdown[-1]


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_links_between_lessons_lead_somewhere(path):
    """Every link to a notebook names one that exists."""
    stored = nbformat.read(path, as_version=4)
    for cell in stored.cells:
        if cell.cell_type == "markdown":
            for target in LINK.findall(cell.source):
                assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


def test_contents_lists_every_lesson():
    """00-Contents links each lesson (it is made by notebooks/tools/make_contents.py)."""
    contents = nbformat.read(ALL[0], as_version=4)
    text = "\n".join(c.source for c in contents.cells)
    for path in LESSONS:
        assert f"]({path.name})" in text, path.name


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lessons_import_only_the_public_facade(path):
    """A lesson uses cachesim's top-level names only, so the package can change behind them."""
    stored = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in stored.cells if c.cell_type == "code")
    assert not re.search(r"(from|import) cachesim\.", code), path.name
    import cachesim

    for name in re.findall(r"cachesim\.(\w+)", code):
        assert name in cachesim.__all__, f"{path.name} uses cachesim.{name}, not in __all__"


def test_lessons_run_without_network_or_engine(tmp_path):
    """The kernel the lessons run in refuses connections off the machine and has no engine."""
    from nbclient.exceptions import CellExecutionError

    probe = tmp_path / "probe.ipynb"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import os\nprint(os.environ['DOCKER_HOST'])"),
        nbformat.v4.new_code_cell("import socket\nsocket.create_connection(('192.0.2.1', 80), 1)"),
    ]
    nbformat.write(notebook, probe)
    with pytest.raises(CellExecutionError, match="the lessons run without network"):
        nbtools.execute(probe)
    notebook.cells = notebook.cells[:1]
    nbformat.write(notebook, probe)
    printed = nbtools.execute(probe).cells[0].outputs[0].text
    assert printed.strip() == "unix:///nonexistent/cachesim-lessons-have-no-engine.sock"
