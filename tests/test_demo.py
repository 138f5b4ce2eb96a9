"""`cachesim demo`: the classroom demo, driven in a real (pseudo-)terminal and through a pipe.

The expected statuses are Docker's documented rule ("once a layer changes, all downstream
layers need to be rebuilt", https://docs.docker.com/build/cache/), seen on the engine in
tests/scenarios/copy-before-install.yaml and deps-first-edit-source.yaml; the classic
builder making a step of LABEL is engine-findings section 7 (label-change.yaml, the legacy builder).
"""

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, cachesim

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
DEMOS = sorted(p.stem for p in (ROOT / "cachesim" / "app" / "demos").glob("*.yaml"))


class Terminal:
    """A child process on a pseudo-terminal of a given size: what a projector's shell is."""

    def __init__(self, *args: str, columns: int = 120, rows: int = 40):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TTY_COMPATIBLE")}
        env.update(TERM="xterm-256color", PYTHONPATH=str(ROOT), COLUMNS=str(columns))
        env.pop("FORCE_COLOR", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cachesim.app.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.raw = b""

    def read_until(self, text: str, timeout: float = 30.0) -> str:
        """Everything shown so far, once ``text`` is on screen (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while text not in self.screen():
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                break
        assert text in self.screen(), f"{text!r} never appeared; the screen:\n{self.screen()}"
        return self.screen()

    def read_to_end(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(deadline - time.monotonic()):
            pass
        return self.process.wait(timeout=max(1.0, deadline - time.monotonic()))

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal
            return False
        self.raw += chunk
        return bool(chunk)

    def press(self, key: str) -> None:
        os.write(self.master, key.encode())

    def screen(self) -> str:
        """The text since the last clear-screen, escape codes removed: what is shown now."""
        text = self.raw.decode(errors="replace")
        last = max(text.rfind("\x1b[2J"), text.rfind("\x1b[H\x1b[2J"))
        return ANSI.sub("", text[last:] if last >= 0 else text)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


@pytest.fixture
def terminal():
    opened = []

    def start(*args, **size):
        opened.append(Terminal(*args, **size))
        return opened[-1]

    yield start
    for t in opened:
        t.close()


def _line_with(screen: str, *words: str) -> str:
    return next(line for line in screen.splitlines() if all(w in line for w in words))


def _columns(screen: str) -> tuple[str, str]:
    """The left and the right panel of a side-by-side screen, each as its own text."""
    left, right = [], []
    for line in screen.splitlines():
        if "┃ ┃" in line:
            one, two = line.split("┃ ┃", 1)
            left.append(one)
            right.append(two)
    return "\n".join(left), "\n".join(right)


def test_auto_runs_every_build_to_the_end_in_a_terminal(terminal):
    """--auto in a terminal: colour, both sides next to each other, the last build shown."""
    t = terminal("demo", "order", "--auto", "--delay", "0.05", columns=120)
    assert t.read_to_end() == 0
    assert "\x1b[" in t.raw.decode(errors="replace"), "no terminal styling was drawn"
    screen = t.screen()
    assert "build 6/6: one more edit of app.py" in screen
    # the two variants side by side: one screen line holds both panel titles
    assert _line_with(screen, "source copied first", "dependencies first")
    # left re-runs pip install after a source edit; right finds it in the cache
    left, right = _columns(screen)
    assert re.search(r"BUILT +RUN pip install", left)
    assert re.search(r"CACHED +RUN pip install", right)
    assert "why: app.py changed" in left and "why: app.py changed" in right
    assert "saved" in screen and "end of the demo" not in screen


def test_a_key_press_moves_on_and_q_quits(terminal):
    """Without --auto the demo waits for a key on every screen; q stops it cleanly."""
    t = terminal("demo", "order", columns=120)
    first = t.read_until("press any key")
    assert "build 1/6" in first and "build 2/6" not in first
    time.sleep(0.5)
    assert "build 2/6" not in t.screen(), "it moved on without a key press"
    t.press(" ")
    second = t.read_until("build 2/6")
    assert "why: app.py changed" in t.read_until("press any key")
    assert "build 1/6" not in second, "the screen was not cleared between builds"
    t.press("q")
    assert t.read_to_end() == 0
    assert "stopped." in t.screen() and "build 3/6" not in t.screen()


def test_a_key_pressed_before_the_prompt_is_not_lost(terminal):
    """A teacher who presses a key while the first screen is still drawing moves on too."""
    t = terminal("demo", "order", columns=120)
    t.press(" ")  # type-ahead: before the demo has drawn anything or reads a key
    t.read_until("build 2/6", timeout=20)
    t.read_until("press any key")
    t.press("q")
    assert t.read_to_end() == 0


def test_a_narrow_terminal_stacks_the_two_sides(terminal):
    """At 80 columns the variants stand one above the other, each still whole."""
    t = terminal("demo", "multistage", "--auto", "--delay", "0", columns=80)
    assert t.read_to_end() == 0
    screen = t.screen()
    assert not [
        line for line in screen.splitlines() if "single stage" in line and "multi-stage" in line
    ]
    assert "single stage" in screen and "multi-stage" in screen
    assert max(len(line) for line in screen.splitlines()) <= 80


def _plain_sides(out: str, start: str, end: str, right_label: str) -> tuple[str, str]:
    """The left and right side of one build in the plain output, split at the right's label."""
    screen = out.split(start, 1)[1].split(end, 1)[0]
    left, right = screen.split(f"\n  {right_label}\n")
    return left, right


def test_through_a_pipe_it_prints_plain_text_without_waiting():
    """stdout not a terminal: every screen, no escape codes, no pause (no --auto needed)."""
    started = time.monotonic()
    result = cachesim("demo", "order")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    assert "\x1b" not in result.stdout
    builds = re.findall(r"^== Order matters: build (\d)/6", result.stdout, re.M)
    assert builds == ["1", "2", "3", "4", "5", "6"]
    left, right = _plain_sides(result.stdout, "build 2/6", "build 3/6", "dependencies first")
    assert re.search(r"BUILT .* RUN pip install", left)
    assert re.search(r"CACHED .* RUN pip install", right)


def test_the_classic_builder_side_lists_label_as_a_step():
    """builders demo: a LABEL edit rebuilds the classic builder's later steps, not BuildKit's."""
    out = cachesim("demo", "builders").stdout
    buildkit, classic = _plain_sides(out, "bump the LABEL ==", "== ", "classic builder")
    assert "LABEL" not in buildkit and "BUILT" not in buildkit
    assert re.search(r"BUILT .* LABEL version=\"1.1\"", classic)
    assert re.search(r"BUILT .* RUN pip install", classic)


def test_the_chapter_dockerfile_fails_at_workdir():
    """myths demo: COPY app.py /app then WORKDIR /app fails (findings, F4), the fix builds."""
    out = cachesim("demo", "myths").stdout
    chapter, fixed = _plain_sides(out, "build 1/3", "build 2/3", "fixed")
    assert re.search(r"FAILED .* WORKDIR /app", chapter)
    assert "not a directory" in chapter
    assert "FAILED" not in fixed and "fails" not in fixed


def test_list_names_every_demo_with_its_lesson():
    result = cachesim("demo", "--list")
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == DEMOS and len(DEMOS) >= 5
    assert all("lesson" in line for line in result.stdout.splitlines())


@pytest.mark.parametrize("name", DEMOS)
def test_every_demo_runs_to_the_end(name):
    result = cachesim("demo", name, "--auto", "--delay", "0")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "So far" in result.stdout


def test_an_unknown_demo_is_one_line_and_exit_2():
    result = cachesim("demo", "no-such-demo")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: no demo named 'no-such-demo'; the demos are: "
        + ", ".join(DEMOS)
        + " (cachesim demo --list)"
    ]


def test_a_negative_delay_is_bad_input():
    result = cachesim("demo", "order", "--auto", "--delay", "-1")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--delay -1" in result.stderr


def test_demos_are_packaged_with_cachesim():
    """An installed cachesim finds its demos: pyproject ships cachesim/app/demos/*.yaml."""
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'"cachesim.app" = \["demos/\*\.yaml"\]', text)
    assert Path(ROOT / "cachesim" / "app" / "demos").is_dir()


def test_whatif_a_readme_edit_reruns_the_tests_only_without_the_dockerignore():
    """whatif demo: .dockerignore *.md keeps COPY . . cached on a README edit (rules K2, K4)."""
    out = cachesim("demo", "whatif").stdout
    plain, ignored = _plain_sides(out, "2: edit README.md ==", "== ", "+ .dockerignore *.md")
    assert re.search(r"BUILT .* COPY \. \.", plain) and re.search(
        r"BUILT .* RUN python -m pytest", plain
    )
    assert "BUILT" not in ignored
