"""Write notebooks/00-Contents.ipynb from the lessons' titles and opening lines.

Run by ``run_all.py`` before it executes anything, so the contents never fall behind the
lessons: each lesson's first ``# N. Title`` heading and its "you will be able to" list.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1]
CONTENTS = NOTEBOOKS / "00-Contents.ipynb"

INTRO = """\
# Docker's build cache, by experiment

Lessons that teach what `docker build` reuses and what it runs again, and why, with
**cachesim**: a simulator that predicts every step of every build, checked against real
Docker engines (20.10 and 28.5, BuildKit and the classic builder). Each lesson takes 20-40
minutes, runs top to bottom with no Docker engine, and ends with the commands that repeat
its experiments on your own Docker.

Open them with:

```sh
pip install -e '.[notebooks]'
jupyter lab notebooks/
```
"""


def _items(lines: list[str]) -> list[str]:
    """The Markdown list items among ``lines``, each with its continuation lines joined."""
    items: list[str] = []
    for line in lines:
        if line.startswith("- "):
            items.append(line)
        elif items and line.startswith("  ") and line.strip():
            items[-1] += " " + line.strip()
    return items


def entry(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    title, goals = path.stem, []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for number, line in enumerate(lines):
            if line.startswith("# "):
                title = line[2:].strip()
                goals = _items(lines[number + 1 :])
                break
        if goals or title != path.stem:
            break
    items = "\n".join(f"  {g}" for g in goals[:4])
    return f"- **[{title}]({path.name})**\n{items}" if items else f"- **[{title}]({path.name})**"


def main() -> int:
    lessons = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb") if p != CONTENTS)
    notebook = nbformat.v4.new_notebook()
    body = "\n".join(entry(p) for p in lessons)
    notebook.cells = [
        nbformat.v4.new_markdown_cell(INTRO),
        nbformat.v4.new_markdown_cell("## The lessons\n\n" + body),
        nbformat.v4.new_markdown_cell(
            "Tools: `python3 notebooks/tools/run_all.py` regenerates every stored output "
            "(this page first); `python3 notebooks/tools/record.py` re-records the real-engine "
            "runs the lessons quote; `python3 notebooks/tools/make_month.py` the month of edits "
            "of lesson 3."
        ),
    ]
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nbformat.write(notebook, CONTENTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
