"""``cachesim demo``: two Dockerfiles rebuilt side by side, for a classroom projector.

A demo (``cachesim/demos/NAME.yaml``) is two variants of one scenario (two Dockerfiles, two
``.dockerignore`` texts, or one Dockerfile on two builders) put through the same builds.
Each build is one screen: what changed, then every step of both variants with CACHED or
BUILT, its predicted seconds and why it was built, and the running total of both. The
teacher moves on with a key press (``q`` quits), or ``--auto`` runs to the end with a
short delay. Where stdout is not a terminal the same screens are printed as plain text,
one after another, without waiting.

The screens are computed first (``frames``), as values, and drawn after: the rules are the
simulator's, the times the cost model's; this module only lays them out.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TextIO

import yaml

from cachesim.core.errors import InputError
from cachesim.core.results import BuildResult, StepResult
from cachesim.core.versions import BUILDKIT_VERSIONS, DEFAULT_BUILDKIT
from cachesim.cost.model import apply_costs, human_size
from cachesim.simulation.simulator import trace
from cachesim.sources.scenario import Scenario, loads

DEFAULT_DEMO = "order"
SIDE_BY_SIDE_COLUMNS = 96  # narrower terminals show the two sides one above the other
DEFAULT_DELAY = 2.0  # seconds a screen stays up under --auto
SIDE_KEYS = {"label", "engine", "dockerfile", "dockerignore"}
FIRST_BUILD = "nothing: the first build, the cache is empty"
PARENT_REASON = "the step above it was built"
COLD_REASON = "no earlier build"  # said once in the header, not under every step
DEMO_KEYS = {"title", "lesson", "about", "left", "right", "scenario"}

# Okabe-Ito colours, told apart by colour-blind viewers too (the lessons' figures use them).
BUILT_STYLE = "bold white on #D55E00"
CACHED_STYLE = "bold white on #0072B2"
FAILED_STYLE = "bold white on black"


@dataclass(frozen=True, slots=True)
class Side:
    """One variant: its label on screen and the scenario it builds."""

    label: str
    scenario: Scenario


@dataclass(frozen=True, slots=True)
class Demo:
    name: str
    title: str
    lesson: int | None
    about: str
    left: Side
    right: Side


@dataclass(frozen=True, slots=True)
class Frame:
    """One screen: one build of both variants, and the running totals after it."""

    number: int
    count: int
    name: str
    changes: tuple[str, ...]
    left: BuildResult
    right: BuildResult
    left_total: float
    right_total: float


# --- loading ------------------------------------------------------------------------------


def _folder():
    return resources.files("cachesim.app") / "demos"


def demo_names() -> list[str]:
    """The demos shipped with cachesim, by name."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in _folder().iterdir()
        if entry.name.endswith(".yaml")
    )


def load_demo(name: str) -> Demo:
    """The demo called ``name``; ``InputError`` (one line) if there is none."""
    entry = _folder() / f"{name}.yaml"
    if not name or "/" in name or not entry.is_file():
        raise InputError(
            f"no demo named {name!r}; the demos are: {', '.join(demo_names())} "
            "(cachesim demo --list)"
        )
    return parse_demo(name, entry.read_text(encoding="utf-8"), f"cachesim/demos/{name}.yaml")


def parse_demo(name: str, text: str, file: str) -> Demo:
    """A demo from its YAML text: the shared ``scenario:`` with each side laid over it."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not DEMO_KEYS >= set(data) >= {"title", "scenario"}:
        raise InputError(f"a demo needs title and scenario, and only {sorted(DEMO_KEYS)}", file)
    shared = data["scenario"]
    sides = []
    for position in ("left", "right"):
        side = data.get(position) or {}
        unknown = set(side) - SIDE_KEYS
        if unknown or "label" not in side:
            raise InputError(f"{position}: a label, and only {sorted(SIDE_KEYS)}", file)
        merged = {"name": f"{name}-{position}", **shared}
        merged.update({k: v for k, v in side.items() if k != "label"})
        if merged.get("dockerignore") == "":
            merged.pop("dockerignore")
        scenario = loads(yaml.safe_dump(merged, sort_keys=False), f"{file} ({position})")
        sides.append(Side(str(side["label"]), scenario))
    return Demo(
        name=name,
        title=str(data["title"]),
        lesson=data.get("lesson"),
        about=" ".join(str(data.get("about", "")).split()),
        left=sides[0],
        right=sides[1],
    )


def frames(demo: Demo, buildkit_version: str = DEFAULT_BUILDKIT) -> list[Frame]:
    """Every screen of the demo: each build of both sides, simulated and timed."""
    left = apply_costs(demo.left.scenario, trace(demo.left.scenario, buildkit_version))
    right = apply_costs(demo.right.scenario, trace(demo.right.scenario, buildkit_version))
    out = []
    left_total = right_total = 0.0
    count = len(demo.left.scenario.builds)
    for number, build in enumerate(demo.left.scenario.builds, start=1):
        one, two = left.builds[number - 1], right.builds[number - 1]
        left_total += one.seconds or 0.0
        right_total += two.seconds or 0.0
        changes = tuple(change.describe() for change in build.changes) or (FIRST_BUILD,)
        out.append(Frame(number, count, build.name, changes, one, two, left_total, right_total))
    return out


# --- what each step says ------------------------------------------------------------------


def status_word(step: StepResult) -> str:
    return {"cached": "CACHED", "built": "BUILT", "failed": "FAILED"}[step.status]


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"


def _why(step: StepResult) -> str:
    """The reason worth a line on screen: a cached step needs none, a cold build says once."""
    if step.status != "built" or not step.reason or step.reason.startswith(COLD_REASON):
        return ""
    if step.reason.startswith(PARENT_REASON):
        return "the step above ran"  # the line it names is the row just above
    return step.reason


def image_size(build: BuildResult) -> str:
    """The predicted size of the image the build makes ("" when it failed or is unknown)."""
    size = (build.extra.get("sizes") or {}).get("image_bytes")
    return "" if build.failed or size is None else human_size(size)


def verdict(frame: Frame, demo: Demo) -> str:
    """One line that says who won this build, and by how much so far."""
    a, b = frame.left_total, frame.right_total
    if abs(a - b) < max(1.0, 0.05 * max(a, b)):
        return f"So far both took about the same: {a:.1f} s and {b:.1f} s."
    faster, slower = demo.left.label, demo.right.label
    if a > b:
        faster, slower = slower, faster
    return f"So far {faster!r} saved {abs(a - b):.1f} s over {slower!r} ({max(a, b):.1f} s)."


# --- plain text ---------------------------------------------------------------------------


def _plain_side(label: str, build: BuildResult, total: float) -> list[str]:
    lines = [f"  {label}"]
    for step in build.steps:
        word = status_word(step)
        seconds = "" if step.status == "cached" else _seconds(step.seconds)
        lines.append(f"    {word:<7} {seconds:>7}  {step.instruction}")
        why = _why(step)
        if why:
            lines.append(f"{'':20}why: {why}")
    if build.error:
        lines.append(f"    the build fails: {build.error}")
    size = image_size(build)
    lines.append(
        f"    this build {_seconds(build.seconds)}, so far {total:.1f} s"
        + (f", image {size}" if size else "")
    )
    return lines


def plain_frame(frame: Frame, demo: Demo) -> str:
    """A screen as plain text (a pipe, a log file, a test)."""
    lines = [
        f"== {demo.title}: build {frame.number}/{frame.count}: {frame.name} ==",
        f"  changed: {'; '.join(frame.changes)}",
        "",
    ]
    lines += _plain_side(demo.left.label, frame.left, frame.left_total)
    lines.append("")
    lines += _plain_side(demo.right.label, frame.right, frame.right_total)
    lines += ["", verdict(frame, demo), ""]
    return "\n".join(lines)


def plain_intro(demo: Demo) -> str:
    lesson = f" (lesson {demo.lesson})" if demo.lesson else ""
    return f"# cachesim demo {demo.name}{lesson}: {demo.title}\n{demo.about}\n"


# --- the terminal -------------------------------------------------------------------------


def _side_panel(label: str, build: BuildResult, total: float):
    from rich import box
    from rich.console import Group
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, show_header=False, expand=True, padding=(0, 1))
    table.add_column("status", no_wrap=True, width=8)
    table.add_column("instruction", ratio=1, overflow="fold")
    table.add_column("time", no_wrap=True, justify="right", width=7)
    styles = {"cached": CACHED_STYLE, "built": BUILT_STYLE, "failed": FAILED_STYLE}
    for step in build.steps:
        word = Text(f" {status_word(step):<6} ", style=styles[step.status])
        line = Text(step.instruction, style="bold")
        why = _why(step)
        if why:
            line.append(f"\nwhy: {why}", style="italic")
        table.add_row(word, line, "" if step.status == "cached" else _seconds(step.seconds))
    if build.error:
        table.add_row(Text(" STOP ", style=FAILED_STYLE), Text(build.error, style="bold red"), "")
    footer = Text.assemble(
        ("this build ", ""),
        (_seconds(build.seconds) or "-", "bold"),
        (" · so far ", ""),
        (f"{total:.1f} s", "bold"),
        *(((" · image ", ""), (image_size(build), "bold")) if image_size(build) else ()),
    )
    return Panel(
        Group(table, Rule(style="dim"), footer),
        title=Text(label, style="bold"),
        box=box.HEAVY,
        padding=(0, 1),
    )


def rich_frame(
    frame: Frame, demo: Demo, prompt: str, intro: bool = False, side_by_side: bool = True
):
    """A screen for a terminal: a header, the two sides next to each other, the verdict.

    ``intro`` adds the demo's one-paragraph description above the first screen; a narrow
    terminal (``side_by_side`` false) gets the two sides one above the other.
    """
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    lesson = f"lesson {demo.lesson} · " if demo.lesson else ""
    head = Text.assemble(
        (f"{lesson}{demo.title}", "bold"),
        (f"   build {frame.number}/{frame.count}: ", ""),
        (frame.name, "bold yellow"),
        ("\nchanged: ", ""),
        ("; ".join(frame.changes), "bold"),
    )
    panels = [
        _side_panel(demo.left.label, frame.left, frame.left_total),
        _side_panel(demo.right.label, frame.right, frame.right_total),
    ]
    if side_by_side:
        sides = Table.grid(expand=True, padding=(0, 1))
        sides.add_column(ratio=1)
        sides.add_column(ratio=1)
        sides.add_row(*panels)
    else:
        sides = Group(*panels)
    parts = [Text(demo.about, style="italic")] if intro else []
    parts += [Panel(head), sides, Text(verdict(frame, demo), style="bold")]
    if prompt:
        parts.append(Text(prompt, style="dim"))
    return Group(*parts)


def read_key(stream: TextIO) -> str:
    """One key press from a terminal, without waiting for Enter (raw mode, then restored)."""
    import termios
    import tty

    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    try:
        # TCSANOW, not tty's default TCSAFLUSH: a key pressed while the screen was being
        # drawn is already waiting, and flushing would throw it away.
        tty.setcbreak(fd, termios.TCSANOW)
        return os.read(fd, 1).decode(errors="replace")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@dataclass(frozen=True, slots=True)
class Pacing:
    """How the show moves on: ``auto`` after ``delay`` seconds, else at a key press."""

    auto: bool
    delay: float
    wait_key: Callable[[], str] | None  # None: nobody at a terminal, never wait


def play(demo: Demo, shown: list[Frame], out: TextIO, pacing: Pacing, terminal: bool) -> int:
    """Show the screens in order; return the exit status (0, also when the viewer quits)."""
    if not terminal:
        out.write(plain_intro(demo) + "\n")
        for frame in shown:
            out.write(plain_frame(frame, demo) + "\n")
        out.flush()
        return 0
    from rich.console import Console

    console = Console(file=out, highlight=False)
    for position, frame in enumerate(shown):
        last = position == len(shown) - 1
        if pacing.auto:
            prompt = "" if last else f"next build in {pacing.delay:g} s (--auto)"
        else:
            prompt = "end of the demo" if last else "press any key for the next build · q quits"
        console.clear()
        wide = console.width >= SIDE_BY_SIDE_COLUMNS
        console.print(rich_frame(frame, demo, prompt, intro=position == 0, side_by_side=wide))
        if last:
            break
        if pacing.auto:
            time.sleep(pacing.delay)
        elif pacing.wait_key is not None and pacing.wait_key().lower() == "q":
            console.print("stopped.")
            return 0
    return 0


# --- the command --------------------------------------------------------------------------


def list_text() -> str:
    lines = []
    for name in demo_names():
        demo = load_demo(name)
        lesson = f"lesson {demo.lesson}" if demo.lesson else ""
        lines.append(
            f"{name:<12} {lesson:<9} {demo.title}: {demo.left.label} vs {demo.right.label}"
        )
    return "\n".join(lines) + "\n"


def demo_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """The CLI entry: ``--list``, or play one demo (exit 0), or exit 2 on an unknown name."""
    out = out or sys.stdout
    if args.list:
        out.write(list_text())
        return 0
    if args.delay < 0:
        raise InputError(f"--delay {args.delay:g}: must be 0 or more seconds")
    demo = load_demo(args.name or DEFAULT_DEMO)
    shown = frames(demo, args.buildkit)
    terminal = out.isatty()
    keys = sys.stdin if sys.stdin.isatty() else None
    pacing = Pacing(
        auto=args.auto or keys is None,
        delay=args.delay,
        wait_key=(lambda: read_key(keys)) if keys is not None else None,
    )
    try:
        return play(demo, shown, out, pacing, terminal)
    except BrokenPipeError:  # `cachesim demo | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    epilog: str,
    formatter: type[argparse.HelpFormatter],
) -> None:
    """Register ``cachesim demo`` on the CLI's subcommands (argparse names their type only
    privately: ``ArgumentParser.add_subparsers`` returns a ``_SubParsersAction``)."""
    demo = sub.add_parser(
        "demo",
        help="a classroom demo: two Dockerfiles rebuilt side by side, step by step",
        description="Show two variants of a Dockerfile rebuilt after the same edits, one "
        "build a screen, with CACHED or BUILT, the predicted seconds and why, large "
        "enough for a projector. A key moves on (q quits); --auto runs to the end. "
        f"Without NAME: the {DEFAULT_DEMO!r} demo (lesson 3).",
        epilog=epilog,
        formatter_class=formatter,
    )
    demo.add_argument("name", nargs="?", metavar="NAME", help="which demo (see --list)")
    demo.add_argument("--list", action="store_true", help="list the demos and exit")
    demo.add_argument(
        "--auto", action="store_true", help="run to the end unattended, one screen per delay"
    )
    demo.add_argument(
        "--delay",
        type=float,
        default=DEFAULT_DELAY,
        metavar="SECONDS",
        help=f"with --auto: how long each screen stays (default: {DEFAULT_DELAY:g})",
    )
    demo.add_argument(
        "--buildkit",
        choices=BUILDKIT_VERSIONS,
        default=DEFAULT_BUILDKIT,
        help=f"the BuildKit whose rules are shown (default: {DEFAULT_BUILDKIT})",
    )
