"""A real folder instead of a scenario: the snapshot, `cachesim impact`, `run DIR --edit`, `init`.

Where the expected behaviour comes from:

* Docker's documented cache rule (https://docs.docker.com/build/cache/invalidation/): a
  COPY is rebuilt when the files it copies change, and every step after a rebuilt one is
  rebuilt too; an edit of a file no COPY selects rebuilds nothing. Seen on Docker 20.10 and
  28.5 in this project's verified scenarios (tests/scenarios/ordering-*, copy-*).
* Docker's documented .dockerignore rules (https://docs.docker.com/build/concepts/context/
  #dockerignore-files): excluded files never reach the builder, a "!" line re-includes, and
  ``<Dockerfile>.dockerignore`` beside the Dockerfile takes precedence over the root one.
* BuildKit's checksum ignores modification times (docs/cache-rules.md, engine-findings #1):
  the snapshot's digests are of bytes only.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

import cachesim
from cachesim.app.cli import main
from cachesim.context import folder as folder_module
from cachesim.context.folder import FolderReader
from cachesim.whatif.impact import impact
from cachesim.whatif.project import read_project

MANIFEST_FIRST = """\
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY src/ src/
CMD ["python", "src/app.py"]
"""


def _project(root: Path, dockerignore: str | None = "logs\n*.md\n!KEEP.md\n") -> Path:
    """A small Python project: manifest copied first, then the source; docs not copied."""
    old = time.time() - 3600
    files = {
        "Dockerfile": MANIFEST_FIRST,
        "requirements.txt": "flask==3.0.3\n",
        "src/app.py": "print('hello')\n",
        "src/util/helpers.py": "X = 1\n",
        "docs/guide.txt": "how to\n",
        "logs/today.log": "noise\n",
        "README.md": "# readme\n",
        "KEEP.md": "kept by the ! line\n",
    }
    if dockerignore is not None:
        files[".dockerignore"] = dockerignore
    for path, text in files.items():
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text)
        os.utime(full, (old, old))
    return root


def _state(root: Path) -> dict[str, tuple]:
    """Every entry below root with its bytes, mode and times: to prove nothing was written."""
    out: dict[str, tuple] = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            full = Path(folder, name)
            info = full.lstat()
            data = full.read_bytes() if full.is_file() and not full.is_symlink() else b""
            out[str(full.relative_to(root))] = (info.st_mode, info.st_mtime_ns, data)
    return out


def _line_of(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


# --- the snapshot


def test_snapshot_digests_are_sha256_of_the_bytes(tmp_path):
    """Each kept file's digest is the SHA-256 of its bytes; ignored files are not hashed."""
    root = _project(tmp_path)
    snap = FolderReader(root).snapshot()
    data = (root / "src/app.py").read_bytes()
    assert snap.entries["src/app.py"].digest == hashlib.sha256(data).hexdigest()
    assert "logs/" in snap.ignored and "README.md" in snap.ignored
    assert "KEEP.md" in snap.entries  # the "!" line re-includes it (Docker's documented rule)
    assert "logs/today.log" not in snap.entries and "README.md" not in snap.entries


def test_unchanged_folder_is_not_hashed_again(tmp_path):
    """The second snapshot of an unchanged folder reads no file: the stat key still holds."""
    root = _project(tmp_path)
    reader = FolderReader(root)
    first = reader.snapshot()
    again = reader.snapshot()
    assert first.hashed == len(first.entries) and again.hashed == 0
    assert again.entries == first.entries


def test_an_edit_is_hashed_again_even_with_the_same_size(tmp_path):
    """Same size, new bytes, new mtime: only that file is read again, its digest moves."""
    root = _project(tmp_path)
    reader = FolderReader(root)
    before = reader.snapshot().entries["src/app.py"].digest
    (root / "src/app.py").write_text("print('HELLO')\n")  # same length
    after = reader.snapshot()
    assert after.hashed == 1
    assert after.entries["src/app.py"].digest != before


def test_a_file_written_just_now_is_not_trusted_from_the_cache(tmp_path):
    """Racy: a file modified within the snapshot's second may change again unseen; re-read."""
    root = _project(tmp_path)
    (root / "fresh.txt").write_text("new\n")
    reader = FolderReader(root)
    reader.snapshot()
    assert reader.snapshot().hashed == 1


def test_symlink_and_big_file_are_reported_in_one_line_each(tmp_path, monkeypatch):
    """A symlink counts as its target's name (not followed); a big file's bytes are not kept."""
    root = _project(tmp_path)
    (root / "link").symlink_to("src/app.py")
    (root / "big.bin").write_bytes(b"x" * 5000)
    monkeypatch.setattr(folder_module, "BIG_FILE", 1000)
    snap = FolderReader(root, keep_content=True).snapshot()
    assert snap.entries["link"].kind == "symlink"
    assert snap.entries["big.bin"].content is None
    assert len(snap.notes) == 2
    assert snap.notes[0].startswith("1 symlink(s) (link): not followed")
    assert snap.notes[1].startswith("1 file(s) over 0 MiB (big.bin)")
    files = snap.context_files()
    assert files["big.bin"].content == snap.entries["big.bin"].digest.encode()


def test_dockerfile_specific_ignore_file_wins(tmp_path):
    """`Dockerfile.dockerignore` beside the Dockerfile replaces the root .dockerignore."""
    root = _project(tmp_path)
    (root / "Dockerfile.dockerignore").write_text("docs\n")
    project = read_project(root)
    assert project.ignore_file and project.ignore_file.endswith("Dockerfile.dockerignore")
    assert "docs/" in project.snapshot.ignored
    assert "README.md" in project.snapshot.entries  # the root file's *.md no longer applies


# --- impact


def test_impact_names_the_first_step_each_edit_rebuilds(tmp_path):
    """Manifest first: its edit re-runs the install; a source edit only the source COPY."""
    root = _project(tmp_path)
    result = impact(read_project(root))
    by_path = {path: part.effect for part in result.parts for path in part.paths}
    assert by_path["requirements.txt"].first_line == 3
    assert by_path["requirements.txt"].rebuilt == 3  # COPY, RUN pip install, COPY src
    assert by_path["src/"].first_line == 5 and by_path["src/"].rebuilt == 1
    assert by_path["docs/"].rebuilt == 0  # no COPY selects it
    assert result.parts[0].paths == ("requirements.txt",)  # the costliest edit first
    assert by_path["requirements.txt"].seconds > by_path["src/"].seconds


def test_impact_opens_a_folder_whose_parts_differ(tmp_path):
    """`COPY src/util/ ...` before the rest: src/ splits into util/ and app.py."""
    root = _project(tmp_path)
    (root / "Dockerfile").write_text(
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY src/util/ util/\nRUN pip install flask\n"
        "COPY src/app.py .\n"
    )
    result = impact(read_project(root))
    by_path = {path: part.effect for part in result.parts for path in part.paths}
    assert "src/" not in by_path
    assert by_path["src/util/"].first_line == 3 and by_path["src/app.py"].first_line == 5


def test_impact_command_prints_ignored_and_unread_and_writes_nothing(tmp_path, capsys):
    """The table, the unread files, the ignored ones; DIR byte-identical afterwards."""
    root = _project(tmp_path / "p")
    before = _state(root)
    assert main(["impact", str(root)]) == 0
    out = capsys.readouterr().out
    assert "line 3: COPY requirements.txt ." in _line_of(out, "requirements.txt")
    assert "no step reads these" in out and "docs/" in out
    assert "README.md, logs/" in out
    assert main(["run", str(root), "--edit", "src/app.py"]) == 0
    assert main(["init", str(root), "-o", str(tmp_path / "s.yaml")]) == 0
    assert _state(root) == before


def test_run_folder_with_edit(tmp_path, capsys):
    """`run DIR --edit src/app.py`: the what-if build keeps the install cached."""
    root = _project(tmp_path)
    assert main(["run", str(root), "--edit", "src/app.py"]) == 0
    out = capsys.readouterr().out
    what_if = out.split("== build 2/2")[1]
    assert "RUN pip install -r requirements.txt\n#4 CACHED" in what_if
    assert "why: src/app.py changed" in what_if


def test_run_folder_with_build_arg(tmp_path, capsys):
    """A new --build-arg value that a RUN uses re-runs it (Docker: ARG values are in the key)."""
    root = _project(tmp_path)
    (root / "Dockerfile").write_text(
        "FROM python:3.12-slim\nARG V=1\nRUN echo $V\nCOPY src/ src/\n"
    )
    assert main(["run", str(root), "--build-arg", "V=2"]) == 0
    what_if = capsys.readouterr().out.split("== build 2/2")[1]
    assert "#2 [2/3] RUN echo 2\n#2 DONE" in what_if
    assert "why: build argument V changed ('1' -> '2')" in what_if


def test_init_writes_a_scenario_that_simulates(tmp_path):
    """The written scenario loads and its second build is all cached."""
    root = _project(tmp_path / "p")
    out = tmp_path / "p.yaml"
    assert main(["init", str(root), "-o", str(out)]) == 0
    result = cachesim.simulate(cachesim.load_scenario(out))
    assert [b.counts()["built"] for b in result.builds][1] == 0
    assert "logs/today.log" not in out.read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["impact", "{root}/nope"], "error: {root}/nope: no such folder"),
        (
            ["impact", "{root}/src"],
            "error: {root}/src/Dockerfile: no Dockerfile (give --dockerfile PATH)",
        ),
        (["run", "{root}", "--edit", "nope.py"], "error: {root}: no file 'nope.py' in the context"),
        (
            ["run", "{root}", "--edit", "README.md"],
            "error: {root}: 'README.md' is kept out by .dockerignore: an edit rebuilds nothing",
        ),
        (["run", "{root}", "--build-arg", "V"], "error: --build-arg 'V': give NAME=VALUE"),
        (["impact", "{root}", "--depth", "0"], "error: --depth 0: give 1 or more"),
        (
            ["init", "{root}", "-o", "{root}/s.yaml"],
            "error: {root}/s.yaml: the scenario must not be written inside DIR",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    """Bad input: one line on stderr naming the file, exit status 2."""
    root = _project(tmp_path)
    assert main([a.format(root=root) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err == message.format(root=root) + "\n"


def test_edit_option_needs_a_folder(tmp_path, capsys):
    """`--edit` with a scenario file is bad input."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\ndockerfile: FROM a\nbuilds: [{name: a}]\n")
    assert main(["run", str(scenario), "--edit", "x"]) == 2
    assert "--edit goes with a folder" in capsys.readouterr().err


def test_impact_of_a_folder_whose_build_fails(tmp_path, capsys):
    """A COPY of a missing file fails the build (seen on Docker 20.10 and 28.5,
    cachesim/context/selection.py): impact says so instead of comparing edits."""
    (tmp_path / "Dockerfile").write_text("FROM alpine\nCOPY missing.txt .\n")
    assert main(["impact", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "the build of the folder as it is fails: failed to compute cache key" in out
    assert '"/missing.txt": not found' in out
