"""The ``cachesim`` command: run a scenario, verify it against a real Docker engine,
calibrate the time model from a real build log, compare the build times of scenarios.

Exit statuses: 0 done; 1 ``verify`` found a difference between prediction and engine;
2 bad input (a malformed scenario or option, a missing file), with one line on stderr;
3 the Docker engine could not be used.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cachesim import __version__
from cachesim.builders.registry import NAMES as BUILDER_NAMES
from cachesim.core.errors import InputError
from cachesim.core.versions import BUILDKIT_VERSIONS, DEFAULT_BUILDKIT
from cachesim.output import report
from cachesim.simulation.simulator import trace
from cachesim.sources.scenario import for_builder, load

EPILOG = """\
exit status:
  0  done (a build that would fail is a prediction, not an error)
  1  verify: the real engine disagreed with the prediction somewhere
  2  bad input: a malformed scenario, a missing file, a bad option
  3  verify: no usable Docker engine

examples:
  cachesim run examples/ordering-python.yaml
  cachesim run examples/ordering-python.yaml --format json
  cachesim run examples/ordering-python.yaml --plot timeline.png
  cachesim calibrate build.log --history history.txt -o profile.yaml
  cachesim run examples/ordering-python.yaml --profile profile.yaml
  cachesim run tests/scenarios/label-change.yaml --engine both
  cachesim compare examples/ordering-python.yaml examples/ordering-python-better.yaml \\
      --plot cumulative.png
  DOCKER_HOST=unix:///tmp/eng/docker.sock cachesim verify --standin-bases tests/scenarios/*.yaml
  cachesim demo --list
  cachesim demo order --auto
  cachesim impact path/to/project            # what an edit of each file rebuilds
  cachesim run path/to/project --edit requirements.txt
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
    run.add_argument(
        "scenario",
        help="a scenario YAML file (see shared/spec/scenario-format.md), or a project folder: "
        "its build as it is, then a what-if build with the --edit and --build-arg given",
    )
    from cachesim.app import project_cli

    project_cli.project_options(run, run=True)
    run.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default) or the spec's JSON document on stdout",
    )
    run.add_argument(
        "--engine",
        choices=(*BUILDER_NAMES, "both"),
        help="simulate with this builder instead of the scenario's; `both` shows the two "
        "builders side by side and where they differ (text only)",
    )
    _buildkit_option(run, profiled=True)
    timing = run.add_mutually_exclusive_group()
    timing.add_argument(
        "--calibrate",
        metavar="LOG",
        help="a real cold-build record of the scenario's first build (docker build "
        "--progress=plain or --progress=rawjson, a `docker buildx history export` "
        ".dockerbuild archive, or a time-stamped classic log): its measured times and sizes "
        "replace declared and default ones (docs/time-model.md)",
    )
    timing.add_argument(
        "--profile", metavar="FILE", help="a profile written by 'cachesim calibrate'"
    )
    run.add_argument(
        "--history", metavar="FILE", help="with --calibrate: `docker history --no-trunc` output"
    )
    run.add_argument("--images", metavar="FILE", help=f"with --calibrate: {IMAGES_HELP}")
    _storage_option(run, "with --calibrate: ")
    _plot_options(run, kinds=("timeline", "layers", "cumulative"))
    run.add_argument(
        "--build",
        type=int,
        default=None,
        metavar="N",
        help="the build (1-based) that a timeline or layers plot shows (default: the last)",
    )

    calibrate = sub.add_parser(
        "calibrate",
        help="learn step times and sizes from a real build log into a profile",
        description="Read a real build's record (BuildKit's --progress=plain or "
        "--progress=rawjson log, a `docker buildx history export` .dockerbuild archive, or "
        "the classic builder's log, time-stamped per line, e.g. `| ts -s '%.s'`) and, "
        "optionally, `docker history --no-trunc` output, and write a profile: per-step "
        "seconds and layer sizes, the machine figures the log shows, and the storage driver "
        "and BuildKit you name.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    calibrate.add_argument("log", metavar="LOG", help="the build log or .dockerbuild archive")
    calibrate.add_argument("--history", metavar="FILE", help="`docker history` output")
    calibrate.add_argument("--images", metavar="FILE", help=IMAGES_HELP)
    _storage_option(calibrate, "")
    calibrate.add_argument(
        "--buildkit",
        choices=BUILDKIT_VERSIONS,
        help="the engine's BuildKit (0.8: Docker 20.10, 0.25: Docker 28.5); `run --profile` "
        "then predicts its rules unless given --buildkit",
    )
    calibrate.add_argument(
        "-o", "--output", metavar="FILE", help="where to write the profile (default: stdout)"
    )

    compare = sub.add_parser(
        "compare",
        help="predicted build times of two or more scenarios, build by build",
        description="Simulate each scenario and print the predicted seconds of each build "
        "and the running total; --plot draws the cumulative build time.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compare.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario files")
    compare.add_argument("--profile", metavar="FILE", help="a profile for every scenario")
    _buildkit_option(compare, profiled=True)
    _plot_options(compare, kinds=("cumulative",))

    verify = sub.add_parser(
        "verify",
        help="run scenarios on a real Docker engine and compare with the prediction",
        description="Run each build of each scenario on the Docker engine that DOCKER_HOST "
        "names (with each builder the scenario names: BuildKit, the classic builder, or both), "
        "compare every "
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
    verify.add_argument(
        "--buildkit",
        choices=BUILDKIT_VERSIONS,
        help="predict with this BuildKit's rules (default: the one the engine's Docker "
        "version carries: 20.10 -> 0.8, 28.5 -> 0.25)",
    )
    verify.add_argument(
        "--builder",
        choices=BUILDER_NAMES,
        help="verify with this builder only (default: every builder the scenario names, "
        "its `builders:` or its one `engine:`)",
    )
    _add_suggest_parser(sub)
    from cachesim.app.sweep_command import add_parser as add_sweep_parser

    add_sweep_parser(sub, EPILOG)
    _replay_parser(sub)
    _diff_parser(sub)
    from cachesim.app.demo import add_parser as add_demo_parser

    add_demo_parser(sub, EPILOG, argparse.RawDescriptionHelpFormatter)
    project_cli.add_parsers(sub, argparse.RawDescriptionHelpFormatter)
    return parser


def _buildkit_option(parser: argparse.ArgumentParser, *, profiled: bool = False) -> None:
    """--buildkit; where a profile may name the engine's BuildKit (``profiled``), the
    option's absence lets the profile decide (see ``_buildkit_for``)."""
    default = f"the profile's BuildKit, else {DEFAULT_BUILDKIT}" if profiled else DEFAULT_BUILDKIT
    parser.add_argument(
        "--buildkit",
        choices=BUILDKIT_VERSIONS,
        default=None if profiled else DEFAULT_BUILDKIT,
        help="predict the rules of this BuildKit release: 0.8 is Docker 20.10's, 0.25 "
        f"Docker 28.5's (default: {default})",
    )


IMAGES_HELP = (
    "`docker image ls` output (or --format '{{.Repository}}:{{.Tag}}\\t{{.Size}}'): the base "
    "images' sizes, for stages the target's `docker history` does not show"
)


def _storage_option(parser: argparse.ArgumentParser, prefix: str) -> None:
    from cachesim.cost.timing import STORAGE_DRIVERS

    parser.add_argument(
        "--storage",
        choices=STORAGE_DRIVERS,
        help=f"{prefix}the engine's storage driver (`docker info --format '{{{{.Driver}}}}'`; "
        "overlayfs is the containerd image store's)",
    )


def _buildkit_for(args: argparse.Namespace, profile) -> str:
    """The BuildKit to predict: --buildkit, else the profile's engine's, else the default."""
    if args.buildkit:
        return args.buildkit
    if profile is not None and profile.buildkit:
        return profile.buildkit
    return DEFAULT_BUILDKIT


def _plot_options(parser: argparse.ArgumentParser, kinds: tuple[str, ...]) -> None:
    parser.add_argument("--plot", metavar="FILE", help="save a plot (.png or .svg)")
    parser.add_argument(
        "--plot-kind",
        choices=kinds,
        default=kinds[0],
        help=f"which plot (default: {kinds[0]})",
    )


def _calibrated(args: argparse.Namespace, log_path: str):
    """The profile of one build record, as `calibrate` and `run --calibrate` both read it:
    the same function and the same options, so the two predict the same."""
    from cachesim.cost import calibrate

    source = calibrate.read_log(log_path)
    history = calibrate.read_text(args.history, "history file") if args.history else None
    images = calibrate.read_text(args.images, "images file") if args.images else None
    return calibrate.calibrate(
        source,
        history=history,
        history_file=args.history or "",
        images=images,
        images_file=args.images or "",
        storage=args.storage,
        buildkit=args.buildkit,
    )


def _profile(args: argparse.Namespace):
    """The profile that --calibrate LOG or --profile FILE names, or None."""
    from cachesim.cost import calibrate

    if getattr(args, "calibrate", None):
        return _calibrated(args, args.calibrate)
    for option in ("history", "images", "storage"):
        if getattr(args, option, None):
            raise InputError(f"--{option} goes with --calibrate")
    if args.profile:
        return calibrate.load_profile(args.profile)
    return None


def _check_plot(path: str | None) -> None:
    """Refuse, before simulating, a plot file that cannot be written."""
    if not path:
        return
    if not path.lower().endswith((".png", ".svg")):
        raise InputError("the plot file must end in .png or .svg", path)
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise InputError(f"no such folder: {folder}", path)


def _run(args: argparse.Namespace) -> int:
    from cachesim.app import project_cli
    from cachesim.cost.model import apply_costs

    _check_plot(args.plot)
    project_cli.check_folder_options(args)
    if os.path.isdir(args.scenario):
        scenario = project_cli.folder_scenario(args)
    else:
        scenario = load(args.scenario)
    if args.engine == "both":
        if args.format == "json" or args.plot:
            raise InputError("--engine both prints text only (no --format json, no --plot)")
        profile = _profile(args)
        version = _buildkit_for(args, profile)
        results = [
            apply_costs(variant, trace(variant, version), profile)
            for variant in (for_builder(scenario, e) for e in BUILDER_NAMES)
        ]
        sys.stdout.write(report.builders_text(*results))
        return 0
    if args.engine:
        scenario = for_builder(scenario, args.engine)
    profile = _profile(args)
    result = apply_costs(scenario, trace(scenario, _buildkit_for(args, profile)), profile)
    if args.plot:
        from cachesim.output import plot

        count = len(result.builds)
        if args.build is not None and not 1 <= args.build <= count:
            raise InputError(
                f"--build {args.build}: builds are numbered 1 to {count} (the scenario has "
                f"{count} build{'s' if count != 1 else ''})"
            )
        build = result.builds[(args.build or count) - 1]
        if args.plot_kind == "timeline":
            figure = plot.timeline(build, result.engine, title=f"{result.scenario}: {build.name}")
        elif args.plot_kind == "layers":
            figure = plot.layers(build, title=f"{result.scenario}: {build.name}")
        else:
            figure = plot.cumulative([result])
        plot.save(figure, args.plot)
    if args.format == "json":
        sys.stdout.write(report.to_json(result))
    else:
        sys.stdout.write(report.text(result))
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from cachesim.cost import calibrate

    profile = _calibrated(args, args.log)
    text = calibrate.profile_to_yaml(profile)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as err:
            raise InputError(f"cannot write the profile: {err}", args.output) from None
        measured = sum(1 for s in profile.steps if s.seconds is not None)
        print(f"{args.output}: {measured} measured steps, machine: {dict(profile.machine)}")
    else:
        sys.stdout.write(text)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from cachesim.cost.model import apply_costs

    if len(args.scenarios) < 2:
        raise InputError("compare needs two or more scenarios")
    _check_plot(args.plot)
    profile = _profile(args)
    results = []
    version = _buildkit_for(args, profile)
    for path in args.scenarios:
        scenario = load(path)
        results.append(apply_costs(scenario, trace(scenario, version), profile))
    for result in results:
        total = 0.0
        print(f"{result.scenario} ({result.engine})")
        for number, build in enumerate(result.builds, start=1):
            total += build.seconds or 0.0
            print(
                f"  {number:>2}. {build.name:<40} {build.seconds or 0.0:8.1f}s  total {total:8.1f}s"
            )
    for line in report.compare_summary(results):
        print(line)
    if args.plot:
        from cachesim.output import plot

        plot.save(plot.cumulative(results), args.plot)
    return 0


SUGGEST_EPILOG = """\
how it decides (docs/whatif.md, "## suggest"):
  A RUN moves above `COPY . .` only when cachesim knows every command in it and what each
  reads (pip install -r, npm ci, go mod download, bundle install, apt-get...): the files it
  reads are copied first, nothing it writes is put back by the later COPY, and its
  manifests name no other local file. Anything else stays where it is, and the output
  says why ("not suggested"). The saving is simulated: the same edits built with the
  original and with the rewritten Dockerfile.

the default edit mix (without --history), in every ten builds:
  7 source edits, 2 docs edits (*.md, docs/), 1 dependency bump (manifest + lockfile);
  each build also gives ARGs named like BUILD_DATE or GIT_COMMIT a new value.

examples:
  cachesim suggest Dockerfile
  cachesim suggest services/api/Dockerfile --context . --builds 50
  cachesim suggest Dockerfile --history . --commits 200
  cachesim suggest Dockerfile --format json

It only reads: the DOCKERFILE, the context and the repository are never written to.
exit status: 0 done (with or without suggestions), 2 bad input.
"""


def _add_suggest_parser(sub) -> None:
    suggest = sub.add_parser(
        "suggest",
        help="propose Dockerfile changes that cut rebuild time, each with its saving",
        description="Read a Dockerfile and its build context and propose changes that make "
        "fewer steps rebuild: dependency manifests copied and installed before the source, "
        "ARGs that change every build declared where they are used, .dockerignore entries "
        "for files no step reads, BuildKit cache mounts for downloads. Each shows the "
        "rewritten files as a unified diff and the predicted saving over an edit mix or "
        "over the repository's history.",
        epilog=SUGGEST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    suggest.add_argument("dockerfile", metavar="DOCKERFILE", help="the Dockerfile to improve")
    suggest.add_argument(
        "--context",
        metavar="DIR",
        help="the build context folder (default: the folder holding DOCKERFILE)",
    )
    suggest.add_argument(
        "--history",
        metavar="REPO",
        help="price the suggestions over the git history of REPO (each commit that changed "
        "files of the context is one build) instead of the default edit mix",
    )
    suggest.add_argument(
        "--commits",
        type=int,
        default=100,
        metavar="N",
        help="with --history: the last N commits of HEAD (default: 100)",
    )
    suggest.add_argument(
        "--builds",
        type=int,
        default=20,
        metavar="N",
        help="the default edit mix: how many builds after the cold one (default: 20)",
    )
    suggest.add_argument(
        "--engine",
        choices=BUILDER_NAMES,
        default=BUILDER_NAMES[0],
        help="the builder whose cache rules price the saving (default: buildkit)",
    )
    _buildkit_option(suggest)
    suggest.add_argument(
        "--build-arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a --build-arg the builds use (repeatable)",
    )
    suggest.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default) or one JSON document on stdout",
    )


def _suggest(args: argparse.Namespace) -> int:
    from cachesim.whatif import editmix
    from cachesim.whatif import suggest as advice
    from cachesim.whatif.suggest_inputs import history_commits, read_project

    if args.builds < 1 or args.commits < 1:
        raise InputError("--builds and --commits take a number of 1 or more")
    build_args = {}
    for pair in args.build_arg:
        name, eq, value = pair.partition("=")
        if not eq or not name:
            raise InputError(f"--build-arg {pair!r}: give NAME=VALUE")
        build_args[name] = value
    project = read_project(args.dockerfile, args.context, build_args)
    edits = None
    if args.history:
        volatile = editmix.volatile_args(advice.declared_args(project.dockerfile))
        commits = history_commits(
            args.history,
            args.context or os.path.dirname(os.path.abspath(args.dockerfile)),
            args.commits,
        )
        edits = editmix.history_edits(commits, list(project.files), volatile)
        if not edits:
            raise InputError("no commit of the history changed a file of the context", args.history)
    mix = editmix.EditMix(builds=args.builds)
    result = advice.suggest(project, edits, mix, args.engine, args.buildkit)
    if args.format == "json":
        sys.stdout.write(advice.to_json(project, result))
    else:
        sys.stdout.write(advice.to_text(project, result))
    return 0


def _replay_parser(sub) -> None:
    replay = sub.add_parser(
        "replay",
        help="predict one build per commit of a git history, per Dockerfile variant",
        description="Walk a git repository's first-parent history oldest to newest and "
        "predict, commit by commit, which steps a BuildKit build rebuilds and how long it "
        "takes, with the Dockerfile as it was at each commit and with each --variant. "
        "Reads the repository only (a bare one works); nothing is checked out or written.",
    )
    replay.add_argument("repo", metavar="REPO", help="a git repository (work tree or bare)")
    replay.add_argument(
        "--dockerfile",
        default="Dockerfile",
        metavar="PATH",
        help="the Dockerfile's path in the repository (default: Dockerfile)",
    )
    replay.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="FILE",
        help="another Dockerfile (a file) replayed at every commit; repeatable",
    )
    replay.add_argument("--commits", type=int, metavar="N", help="only the last N commits")
    replay.add_argument("--branch", default="HEAD", metavar="REF", help="default: HEAD")
    replay.add_argument("--format", choices=("table", "json", "csv"), default="table")
    replay.add_argument("--plot", metavar="FILE", help="cumulative hours per variant (.png/.svg)")
    replay.add_argument("--build-arg", action="append", default=[], metavar="K=V")
    replay.add_argument("--target", metavar="STAGE")
    _buildkit_option(replay)


def _diff_parser(sub) -> None:
    diff = sub.add_parser(
        "diff",
        help="which steps a build of HEAD re-runs when the cache is warm from BASE",
        description="Predict which steps a BuildKit build of commit HEAD re-runs when the "
        "build cache is warm from a build of BASE, why, and how long it costs. With "
        "--fail-on PATTERN, exit 1 when a rebuilt step's instruction matches it (shell glob).",
    )
    diff.add_argument("repo", metavar="REPO")
    diff.add_argument("base", metavar="BASE")
    diff.add_argument("head", metavar="HEAD")
    diff.add_argument("--dockerfile", default="Dockerfile", metavar="PATH")
    diff.add_argument(
        "--fail-on",
        action="append",
        default=[],
        metavar="PATTERN",
        help="e.g. 'RUN pip install*'; repeatable",
    )
    diff.add_argument("--format", choices=("text", "json"), default="text")
    diff.add_argument("--build-arg", action="append", default=[], metavar="K=V")
    diff.add_argument("--target", metavar="STAGE")
    _buildkit_option(diff)


def _build_args(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError(f"--build-arg {pair!r}: expected KEY=VALUE")
        key, value = pair.split("=", 1)
        out[key] = value
    return out


def _replay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cachesim.output.plot import save
    from cachesim.sources.git import Repository
    from cachesim.whatif import replayreport
    from cachesim.whatif.replay import ReplayOptions, Variant, replay

    _check_plot(args.plot)
    if args.commits is not None and args.commits < 1:
        raise InputError("--commits must be 1 or more")
    variants = [Variant(args.dockerfile)]
    for path in args.variant:
        try:
            variants.append(Variant(Path(path).name, Path(path).read_text()))
        except OSError as err:
            raise InputError(f"cannot read the variant: {err.strerror}", path) from None
    repo = Repository(args.repo)
    options = ReplayOptions(
        args.dockerfile, _build_args(args.build_arg), args.target, args.buildkit
    )
    with _progress(args.commits) as advance:
        result = replay(repo, args.branch, args.commits, variants, options, advance)
    for warning in result.notes.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "json":
        print(replayreport.to_json(result))
    elif args.format == "csv":
        print(replayreport.to_csv(result), end="")
    else:
        print(replayreport.to_table(result))
    if args.plot:
        where = Path(args.repo).resolve()
        name = where.parent.name if where.name in ("repo", ".git") else where.name
        title = (
            f"{name.removesuffix('.git')}: predicted build time over {len(result.commits)} commits"
        )
        save(replayreport.cumulative_figure(result, title), args.plot)
    return 0


def _progress(total: int | None):
    """A progress bar on stderr for long replays (only when stderr is a terminal)."""
    import contextlib

    if not sys.stderr.isatty():
        return contextlib.nullcontext(None)

    @contextlib.contextmanager
    def bar():
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("replaying commits", total=total)
            yield lambda n: progress.update(task, completed=n) if n % 50 == 0 else None

    return bar()


def _diff(args: argparse.Namespace) -> int:
    from cachesim.sources.git import Repository
    from cachesim.whatif.diff import diff, to_json, to_text

    repo = Repository(args.repo)
    result = diff(
        repo,
        args.base,
        args.head,
        args.dockerfile,
        _build_args(args.build_arg),
        args.target,
        args.buildkit,
        args.fail_on,
    )
    print(to_json(result) if args.format == "json" else to_text(result))
    return 1 if result.matched else 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            _parser().print_help()
            return 2
        if args.command == "run":
            return _run(args)
        if args.command == "calibrate":
            return _calibrate(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "suggest":
            return _suggest(args)
        if args.command == "sweep":
            from cachesim.app.sweep_command import sweep_command

            return sweep_command(args)
        if args.command in ("impact", "init"):
            from cachesim.app import project_cli

            return getattr(project_cli, f"{args.command}_command")(args)
        if args.command == "replay":
            return _replay(args)
        if args.command == "diff":
            return _diff(args)
        if args.command == "demo":
            from cachesim.app.demo import demo_command

            return demo_command(args)
        from cachesim.engine.verify import verify_command

        return verify_command(args)
    except InputError as err:
        print(f"error: {err.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
