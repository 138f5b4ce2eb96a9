"""Turn a lesson written as a percent-format script into a notebook (for authors).

    python3 notebooks/tools/from_script.py lesson.py notebooks/NN-Name.ipynb

``# %% [markdown]`` starts a Markdown cell (its lines are comments: ``# `` is removed),
``# %%`` a code cell. A ``# %% [exercises]`` section is no cell: its ``# right: CODE`` and
``# wrong: CODE`` lines, in pairs, become the notebook's ``metadata.cachesim.exercises``,
which tests/test_notebooks.py runs (see nbtools.exercises).

A script is easy to write in an editor; the notebook is what is stored and edited
afterwards (then regenerate its outputs with ``run_all.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def cells_of(text: str, exercises: list[dict[str, str]] | None = None) -> list:
    cells: list[nbformat.NotebookNode] = []
    kind, lines = None, []

    def flush() -> None:
        body = "\n".join(lines).strip("\n")
        if kind == "exercises" and exercises is not None:
            for line in body.splitlines():
                key, _, code = line.lstrip("# ").partition(":")
                if key == "right":
                    exercises.append({"right": code.strip()})
                elif key == "wrong":
                    exercises[-1]["wrong"] = code.strip()
        elif kind == "markdown":
            body = "\n".join(
                line[2:] if line.startswith("# ") else line.lstrip("#")
                for line in body.splitlines()
            )
            cells.append(nbformat.v4.new_markdown_cell(body))
        elif kind == "code" and body.strip():
            cells.append(nbformat.v4.new_code_cell(body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind = next((k for k in ("markdown", "exercises") if f"[{k}]" in line), "code")
            lines = []
        else:
            lines.append(line)
    flush()
    return cells


def main(argv: list[str]) -> int:
    source, target = Path(argv[0]), Path(argv[1])
    notebook = nbformat.v4.new_notebook()
    exercises: list[dict[str, str]] = []
    notebook.cells = cells_of(source.read_text(encoding="utf-8"), exercises)
    if exercises:
        notebook.metadata["cachesim"] = {"exercises": exercises}
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.write(notebook, target)
    print(f"{target}: {len(notebook.cells)} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
