"""docs/api.md's example runs and prints what the page says it prints."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_api_example_prints_what_the_page_shows(tmp_path):
    """The first python block, run from the repository root, prints the text block after it."""
    page = (ROOT / "docs" / "api.md").read_text()
    code, expected = re.search(r"```python\n(.*?)```.*?```text\n(.*?)```", page, re.S).groups()
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = code.replace('"cumulative.png"', repr(str(tmp_path / "cumulative.png")))
        with contextlib.redirect_stdout(out):
            exec(compile(code, "docs/api.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert out.getvalue() == expected
    assert (tmp_path / "cumulative.png").stat().st_size > 10_000
