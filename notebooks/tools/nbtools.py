"""What the notebook tools share: where the lessons are, how one is executed, and how
its outputs are compared.

A lesson is executed the way a learner's fresh kernel would run it: top to bottom, in the
notebooks folder, with no Docker engine reachable (``DOCKER_HOST`` points at a socket that
does not exist) so that nothing a lesson shows can come from the machine it ran on.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1]
ROOT = NOTEBOOKS.parent
TIMEOUT = 120  # seconds a cell may take

# Bits of an output that differ from run to run without meaning anything: object
# addresses, temporary folders, widget model ids.
VOLATILE = [
    (re.compile(r"0x[0-9a-f]{6,}"), "0x…"),
    (re.compile(r"/tmp/[^\s'\"]+"), "/tmp/…"),
    (re.compile(r"\"model_id\": \"[0-9a-f]+\""), '"model_id": "…"'),
]


# Run at kernel start (an IPython startup file): any connection that leaves the machine
# raises, so a lesson that reached for the network or a registry fails instead of passing.
NO_NETWORK = """\
import socket as _socket

_connect = _socket.socket.connect


def _local_only(self, address, _connect=_connect):
    if self.family in (_socket.AF_INET, _socket.AF_INET6):
        host = address[0]
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"the lessons run without network: refused {address!r}")
    return _connect(self, address)


_socket.socket.connect = _local_only
"""


def lessons() -> list[Path]:
    """Every notebook of the course, in order (00-Contents first)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def quiet_env() -> dict[str, str]:
    """The environment a lesson runs in: no engine, the repository's package first."""
    env = dict(os.environ)
    env["DOCKER_HOST"] = "unix:///nonexistent/cachesim-lessons-have-no-engine.sock"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env.pop("DOCKER_CONFIG", None)
    return env


def execute(path: Path, extra_cells: Sequence[str] = ()) -> nbformat.NotebookNode:
    """The notebook at ``path`` executed in a fresh kernel (not written anywhere).

    ``extra_cells`` are appended as code cells and run after the lesson's own, in the same
    kernel: the tests use them to call a lesson's exercise checks with known answers.
    """
    notebook = nbformat.read(path, as_version=4)
    notebook.cells += [nbformat.v4.new_code_cell(code) for code in extra_cells]
    saved = dict(os.environ)
    ipython_dir = tempfile.TemporaryDirectory(prefix="cachesim-lesson-ipython-")
    startup = Path(ipython_dir.name) / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-no-network.py").write_text(NO_NETWORK)
    os.environ.clear()
    os.environ.update(quiet_env())  # the kernel inherits this process's environment
    os.environ["IPYTHONDIR"] = ipython_dir.name
    try:
        client = NotebookClient(
            notebook,
            timeout=TIMEOUT,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        ipython_dir.cleanup()
    return notebook


def exercises(notebook: nbformat.NotebookNode) -> list[dict[str, str]]:
    """The lesson's exercises as its metadata declares them, for the tests.

    ``metadata.cachesim.exercises`` is a list of ``{"right": CODE, "wrong": CODE}``: two
    expressions that call one of the lesson's checks, with a right and with a wrong answer.
    The tests run them after the lesson and require a ``Feedback`` that is ok for the
    first, and not ok with a hint for the second.
    """
    return list(notebook.metadata.get("cachesim", {}).get("exercises", []))


def text_outputs(notebook: nbformat.NotebookNode, cells: int | None = None) -> list[list[str]]:
    """Per code cell, its text outputs (streams, text/plain, errors), normalised.

    Images are left out: the same figure can differ by a few bytes between matplotlib
    builds, while the text around it says what it shows.
    """
    out = []
    for cell in notebook.cells[:cells]:
        if cell.cell_type != "code":
            continue
        texts = []
        previous = None
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and previous == output.name:
                # The kernel flushes a stream when it likes: one print can arrive as two
                # outputs under load. Consecutive pieces of one stream are one text.
                texts[-1] += output.text
            elif output.output_type == "stream":
                texts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                data = output.get("data", {})
                if "text/plain" in data and "image/png" not in data:
                    texts.append(data["text/plain"])
            elif output.output_type == "error":
                texts.append(f"{output.ename}: {output.evalue}")
            previous = output.name if output.output_type == "stream" else None
        out.append([normalise(t) for t in texts])
    return out


def normalise(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text.rstrip()


def figure_count(notebook: nbformat.NotebookNode) -> int:
    """How many figures (PNG outputs) the executed notebook shows."""
    return sum(
        1
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    )
