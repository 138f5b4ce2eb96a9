"""The context snapshot and the text report."""

from cachesim.context.snapshot import file_digest, generated_content, normalize, read_folder, under
from cachesim.context.workspace import ContextFile
from cachesim.core.results import BuildResult, SimulationResult, StepResult
from cachesim.output.report import text


def test_digest_sees_content_and_mode_not_mtime():
    """BuildKit's checksum covers bytes and permission bits, never mtime (findings #1, #2)."""
    base = ContextFile(b"x", 0o644, 1.0)
    assert file_digest(base) == file_digest(ContextFile(b"x", 0o644, 99.0))
    assert file_digest(base) != file_digest(ContextFile(b"x", 0o755, 1.0))
    assert file_digest(base) != file_digest(ContextFile(b"y", 0o644, 1.0))


def test_generated_content_depends_on_seed_and_size():
    """`size:` files: deterministic, exact size, different seeds differ."""
    one = generated_content("a.bin", 100_000)
    assert len(one) == 100_000 and one == generated_content("a.bin", 100_000)
    assert one != generated_content("b.bin", 100_000)


def test_paths_and_folders():
    """Paths are normalised; a folder is everything below it."""
    assert normalize("./src//app/../main.py") == "src/main.py"
    files = {"src/a.py": ContextFile(b""), "src/b/c.py": ContextFile(b""), "srcx": ContextFile(b"")}
    assert under(files, "src") == ["src/a.py", "src/b/c.py"]


def test_read_folder_reads_files_with_modes(tmp_path):
    """A real context folder is read as it is: bytes and permission bits."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "run.sh").write_bytes(b"#!/bin/sh\n")
    (tmp_path / "sub" / "run.sh").chmod(0o755)
    files = read_folder(tmp_path)
    assert files["sub/run.sh"].content == b"#!/bin/sh\n" and files["sub/run.sh"].mode == 0o755


def test_text_report_looks_like_plain_progress():
    """BuildKit's look: `#N [stage k/n] INSTR`, then CACHED or DONE, plus why."""
    steps = (
        StepResult("0", 1, 2, 1, "FROM a", "FROM", "cached", is_from=True),
        StepResult("0", 2, 2, 2, "RUN make", "RUN", "built", "app.py changed"),
    )
    out = text(SimulationResult("s", "buildkit", (BuildResult("edit", steps),)))
    assert "#1 [1/2] FROM a\n#1 CACHED\n#2 [2/2] RUN make\n#2 DONE\n#2 why: app.py changed" in out
    assert "-- 1 cached, 1 built" in out


def test_a_pulled_base_is_not_counted_as_cached_in_the_summary():
    """A cold build's FROM is downloaded, not reused: real cold logs print `DONE` for it
    (docs/cache-rules.md, what the engines print), so the summary counts it as pulled."""
    steps = (
        StepResult("0", 1, 2, 1, "FROM a", "FROM", "cached", is_from=True, pulled=True),
        StepResult("0", 2, 2, 2, "RUN make", "RUN", "built", "no earlier build"),
    )
    out = text(SimulationResult("s", "buildkit", (BuildResult("cold", steps),)))
    assert "-- 0 cached, 1 built, 1 pulled" in out
