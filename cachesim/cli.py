"""The ``cachesim`` command: run a scenario, or verify it against a real Docker engine.

Exit statuses: 0 done; 1 ``verify`` found a difference between prediction and engine;
2 bad input (a malformed scenario or option, a missing file), with one line on stderr;
3 the Docker engine could not be used.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cachesim import __version__, report
from cachesim.errors import InputError
from cachesim.scenario import load
from cachesim.simulator import simulate

EPILOG = """\
exit status:
  0  done (a build that would fail is a prediction, not an error)
  1  verify: the real engine disagreed with the prediction somewhere
  2  bad input: a malformed scenario, a missing file, a bad option
  3  verify: no usable Docker engine

examples:
  cachesim run examples/ordering-python.yaml
  cachesim run examples/ordering-python.yaml --format json
  DOCKER_HOST=unix:///tmp/eng/docker.sock cachesim verify --standin-bases tests/scenarios/*.yaml
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad options as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{message} (see '{self.prog} --help')")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cachesim",
        description="Predict, build by build, which Dockerfile steps Docker's build cache "
        "reuses, which it runs again, and why.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cachesim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser(
        "run",
        help="simulate every build of a scenario",
        description="Simulate every build of a scenario and print, step by step, CACHED or "
        "DONE with the reason, in the look of `docker build --progress=plain`.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("scenario", help="a scenario YAML file (see shared/spec/scenario-format.md)")
    run.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default) or the spec's JSON document on stdout",
    )

    verify = sub.add_parser(
        "verify",
        help="run scenarios on a real Docker engine and compare with the prediction",
        description="Run each build of each scenario on the Docker engine that DOCKER_HOST "
        "names (with the scenario's engine: BuildKit or the classic builder), compare every "
        "step with the prediction and print the differences. It creates its own images and "
        "cache entries and removes them afterwards; it touches nothing else.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario files")
    verify.add_argument(
        "--standin-bases",
        action="store_true",
        help="import local stand-in base images (busybox with stub pip, npm, "
        "apt-get...) under the names the Dockerfiles use, so nothing is "
        "pulled: needed offline and in CI",
    )
    verify.add_argument(
        "--docker",
        default="/usr/bin/docker",
        help="the docker client to use (default: /usr/bin/docker)",
    )
    verify.add_argument(
        "--logs", action="store_true", help="print the engine's log of every build that differs"
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    scenario = load(args.scenario)
    result = simulate(scenario)
    if args.format == "json":
        sys.stdout.write(report.to_json(result))
    else:
        sys.stdout.write(report.text(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            _parser().print_help()
            return 2
        if args.command == "run":
            return _run(args)
        from cachesim.verify import verify_command

        return verify_command(args)
    except InputError as err:
        print(f"error: {err.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
