"""Calibration from what Docker 28.5 records: plain and rawjson logs, .dockerbuild archives.

The files are real (tests/timing_logs/modern/README.md: Docker 28.5.2, BuildKit v0.25,
buildx 0.29.1, on vfs, overlay2 and the containerd snapshotter's overlayfs). The expected
seconds were read by hand: from the `started`/`completed` times of a rawjson line, from a
plain log's `DONE`, and for an archive from the OpenTelemetry span of the step in the same
archive (a record the code under test does not read), cross-checked with the plain log
printed by the same build.
"""

import contextlib
import gzip
import io
import json
import re
import tarfile
from pathlib import Path

import pytest

from cachesim.app.cli import main
from cachesim.cost.calibrate import calibrate, read_log

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "tests" / "timing_logs"
MODERN = LOGS / "modern"


def profile_of(path: Path, **options):
    return calibrate(read_log(str(path)), **options)


def seconds_of(profile, instruction: str) -> float:
    return next(s.seconds for s in profile.steps if s.instruction == instruction)


def test_a_rawjson_log_gives_each_step_its_started_to_completed_time():
    """vfs-tensteps-rawjson.log, by hand: `RUN sleep 1` started 15:38:32.009846266 and
    completed 15:38:33.281276975 (line 26); `RUN echo 5 > /f5` 15:38:33.544208325 to
    15:38:35.362525318 (line 30)."""
    profile = profile_of(MODERN / "vfs-tensteps-rawjson.log", storage="vfs")
    assert seconds_of(profile, "RUN sleep 1") == pytest.approx(1.271, abs=0.001)
    assert seconds_of(profile, "RUN echo 5 > /f5") == pytest.approx(1.818, abs=0.001)
    assert profile.log_format == "rawjson"
    assert profile.machine["storage"] == "vfs"


def test_a_rawjson_log_gives_the_export_time():
    """overlay2-multi-rawjson.log: `exporting layers` 15:39:58.801167909 to .952851331."""
    profile = profile_of(MODERN / "overlay2-multi-rawjson.log")
    assert "exporting layers took 0.152s" in profile.notes
    assert seconds_of(profile, "RUN sleep 1") == pytest.approx(1.114, abs=0.001)


# (archive, instruction, seconds from the archive's own trace span, the plain log's DONE)
ARCHIVE_TIMES = [
    ("vfs-tensteps", "RUN sleep 1", 1.139, 1.1),  # 19.649299392 -> 20.787955079
    ("vfs-tensteps", "RUN echo 5 > /f5", 0.116, 0.1),  # 20.978990515 -> 21.094986626
    ("vfs-tensteps", "RUN dd if=/dev/zero of=/data.bin bs=1M count=20", 0.446, 0.4),
    ("vfs-tensteps", "RUN sleep 0.5", 1.170, 1.2),  # 22.754550168 -> 23.924913756
    ("overlay2-multi", "RUN dd if=/dev/zero of=/artifact bs=1M count=30", 0.383, 0.4),
    ("overlay2-multi", "RUN sleep 1", 1.143, 1.1),  # 51.842272205 -> 52.984866785
    ("overlay2-multi", "RUN sleep 0.5", 0.683, 0.7),  # 53.105037121 -> 53.788141815
    ("overlayfs-tensteps", "RUN sleep 1", 1.319, 1.3),  # 16.127202927 -> 17.446142386
    ("overlayfs-tensteps", "RUN dd if=/dev/zero of=/data.bin bs=1M count=20", 0.299, 0.3),
]


@pytest.mark.parametrize(("name", "instruction", "span", "printed"), ARCHIVE_TIMES)
def test_a_dockerbuild_archive_gives_the_steps_times(name, instruction, span, printed):
    """The archive's status stream gives each step the time its trace span shows, and the
    plain log of the same build printed that time rounded to 0.1 s."""
    archive = profile_of(MODERN / f"{name}.dockerbuild")
    plain = profile_of(MODERN / f"{name}-plain.log")
    assert archive.log_format == "dockerbuild"
    assert seconds_of(archive, instruction) == pytest.approx(span, abs=0.002)
    assert seconds_of(plain, instruction) == printed


@pytest.mark.parametrize("driver", ["vfs", "overlay2", "overlayfs"])
def test_the_three_records_of_a_build_name_the_same_steps(driver):
    """Plain, rawjson and archive: the same 13 steps of `tensteps`, each built and timed."""
    wanted = [
        (m.group(1), m.group(2))
        for m in re.finditer(
            r"^#\d+ \[ ?(\d+)/13\] (.*)$",
            (MODERN / f"{driver}-tensteps-plain.log").read_text(),
            re.M,
        )
    ]
    assert len(wanted) == 13
    for suffix in ("-plain.log", "-rawjson.log", ".dockerbuild"):
        profile = profile_of(MODERN / f"{driver}-tensteps{suffix}", storage=driver)
        got = [(str(s.index), s.instruction) for s in profile.steps]
        assert [g[0] for g in got] == [w[0] for w in wanted]
        assert [g[1] for g in got[1:]] == [w[1] for w in wanted[1:]]  # FROM may add @digest
        assert all(s.seconds is not None for s in profile.steps), suffix


def test_storage_and_buildkit_are_recorded_as_given(tmp_path):
    out = tmp_path / "p.yaml"
    code = main(
        [
            "calibrate",
            str(MODERN / "overlayfs-multi.dockerbuild"),
            "--storage",
            "overlayfs",
            "--buildkit",
            "0.25",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    text = out.read_text()
    assert "buildkit: '0.25'" in text
    assert "storage: overlayfs" in text
    assert "log_format: dockerbuild" in text


def test_containerd_store_digests_do_not_hide_the_base_image_size():
    """With the containerd image store the FROM prints `python:3.12-slim@sha256:...`; the
    base image's size (the history rows below the first step: the stand-in's 2.37MB) is
    still filed under the tag a scenario names."""
    history = (MODERN / "overlayfs-tensteps-history.txt").read_text()
    assert re.search(r"2\.37MB\s+cachesim stand-in for python:3\.12-slim", history)
    profile = profile_of(MODERN / "overlayfs-tensteps-plain.log", history=history)
    assert profile.images == {"python:3.12-slim": 2_370_000}


# --- steps of a stage with 10 or more steps (issue 10) ----------------------------------------


@pytest.mark.parametrize(
    "path", [LOGS / "buildkit-tensteps-cold.log", MODERN / "vfs-tensteps-plain.log"]
)
def test_no_step_of_a_long_stage_is_dropped(path):
    """Docker 20.10 and 28.5 pad the step numbers of a stage of 10+ steps (`[ 4/13]`); a
    parser that wanted `[4/13]` dropped steps 1-9. Every step keeps its `DONE` time."""
    log = path.read_text()
    printed = {
        int(m.group(1)): float(m.group(2))
        for m in re.finditer(r"^#(\d+) DONE (\d+\.\d)s$", log, re.M)
    }
    headers = {
        int(m.group(2)): int(m.group(1)) for m in re.finditer(r"^#(\d+) \[ ?(\d+)/13\] ", log, re.M)
    }
    assert sorted(headers) == list(range(1, 14))
    profile = profile_of(path)
    assert [s.index for s in profile.steps] == list(range(1, 14))
    for step in profile.steps:
        assert step.seconds == printed[headers[step.index]], step.instruction


def test_a_long_stage_cut_short_is_a_truncated_log(tmp_path):
    """Cut inside `[ 4/13] RUN sleep 1`: the checker must see the padded header as a step."""
    lines = (LOGS / "buildkit-tensteps-cold.log").read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.endswith("[ 4/13] RUN sleep 1"))
    path = tmp_path / "cut.log"
    path.write_text("\n".join(lines[: header + 2]) + "\n")
    code, err = _run_cli(["calibrate", str(path)])
    assert code == 2
    assert (
        err
        == f"error: {path}:{header + 1}: truncated log: step '[ 4/13] RUN sleep 1' (#8) never finished\n"
    )


# --- bad records: one line, the file (and line), exit 2 ---------------------------------------


def _run_cli(argv):
    """`cachesim ARGV` in this process: its exit status and what it wrote on stderr."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, stderr.getvalue()


def test_a_malformed_rawjson_line_is_named(tmp_path):
    lines = (MODERN / "vfs-tensteps-rawjson.log").read_text().splitlines()
    lines[11] = lines[11][:40]  # line 12 cut in the middle of its JSON
    path = tmp_path / "bad-rawjson.log"
    path.write_text("\n".join(lines) + "\n")
    code, err = _run_cli(["calibrate", str(path)])
    assert code == 2
    assert err.startswith(f"error: {path}:12: malformed rawjson line")
    assert err.count("\n") == 1


def test_a_rawjson_log_cut_short_names_the_unfinished_step(tmp_path):
    """Cut after line 25, where `RUN sleep 1` started (it completes on line 26)."""
    lines = (MODERN / "vfs-tensteps-rawjson.log").read_text().splitlines()
    assert '"name":"[ 4/13] RUN sleep 1","started"' in lines[24]
    path = tmp_path / "cut-rawjson.log"
    path.write_text("\n".join(lines[:25]) + "\n")
    code, err = _run_cli(["calibrate", str(path)])
    assert code == 2
    assert err.startswith(f"error: {path}:25: truncated log: step '[ 4/13] RUN sleep 1'")
    assert err.count("\n") == 1


def test_a_truncated_archive_is_refused(tmp_path):
    data = (MODERN / "vfs-tensteps.dockerbuild").read_bytes()
    path = tmp_path / "cut.dockerbuild"
    path.write_bytes(data[: len(data) // 2])
    code, err = _run_cli(["calibrate", str(path)])
    assert code == 2
    assert err.startswith(f"error: {path}: truncated or corrupt .dockerbuild archive")
    assert err.count("\n") == 1


def rewritten_archive(source: Path, change) -> bytes:
    """``source`` (a .dockerbuild) with each file's bytes passed through ``change(name,
    data)``, gzip-compressed again."""
    out = io.BytesIO()
    with tarfile.open(source, "r:gz") as tar, tarfile.open(fileobj=out, mode="w") as new:
        for member in tar.getmembers():
            data = tar.extractfile(member).read() if member.isfile() else b""
            data = change(member.name, data)
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))
    return gzip.compress(out.getvalue())


def test_an_archive_whose_status_stream_is_cut_is_refused(tmp_path):
    """A well-formed tar whose status blob lost its end. The blob's digest, read by hand
    from the manifest: application/vnd.buildkit.status.v0 is sha256:fea8cab8..."""
    status = "blobs/sha256/fea8cab82e060a7ed4f195bf762cf8607a5d1768959806836a58e9c2e11328a5"
    path = tmp_path / "cut-status.dockerbuild"
    path.write_bytes(
        rewritten_archive(
            MODERN / "vfs-tensteps.dockerbuild",
            lambda name, data: data[:-100] if name == status else data,
        )
    )
    code, err = _run_cli(["calibrate", str(path)])
    assert code == 2
    assert err == f"error: {path}: truncated status stream in the .dockerbuild archive\n"


def test_a_file_named_dockerbuild_that_is_no_archive(tmp_path):
    path = tmp_path / "build.dockerbuild"
    path.write_text("#1 [internal] load build definition from Dockerfile\n")
    code, err = _run_cli(["calibrate", str(path)])
    assert code == 2
    assert err.startswith(f"error: {path}: not a .dockerbuild archive")
    assert err.count("\n") == 1


def test_a_tar_that_is_no_build_record(tmp_path):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    path = tmp_path / "other.dockerbuild"
    path.write_bytes(out.getvalue())
    code, err = _run_cli(["calibrate", str(path)])
    assert code == 2
    assert err == f"error: {path}: not a build record archive: no index.json inside\n"


def test_a_failed_rawjson_build_is_no_calibration(tmp_path):
    """vfs-failed-rawjson.log (README): `RUN false` failed; its vertex carries the error on
    line 22, and the client's own `ERROR: failed to build` text follows the stream."""
    path = MODERN / "vfs-failed-rawjson.log"
    text = path.read_text()
    assert '"name":"[stage-1 1/1] RUN false"' in text.splitlines()[21]
    assert "ERROR: failed to build" in text
    code, err = _run_cli(["calibrate", str(path)])
    assert code == 2
    assert err.startswith(f"error: {path}:22: the build failed here")
    assert err.count("\n") == 1


def test_the_containerd_store_unpack_is_noted():
    """overlayfs-tensteps-plain.log: `#18 unpacking to docker.io/library/calib-tensteps:plain
    2.3s done`, after `exporting layers 0.7s done` (no such phase on vfs or overlay2)."""
    profile = profile_of(MODERN / "overlayfs-tensteps-plain.log", storage="overlayfs")
    assert "exporting layers took 0.7s" in profile.notes
    assert "unpacking into the image store took 2.3s" in profile.notes
    assert not any("unpacking" in n for n in profile_of(MODERN / "vfs-tensteps-plain.log").notes)


def test_an_archive_of_several_builds_asks_for_one(tmp_path):
    """`history export --all` writes one manifest per build into index.json."""

    def twice(name: str, data: bytes) -> bytes:
        if name != "index.json":
            return data
        index = json.loads(data)
        index["manifests"] *= 2
        return json.dumps(index).encode()

    path = tmp_path / "two.dockerbuild"
    path.write_bytes(rewritten_archive(MODERN / "vfs-multi.dockerbuild", twice))
    code, err = _run_cli(["calibrate", str(path)])
    assert code == 2
    assert err.startswith(f"error: {path}: the archive holds 2 builds: export the one")


def test_a_failed_build_exported_from_history_is_no_calibration():
    """vfs-failed.dockerbuild: the same failed build as vfs-failed-rawjson.log, exported."""
    path = MODERN / "vfs-failed.dockerbuild"
    code, err = _run_cli(["calibrate", str(path)])
    assert code == 2
    assert err.startswith(
        f'error: {path}: the build failed here (ERROR: process "/bin/sh -c false"'
    )
    assert err.count("\n") == 1


def test_a_rawjson_line_with_a_bad_value_is_named(tmp_path):
    """Line 12 is a `transferring context:` status whose `current` is a count of bytes."""
    lines = (MODERN / "vfs-tensteps-rawjson.log").read_text().splitlines()
    assert '"current":2,' in lines[11]
    lines[11] = lines[11].replace('"current":2,', '"current":"two",')
    path = tmp_path / "bad-value.log"
    path.write_text("\n".join(lines) + "\n")
    code, err = _run_cli(["calibrate", str(path)])
    assert code == 2
    assert err.startswith(f"error: {path}:12: malformed rawjson line")
    assert err.count("\n") == 1
