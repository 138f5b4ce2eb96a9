"""The commands that take a real project folder instead of a scenario file.

``cachesim impact DIR`` (what an edit of each part rebuilds), ``cachesim run DIR --edit PATH``
(one what-if) and ``cachesim init DIR`` (a scenario to start a lesson or a test from).
None of them writes anything in DIR.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from cachesim.builders.registry import DEFAULT as DEFAULT_BUILDER
from cachesim.builders.registry import NAMES as BUILDER_NAMES
from cachesim.context.changes import BuildArg, Change
from cachesim.core.errors import InputError
from cachesim.core.versions import BUILDKIT_VERSIONS, DEFAULT_BUILDKIT
from cachesim.sources.scenario import Build, Scenario

IMPACT_EPILOG = """\
how it decides: a build of the folder as it is fills the cache; then, for each file and
folder, a build with that part edited (a line appended to each of its files) says which
step runs again first and what the build costs (docs/time-model.md). Folders are opened
--depth levels deep; parts with the same effect share a line. Nothing in DIR is written.

exit status: 0 done (a build that would fail is a prediction); 2 bad input (no such
folder, no Dockerfile, a bad option), with one line on stderr.

examples:
  cachesim impact .
  cachesim impact ~/src/app --dockerfile ~/src/app/docker/Dockerfile --target runtime
  cachesim impact . --depth 3 --build-arg PYTHON_VERSION=3.12
  cachesim run . --edit requirements.txt          # one what-if, no scenario file
  cachesim run . --edit src/ --build-arg VERSION=2
  cachesim init . -o /tmp/myproject.yaml           # a scenario to start a lesson from
"""


def add_parsers(sub: argparse._SubParsersAction, formatter: type) -> None:
    """The ``impact`` and ``init`` subcommands."""
    impact = sub.add_parser(
        "impact",
        help="for each file and folder of a project: what an edit of it rebuilds",
        description="Read DIR as `docker build DIR` would (with its .dockerignore) and print, "
        "for every file and folder of the context, largest effect first, the first step an "
        "edit of it runs again, how many steps and the predicted time; then the files no "
        "step reads and those .dockerignore keeps out.",
        epilog=IMPACT_EPILOG,
        formatter_class=formatter,
    )
    impact.add_argument("folder", metavar="DIR", nargs="?", default=".", help="the build context")
    project_options(impact)
    impact.add_argument(
        "--depth",
        type=int,
        default=2,
        metavar="N",
        help="how many folder levels to open (default 2; 1: top-level entries only)",
    )
    init = sub.add_parser(
        "init",
        help="write a scenario from a project folder, to start a lesson or a test",
        description="Write a scenario YAML (shared/spec/scenario-format.md) whose Dockerfile, "
        ".dockerignore and files are DIR's as they are now: text files inline, other files "
        "by their size. Two builds to start from: cold, and nothing changed; add your own.",
        epilog=IMPACT_EPILOG,
        formatter_class=formatter,
    )
    init.add_argument("folder", metavar="DIR", help="the build context")
    init.add_argument(
        "--dockerfile", metavar="PATH", help="the Dockerfile (default DIR/Dockerfile)"
    )
    init.add_argument(
        "-o", "--output", metavar="FILE", help="where to write it (default stdout; not in DIR)"
    )


def project_options(parser: argparse.ArgumentParser, run: bool = False) -> None:
    """Options shared by the commands that read a folder (``run`` already has --buildkit)."""
    parser.add_argument(
        "--dockerfile",
        metavar="PATH",
        help="the Dockerfile, as `docker build -f` (default "
        "DIR/Dockerfile); a PATH.dockerignore beside it replaces DIR/.dockerignore",
    )
    parser.add_argument(
        "--build-arg",
        action="append",
        default=[],
        metavar="K=V",
        dest="build_arg",
        help="a --build-arg value" + (" set in the what-if build" if run else ""),
    )
    if run:
        parser.add_argument(
            "--edit",
            action="append",
            default=[],
            metavar="PATH",
            help="with a folder: a file or folder edited before the what-if build (repeat)",
        )
        return
    parser.add_argument("--target", metavar="STAGE", help="the --target stage")
    parser.add_argument(
        "--engine",
        choices=BUILDER_NAMES,
        default=DEFAULT_BUILDER,
        help="the builder (legacy: the classic builder, DOCKER_BUILDKIT=0)",
    )
    parser.add_argument(
        "--buildkit",
        choices=BUILDKIT_VERSIONS,
        default=DEFAULT_BUILDKIT,
        help=f"the BuildKit release whose rules apply (default {DEFAULT_BUILDKIT})",
    )


def build_args(values: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise InputError(f"--build-arg {value!r}: give NAME=VALUE")
        out[name] = text
    return out


def impact_command(args: argparse.Namespace) -> int:
    from cachesim.whatif.impact import impact, impact_text
    from cachesim.whatif.project import read_project

    if args.depth < 1:
        raise InputError(f"--depth {args.depth}: give 1 or more")
    project = read_project(args.folder, args.dockerfile)
    result = impact(
        project,
        depth=args.depth,
        build_args=build_args(args.build_arg),
        target=args.target,
        builder=args.engine,
        buildkit=args.buildkit,
        progress=_level_note if sys.stderr.isatty() else None,
    )
    sys.stdout.write(impact_text(result))
    return 0


def _level_note(level: int, edits: int) -> None:
    """One line on a terminal before each level: a large context takes minutes."""
    sys.stderr.write(f"impact: folder level {level}: simulating {edits} edits, one build each\n")


def folder_scenario(args: argparse.Namespace) -> Scenario:
    """``cachesim run DIR``: the folder as it is, then the what-if build (edits, arguments)."""
    from cachesim.whatif.project import edit_changes, read_project

    project = read_project(args.scenario, args.dockerfile)
    changes: list[Change] = []
    for path in args.edit:
        changes.extend(edit_changes(project, path))
    arguments = build_args(args.build_arg)
    changes += [BuildArg(k, v) for k, v in arguments.items()]
    what = [f"edit {p}" for p in args.edit] + [f"--build-arg {k}={v}" for k, v in arguments.items()]
    second = Build(", ".join(what) or "again, nothing changed", tuple(changes))
    from cachesim.whatif.project import scenario_of

    return scenario_of(project, (Build("the folder as it is"), second))


def check_folder_options(args: argparse.Namespace) -> None:
    """``--edit``, ``--build-arg`` and ``--dockerfile`` only go with a folder."""
    used = [
        o
        for o, v in (
            ("--edit", args.edit),
            ("--build-arg", args.build_arg),
            ("--dockerfile", args.dockerfile),
        )
        if v
    ]
    if used and not os.path.isdir(args.scenario):
        raise InputError(f"{used[0]} goes with a folder, not a scenario file", args.scenario)


class _Literal(yaml.SafeDumper):
    """Multi-line text as YAML block scalars (``|``), as a person would write it."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not any(c in value for c in "\r\t") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Literal.add_representer(str, _text)

INLINE_LIMIT = 64 * 1024  # text files up to this size are written inline


def init_command(args: argparse.Namespace) -> int:
    from cachesim.whatif.project import read_project

    project = read_project(args.folder, args.dockerfile)
    if args.output:
        out = Path(args.output).resolve()
        if out.is_relative_to(project.folder.resolve()):
            raise InputError("the scenario must not be written inside DIR", args.output)
        if out.exists():
            raise InputError("already exists (choose another file)", args.output)
    files: dict[str, object] = {}
    own = {".dockerignore"}
    if project.dockerfile_path.resolve() == (project.folder / "Dockerfile").resolve():
        own.add("Dockerfile")  # the `dockerfile:` key stands for it (the builder adds it)
    for path, entry in project.snapshot.entries.items():
        if path in own:
            continue
        spec = _file_spec(entry.content, entry.size, entry.mode & 0o7777)
        files[path] = spec
    doc: dict[str, object] = {
        "name": _name(project.folder),
        "description": f"Made by `cachesim init` from {project.folder}.",
        "dockerfile": project.dockerfile,
    }
    if project.snapshot.dockerignore is not None:
        doc["dockerignore"] = project.snapshot.dockerignore
    doc["files"] = files
    doc["builds"] = [{"name": "cold"}, {"name": "nothing changed"}]
    text = yaml.dump(doc, Dumper=_Literal, sort_keys=False, allow_unicode=True, width=100)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as err:
            raise InputError(f"cannot write: {err.strerror}", args.output) from None
        print(f"{args.output}: {len(files)} files, 2 builds")
    else:
        sys.stdout.write(text)
    return 0


def _name(folder: Path) -> str:
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in folder.resolve().name)
    return name or "project"


def _file_spec(content: bytes | None, size: int, mode: int) -> object:
    """A file as the scenario format writes it: its text, or its size when it is not text."""
    text = None
    if content is not None and size <= INLINE_LIMIT:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    if text is not None and "\r" not in text and "\x00" not in text:
        return text if mode == 0o644 else {"content": text, "mode": f"{mode:04o}"}
    spec: dict[str, object] = {"size": size}
    if mode != 0o644:
        spec["mode"] = f"{mode:04o}"
    return spec
