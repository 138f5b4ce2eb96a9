"""Regenerate the stored outputs of every lesson: ``python3 notebooks/tools/run_all.py``.

Each notebook is executed top to bottom in a fresh kernel with no Docker engine, and
written back with its outputs, so the lessons read well on GitHub without running them.
``tests/test_notebooks.py`` fails when a stored output differs from a fresh run: run this
after changing a lesson or anything the lessons compute with.
Give notebook paths to regenerate only those. The contents notebook is remade first.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_contents
from nbtools import execute, lessons


def main(argv: list[str]) -> int:
    make_contents.main()
    paths = [Path(a).resolve() for a in argv] or lessons()
    for path in paths:
        start = time.monotonic()
        notebook = execute(path)
        for cell in notebook.cells:  # execution counts are noise in a diff
            if cell.cell_type == "code":
                cell.execution_count = None
                for output in cell.get("outputs", []):
                    if "execution_count" in output:
                        output["execution_count"] = None
        notebook.metadata.pop("widgets", None)
        nbformat.write(notebook, path)
        print(f"{path.name}: {time.monotonic() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
