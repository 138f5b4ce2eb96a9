#!/usr/bin/env python3
"""Record real ``docker build`` logs into tests/engine_logs, with a meta.json entry each.

The log parser's tests read these files, so what the parser accepts is what an engine
printed, not what someone remembered. Each case is a short sequence of builds run with the
runner (stand-in bases, a private context folder); the log of the build named in the case
is kept. Usage, with DOCKER_HOST pointing at a private daemon::

    python3 scripts/record-engine-logs.py --docker CLIENT --prefix buildkit28 [CASE...]

The prefix names the files (``PREFIX-CASE.log``); the meta entry records the Dockerfile,
the builder, the exit status, the date, and the engine's and client's versions.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cachesim.context.workspace import BuildRequest, ContextFile  # noqa: E402
from cachesim.engine.daemon import run_docker, server_version  # noqa: E402
from cachesim.engine.runner import run_builds  # noqa: E402

LOGS = ROOT / "tests" / "engine_logs"
PY = "python:3.12-slim"

MULTI = (
    "FROM python:3.12-slim AS builder\nWORKDIR /src\nCOPY req.txt .\nRUN pip install -r req.txt\n"
    "RUN echo built > /out\n\nFROM python:3.12-slim\nWORKDIR /src\nCOPY req.txt .\n"
    "RUN echo unnamed > /u\n\nFROM builder AS tester\nRUN echo test > /t\n\n"
    "FROM alpine:3.20 AS envonly\nENV A=1\nLABEL x=y\n\nFROM envonly AS final\n"
    "COPY --from=builder /out /out\nCOPY --from=1 /u /u\nCOPY app.py /app.py\n"
    'CMD ["python", "/app.py"]\n'
)
TEN_SINGLE = "FROM python:3.12-slim\n" + "".join(f"RUN echo {i} > /f{i}\n" for i in range(2, 12))
TEN_NAMED = (
    "FROM python:3.12-slim AS build\nWORKDIR /src\nCOPY a.txt .\n"
    + "".join(f"RUN echo {i} > /f{i}\n" for i in range(4, 11))
    + "\nFROM python:3.12-slim\nCOPY --from=build /f10 /f10\n"
)
WARNINGS = (
    "FROM python:3.12-slim as builder\nENV A 1\nRUN echo $A\nFROM builder\n"
    "COPY a.txt /a\nCMD python /a\n"
)


def files(**named: str) -> dict[str, ContextFile]:
    return {name.replace("_", "."): ContextFile(text.encode()) for name, text in named.items()}


def request(name: str, dockerfile: str, ctx: dict[str, ContextFile], **kw) -> BuildRequest:
    images = kw.pop("images", {PY: 0})
    return BuildRequest(name, dockerfile, ctx, images=images, **kw)


def cases() -> dict[str, tuple[str, list[BuildRequest], str]]:
    """case name -> (builder, builds, name of the build whose log is kept)."""
    one = files(a_txt="a\n", req_txt="x\n", app_py="print(1)\n")
    edited = {**one, "app.py": ContextFile(b"print(2)\n")}
    multi_images = {PY: 0, "alpine:3.20": 0}
    cold = "FROM python:3.12-slim\nWORKDIR /app\nCOPY a.txt /a\nRUN echo never\n"
    missing = cold.replace("RUN", "COPY missing.txt /m\nRUN")
    fails = (
        "FROM python:3.12-slim AS b\nRUN echo one\nRUN echo two && false\nRUN echo never\n"
        "FROM b\nRUN echo x\n"
    )
    ten_edit = {**one, "a.txt": ContextFile(b"b\n")}
    git = {**one, ".git/HEAD": ContextFile(b"ref: refs/heads/main\n")}
    out: dict[str, tuple[str, list[BuildRequest], str]] = {}
    for engine in ("buildkit", "legacy"):
        out[f"{engine}:single-cold"] = (engine, [request("cold", cold, one)], "cold")
        out[f"{engine}:fail-copy-missing"] = (engine, [request("fail", missing, one)], "fail")
        out[f"{engine}:fail-run-fails"] = (engine, [request("fail", fails, one)], "fail")
        out[f"{engine}:parse-error"] = (
            engine,
            [request("bad", "FROM python:3.12-slim\nRUN echo a\nBOGUS thing\n", one)],
            "bad",
        )
        out[f"{engine}:bad-target"] = (
            engine,
            [request("bad", "FROM python:3.12-slim AS a\nRUN echo a\n", one, target="nope")],
            "bad",
        )
        out[f"{engine}:multi-edit-app"] = (
            engine,
            [
                request("cold", MULTI, one, images=multi_images),
                request("edit", MULTI, edited, images=multi_images),
            ],
            "edit",
        )
        out[f"{engine}:ten-steps"] = (
            engine,
            [request("cold", TEN_SINGLE, one), request("again", TEN_SINGLE, one)],
            "again",
        )
        out[f"{engine}:ten-steps-named"] = (
            engine,
            [request("cold", TEN_NAMED, one), request("edit", TEN_NAMED, ten_edit)],
            "edit",
        )
        out[f"{engine}:warnings"] = (engine, [request("warn", WARNINGS, one)], "warn")
        out[f"{engine}:git-context"] = (engine, [request("git", TEN_SINGLE, git)], "git")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docker", default="/usr/bin/docker")
    parser.add_argument("--prefix", required=True, help="file name prefix, e.g. buildkit28")
    parser.add_argument("--engine", choices=("buildkit", "legacy"), default="buildkit")
    parser.add_argument("names", nargs="*", help="cases to record (default: all)")
    args = parser.parse_args()
    if "git-context" in args.names or not args.names:
        os.environ.pop("BUILDX_GIT_INFO", None)  # the warning this case records
    meta_path = LOGS / "meta.json"
    meta = json.loads(meta_path.read_text())
    server = server_version(args.docker)
    client = run_docker(args.docker, "version", "--format", "{{.Client.Version}}").stdout.strip()
    for key, (engine, builds, keep) in cases().items():
        builder, name = key.split(":")
        if builder != args.engine or (args.names and name not in args.names):
            continue
        kept: dict[str, object] = {}

        def on_build(req: BuildRequest, obs, kept=kept, keep=keep) -> None:
            if req.name == keep:
                kept["req"], kept["obs"] = req, obs

        run_builds(builds, engine, docker=args.docker, on_build=on_build)  # type: ignore[arg-type]
        req, obs = kept["req"], kept["obs"]
        file = f"{args.prefix}-{name}.log"
        (LOGS / file).write_text(obs.log)  # type: ignore[attr-defined]
        meta[file] = {
            "dockerfile": req.dockerfile,  # type: ignore[attr-defined]
            "engine": engine,
            "exit_code": obs.exit_code,  # type: ignore[attr-defined]
            "docker_server": server,
            "docker_client": client,
            "recorded": datetime.date.today().isoformat(),
        }
        print(f"{file}: exit {obs.exit_code}")  # type: ignore[attr-defined]
    meta_path.write_text(json.dumps(dict(sorted(meta.items())), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
