"""How well does the time model predict rebuild wall time on a real engine?

For each scenario in benchmarks/accuracy/ this runs every build on the Docker engine that
DOCKER_HOST names, ``--runs`` times from an empty cache (``run_builds`` starts each run
with fresh stand-in images, so nothing is shared between runs), in a shuffled order of
scenarios per round, letting the machine settle before every run (the disk idle, no dirty
pages, free memory no longer moving: the VM hands freed memory back to its host, and a
build writing into that memory was seen to run up to 2x slower). The measurement of a
build is the median wall time over the runs.

The model is calibrated from ONE real cold build: the log (and ``docker history``) of the
first build of the first run, plus the storage driver from ``docker info``. It then
predicts every later build, and a build's error is
``|predicted - measured| / max(measured, 1.5 s)``. Printed: per scenario and overall, the
median and the worst error.

    python benchmarks/accuracy.py     # the engine DOCKER_HOST names, else a private one
    python benchmarks/accuracy.py --quick          # one scenario, one run: a smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cachesim.cost.calibrate import calibrate
from cachesim.cost.model import Profile, apply_costs
from cachesim.engine.runner import run_builds
from cachesim.logs.parse import stage_names
from cachesim.simulation.simulator import images_of, trace
from cachesim.sources.scenario import Scenario, load, replay

HERE = Path(__file__).resolve().parent / "accuracy"
FLOOR = 1.5  # seconds: errors of very short builds are measured against this


@dataclass
class Record:
    """What the runs of one scenario measured."""

    scenario: Scenario
    walls: list[list[float]] = field(default_factory=list)  # run -> build -> seconds
    log: str | None = None  # the first run's cold build log
    history: str | None = None


def progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(f"\r[{bar}] {done}/{total} {label[:50]:<50}")
    sys.stderr.flush()
    if done == total:
        sys.stderr.write("\n")


def _meminfo() -> dict[str, int]:
    out = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = int(value.split()[0])
    return out


def _sectors_written() -> int:
    total = 0
    for line in Path("/proc/diskstats").read_text().splitlines():
        parts = line.split()
        if len(parts) > 9 and not parts[2].startswith(("loop", "ram")):
            total += int(parts[9])
    return total


def settle(timeout: float = 60.0) -> float:
    """Wait until the disk is idle and memory stops moving; return the seconds waited.

    Quiet means, for three one-second samples in a row: under 4 MB/s written to disk,
    under 64 MB of dirty or writeback pages, and free memory changed by under 32 MB
    (thresholds loose enough for a machine with a little background work; after
    ``timeout`` seconds the run goes ahead anyway).
    """
    start = time.monotonic()
    subprocess.run(["sync"], check=False)
    quiet = 0
    before_mem, before_disk = _meminfo(), _sectors_written()
    while quiet < 3 and time.monotonic() - start < timeout:
        time.sleep(1.0)
        mem, disk = _meminfo(), _sectors_written()
        written = (disk - before_disk) * 512
        dirty = (mem.get("Dirty", 0) + mem.get("Writeback", 0)) * 1024
        moved = abs(mem["MemFree"] - before_mem["MemFree"]) * 1024
        quiet = quiet + 1 if written < 4e6 and dirty < 64e6 and moved < 32e6 else 0
        before_mem, before_disk = mem, disk
    return time.monotonic() - start


def _history(docker: str) -> str | None:
    """`docker history --no-trunc` of the image the run just built (the newest own tag)."""
    names = subprocess.run(
        [
            docker,
            "image",
            "ls",
            "--filter",
            "reference=cachesim-run-*",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if not names:
        return None
    newest = max(names, key=lambda n: int(n.rsplit(":", 1)[1]))
    done = subprocess.run(
        [docker, "history", "--no-trunc", newest], capture_output=True, text=True, check=False
    )
    return done.stdout if done.returncode == 0 else None


def storage_driver(docker: str) -> str | None:
    done = subprocess.run(
        [docker, "info", "--format", "{{.Driver}}"], capture_output=True, text=True, check=False
    )
    driver = done.stdout.strip()
    return driver if driver in ("vfs", "overlay2") else None


def run_once(record: Record, docker: str, first: bool) -> None:
    scenario = record.scenario
    requests = [step.request for step in replay(scenario, images_of)]

    def on_build(request, observed) -> None:
        if first and request is requests[0]:
            record.log = observed.log
            record.history = _history(docker)

    observed = run_builds(requests, scenario.engine, docker=docker, on_build=on_build)  # type: ignore[arg-type]
    for build in observed:
        if build.exit_code != 0:
            raise SystemExit(f"{scenario.name}: build {build.name!r} failed:\n{build.log[-2000:]}")
    record.walls.append([b.wall_seconds for b in observed])


def predict(record: Record, storage: str | None) -> list[float]:
    scenario = record.scenario
    assert record.log is not None
    profile: Profile = calibrate(
        record.log,
        f"{scenario.name} cold build",
        history=record.history,
        stages=stage_names(scenario.dockerfile),
        storage=storage,
    )
    result = apply_costs(scenario, trace(scenario), profile)
    return [b.seconds or 0.0 for b in result.builds]


def error(predicted: float, measured: float) -> float:
    return abs(predicted - measured) / max(measured, FLOOR)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one scenario, one run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", action="append", default=[], help="scenario file name part")
    parser.add_argument("--docker", default="/usr/bin/docker")
    parser.add_argument("--seed", type=int, default=None, help="seed of the run order")
    parser.add_argument("--json", metavar="FILE", help="write every figure here")
    parser.add_argument("--settle-timeout", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument(
        "--replay",
        metavar="FILE",
        help="no engine: re-predict the measurements a --json FILE of an earlier run holds "
        "(its cold-build logs included) and print the errors again",
    )
    args = parser.parse_args(argv)
    if args.replay:
        return replay_file(Path(args.replay))

    paths = sorted(HERE.glob("*.yaml"))
    if args.only:
        paths = [p for p in paths if any(part in p.name for part in args.only)]
    runs = args.runs
    if args.quick:
        paths, runs = paths[:1], 1
    if not paths:
        parser.error("no scenario selected")
    records = {p.name: Record(load(p)) for p in paths}
    with engine(args.docker):
        return measure(records, runs, args)


def replay_file(path: Path) -> int:
    """Print the errors of a recorded run with today's model (for working on the model:
    tune on one recorded run, then judge on a fresh one)."""
    saved = json.loads(path.read_text())
    records = {}
    for name, figures in saved.items():
        record = Record(
            load(HERE / name),
            walls=figures["runs"],
            log=figures["log"],
            history=figures.get("history"),
        )
        records[name] = record
    return report_errors(records, "vfs", 0.0, None)


@contextlib.contextmanager
def engine(docker: str):
    """The engine DOCKER_HOST names if it answers, else a private one for this run."""
    answers = subprocess.run([docker, "version"], capture_output=True, check=False)
    if os.environ.get("DOCKER_HOST") and answers.returncode == 0:
        yield
        return
    folder = tempfile.mkdtemp(prefix="cachesim-accuracy-")
    scripts = Path(__file__).resolve().parent.parent / "scripts"
    started = subprocess.run(
        ["sh", str(scripts / "start-engine.sh"), folder],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        raise SystemExit(f"no Docker engine could be started:\n{started.stderr}")
    os.environ["DOCKER_HOST"] = started.stdout.strip().splitlines()[-1]
    try:
        yield
    finally:
        subprocess.run(
            ["sh", str(scripts / "stop-engine.sh"), folder, "--purge"],
            capture_output=True,
            check=False,
        )


def measure(records: dict, runs: int, args: argparse.Namespace) -> int:
    """Run, settle, calibrate, predict and print (see the module docstring)."""
    storage = storage_driver(args.docker)
    rng = random.Random(args.seed)
    total, done = runs * len(records), 0
    waited = 0.0
    for round_number in range(runs):
        order = list(records)
        rng.shuffle(order)  # vary the order of runs
        for name in order:
            progress(done, total, f"round {round_number + 1}: settling")
            waited += settle(args.settle_timeout)
            progress(done, total, f"round {round_number + 1}: {name}")
            run_once(records[name], args.docker, first=round_number == 0)
            done += 1
    progress(done, total, "done")
    return report_errors(records, storage, waited, args.json)


def report_errors(records: dict, storage: str | None, waited: float, json_path: str | None) -> int:
    """Calibrate each scenario from its cold build, predict the rest, print the errors."""
    runs = len(next(iter(records.values())).walls)
    every: list[float] = []
    report = {}
    print(f"storage driver: {storage}; runs: {runs}; settling took {waited:.0f}s in all")
    print(f"{'scenario':<28} {'builds':>6} {'median':>7} {'worst':>7}")
    for name, record in records.items():
        measured = [statistics.median(b) for b in zip(*record.walls, strict=True)]
        predicted = predict(record, storage)
        errors = [error(p, m) for p, m in zip(predicted[1:], measured[1:], strict=True)]
        every += errors
        report[name] = {
            "measured": measured,
            "predicted": predicted,
            "runs": record.walls,
            "errors": errors,
            "log": record.log,
            "history": record.history,
        }
        print(
            f"{record.scenario.name:<28} {len(errors):>6} "
            f"{statistics.median(errors):>7.1%} {max(errors):>7.1%}"
        )
        for build, m, p in zip(
            record.scenario.builds[1:], measured[1:], predicted[1:], strict=True
        ):
            print(f"    {build.name:<32} measured {m:6.2f}s  predicted {p:6.2f}s")
    print(f"{'overall':<28} {len(every):>6} {statistics.median(every):>7.1%} {max(every):>7.1%}")
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
