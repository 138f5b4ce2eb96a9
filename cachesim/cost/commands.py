"""Default figures by kind of command: how long a RUN takes and what it writes.

Used when nothing was measured or declared. ``sleep`` and ``dd`` are read exactly, a
``seq``-driven loop of ``touch`` counts its files, and package managers and compilers get
an order-of-magnitude figure whose source docs/time-model.md gives.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from cachesim.core.errors import InputError
from cachesim.cost.timing import MB, Machine, parse_size

# --- defaults by kind of command ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Default:
    """A default figure for one kind of command (docs/time-model.md lists their sources)."""

    seconds: float
    bytes: int
    files: int


# Keyed by (program, subcommand or ""): order-of-magnitude figures for a cold run.
DEFAULTS: dict[tuple[str, str], Default] = {
    ("pip", "install"): Default(20.0, 100 * MB, 3000),
    ("uv", ""): Default(5.0, 100 * MB, 3000),  # uv sync, uv pip install: same files, faster
    ("poetry", "install"): Default(30.0, 100 * MB, 3000),
    ("bundle", "install"): Default(30.0, 100 * MB, 5000),
    ("gem", "install"): Default(10.0, 20 * MB, 500),
    ("composer", "install"): Default(15.0, 50 * MB, 5000),
    ("npm", "run"): Default(20.0, 20 * MB, 200),  # npm run build (pnpm run build)
    ("yarn", "build"): Default(20.0, 20 * MB, 200),
    ("yarn", "run"): Default(20.0, 20 * MB, 200),
    ("go", "install"): Default(30.0, 30 * MB, 1),
    ("cargo", "chef"): Default(100.0, 400 * MB, 4000),  # cargo chef cook: the dependencies
    ("npm", "install"): Default(30.0, 200 * MB, 20000),
    ("npm", "ci"): Default(15.0, 200 * MB, 20000),
    ("yarn", ""): Default(10.0, 200 * MB, 20000),
    ("apt-get", "update"): Default(5.0, 40 * MB, 50),
    ("apt-get", "install"): Default(20.0, 150 * MB, 3000),
    ("apk", "add"): Default(3.0, 20 * MB, 500),
    ("go", "build"): Default(30.0, 30 * MB, 1),
    ("go", "mod"): Default(15.0, 150 * MB, 10000),
    ("cargo", "build"): Default(120.0, 500 * MB, 5000),
    ("mvn", ""): Default(60.0, 150 * MB, 2000),
    ("gradle", ""): Default(60.0, 150 * MB, 2000),
    ("make", ""): Default(30.0, 50 * MB, 500),
    ("gcc", ""): Default(5.0, 5 * MB, 1),
    ("curl", ""): Default(2.0, 20 * MB, 1),
    ("wget", ""): Default(2.0, 20 * MB, 1),
    ("shell", ""): Default(0.1, 0, 0),
}
ALIASES = {
    "pip3": "pip",
    "pnpm": "npm",
    "g++": "gcc",
    "cc": "gcc",
    "clang": "gcc",
    "apt": "apt-get",
    "gradlew": "gradle",
    "./gradlew": "gradle",
    "mvnw": "mvn",
    "./mvnw": "mvn",
}
NEUTRAL = {"sudo", "env", "exec", "time", "nice", "command", "set", "cd", "export", "true", ":"}
# Words of the shell's own grammar that may open a piece of a script: the command follows
# (`if [ -f yarn.lock ]; then yarn install; fi` holds the command `yarn install`).
SHELL_GRAMMAR = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "{", "}", "!"}
# Markers of an if's branches: only one branch runs, so the RUN costs its dearest branch.
BRANCHES = {"if": "<if>", "elif": "<branch>", "else": "<branch>", "fi": "<fi>"}
# Loops: a body runs once per word of a ``for``'s list (``$(seq N)`` counted); a ``while``
# or ``until`` body, whose count no text tells, once.
LOOPS = {"for": "<for>", "while": "<while>", "until": "<while>"}
FILE_CREATE_MS = 0.6  # one small file made by a command (xargs touch, a shell loop)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A RUN's default figures, and the kinds of command that gave them."""

    seconds: float
    bytes: int
    files: int
    kinds: tuple[str, ...]
    idle: float = 0.0  # seconds that use no core (sleep)
    table_bytes: int = 0  # the part of bytes and files that came from ``DEFAULTS``
    table_files: int = 0

    def files_given(self, measured_bytes: int) -> int:
        """The layer's files when its bytes were measured. Files the script itself counts
        (``seq N | xargs touch``) are kept; a package manager's table files are a guess that
        goes with its table bytes, so they shrink with the measured bytes: ``npm ci``'s 20,000
        files on a layer measured at 286 B are not there (accuracy 37, npm-install-shape:
        every later vfs snapshot walked 26,000 files that did not exist)."""
        if not self.table_bytes or measured_bytes >= self.table_bytes:
            return self.files
        counted = self.files - self.table_files
        return counted + round(self.table_files * measured_bytes / self.table_bytes)


def _segments(script: str) -> list[list[str]]:
    """A shell script cut at ``&&``, ``||``, ``;``, ``|`` and newlines, each piece as words."""
    out: list[list[str]] = []
    for piece in re.split(r"&&|\|\||;|\||\n", script):
        try:
            words = shlex.split(piece, comments=True)
        except ValueError:
            words = piece.split()
        if words and words[0] in BRANCHES:
            out.append([BRANCHES[words[0]]])
        if words and words[0] in LOOPS:  # the header is no command: the loop's body follows
            out.append([LOOPS[words[0]], *words[1:]])
            continue
        if words and words[0] == "done":
            out.append(["<done>"])
        while words and words[0] in SHELL_GRAMMAR:
            words = words[1:]
        while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in NEUTRAL):
            if words[0] in ("cd", "set", "export"):
                words = []
                break
            words = words[1:]
        if words:
            out.append(words)
    return out


def _dd_bytes(words: list[str]) -> int:
    opts = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    if opts.get("of", "/dev/stdout") in ("/dev/null", "/dev/stdout"):
        return 0
    try:
        block = parse_size(
            opts.get("bs", "512")
            .upper()
            .replace("K", "KiB")
            .replace("M", "MiB")
            .replace("G", "GiB")
        )
        count = int(opts.get("count", "0"))
    except (InputError, ValueError):
        return 0
    return block * count


def _seq_count(words: list[str]) -> int:
    numbers = [int(w) for w in words[1:] if w.isdigit()]
    if len(numbers) == 1:
        return numbers[0]
    if len(numbers) >= 2:
        return max(0, numbers[-1] - numbers[0] + 1)
    return 0


Totals = tuple[float, int, int]  # seconds, bytes, files so far


@dataclass(slots=True)
class _Tally:
    """The running totals while ``estimate_run`` reads a script, one command at a time.

    ``counted``: the N of a ``seq N`` waiting for the command that makes N files;
    ``opened``: per open ``if``, the totals when it opened and its dearest branch so far.
    """

    seconds: float = 0.0
    idle: float = 0.0
    size: int = 0
    files: int = 0
    kinds: list[str] = field(default_factory=list)
    counted: int = 0
    opened: list[tuple[Totals, Totals]] = field(default_factory=list)
    loops: list[tuple[int, tuple[float, float, int, int]]] = field(default_factory=list)
    table_size: int = 0  # what DEFAULTS added (Estimate.files_given)
    table_files: int = 0

    def totals(self) -> tuple[float, float, int, int]:
        return self.seconds, self.idle, self.size, self.files

    def close_loop(self) -> None:
        """At ``done``: what the body added, once per iteration."""
        if not self.loops:
            return
        count, (seconds, idle, size, files) = self.loops.pop()
        self.seconds = seconds + (self.seconds - seconds) * count
        self.idle = idle + (self.idle - idle) * count
        self.size = size + (self.size - size) * count
        self.files = files + (self.files - files) * count

    def shell(self) -> None:
        if "shell" not in self.kinds:
            self.kinds.append("shell")


@dataclass(frozen=True, slots=True)
class _Command:
    """One command of the script: its words, the program (aliases resolved) and the first
    non-option word after it (``pip install`` -> ``install``)."""

    words: list[str]
    program: str
    sub: str


def _command(words: list[str]) -> _Command:
    program = words[0].rsplit("/", 1)[-1] if not words[0].startswith("./") else words[0]
    program = ALIASES.get(program, program)
    sub = next((w for w in words[1:] if not w.startswith("-")), "")
    if program == "python" and words[1:3] == ["-m", "pip"]:
        program, sub = "pip", next((w for w in words[3:] if not w.startswith("-")), "")
    return _Command(words, program, sub)


def _branch(tally: _Tally, marker: str) -> None:
    """An ``if``'s branches: only one runs, so at ``fi`` the totals are the dearest branch's;
    each branch starts from the totals the ``if`` opened with."""
    now = (tally.seconds, tally.size, tally.files)
    if marker == "<if>":
        tally.opened.append((now, now))
        return
    if not tally.opened:
        return
    start, dearest = tally.opened.pop()
    dearest = max(dearest, now)
    if marker == "<branch>":
        tally.opened.append((start, dearest))
        tally.seconds, tally.size, tally.files = start
    else:
        tally.seconds, tally.size, tally.files = dearest


def _sleep(tally: _Tally, command: _Command, machine: Machine) -> None:
    """``sleep N``: N seconds that use no core."""
    try:
        pause = sum(float(w.rstrip("s")) for w in command.words[1:])
    except ValueError:
        pause = 1.0
    tally.idle += pause
    tally.kinds.append("sleep")


def _dd(tally: _Tally, command: _Command, machine: Machine) -> None:
    """``dd``: bs x count bytes, written at the machine's write speed."""
    written = _dd_bytes(command.words)
    tally.size += written
    tally.seconds += written / (machine.write_mb_s * MB)
    tally.kinds.append("dd")


def _seq(tally: _Tally, command: _Command, machine: Machine) -> None:
    tally.counted = _seq_count(command.words)


def _file_maker(tally: _Tally, command: _Command, machine: Machine) -> None:
    """``touch``/``xargs``/a loop fed by ``seq N`` (or writing with ``>``) makes N files."""
    makes = command.program in ("touch", "xargs", "do") or ">" in " ".join(command.words)
    if tally.counted and makes:
        tally.files += tally.counted
        tally.seconds += tally.counted * FILE_CREATE_MS / 1000
        tally.kinds.append(f"{tally.counted} files")
        tally.counted = 0
    elif makes and tally.loops and command.program != "xargs":
        tally.files += 1  # one file an iteration; the shell forks for it
        tally.seconds += FILE_CREATE_MS * 3 / 1000
        tally.shell()
    else:
        tally.shell()


def _from_table(tally: _Tally, command: _Command, machine: Machine) -> None:
    """A package manager or compiler: its ``DEFAULTS`` figure; anything else is shell."""
    program, sub = command.program, command.sub
    default = DEFAULTS.get((program, sub)) or DEFAULTS.get((program, ""))
    if default is None:
        tally.shell()
        return
    tally.seconds += default.seconds
    tally.size += default.bytes
    tally.files += default.files
    tally.table_size += default.bytes
    tally.table_files += default.files
    tally.kinds.append(f"{program} {sub}".strip() if (program, sub) in DEFAULTS else program)


_Reader = Callable[[_Tally, _Command, Machine], None]
READERS: dict[str, _Reader] = {
    "sleep": _sleep,
    "dd": _dd,
    "seq": _seq,
    **dict.fromkeys(("touch", "xargs", "for", "do", "mkdir", "echo", "printf"), _file_maker),
}


def _iterations(header: list[str]) -> int:
    """How many times a ``for`` header's body runs: ``$(seq N)``, ``$(seq A B)`` and
    ``$(seq A STEP B)`` counted, a list of plain words counted; anything else once."""
    text = " ".join(header)
    m = re.search(r"\$\(seq\s+(\d+)(?:\s+(\d+))?(?:\s+(\d+))?\s*\)", text)
    if m:
        numbers = [int(g) for g in m.groups() if g is not None]
        if len(numbers) == 1:
            return max(numbers[0], 0)
        first, step, last = (numbers[0], 1, numbers[1]) if len(numbers) == 2 else numbers
        return max((last - first) // step + 1, 0) if step > 0 else 1
    listed = header[header.index("in") + 1 :] if "in" in header else []
    if listed and not any(ch in w for w in listed for ch in "$*?`("):
        return len(listed)
    return 1


def _seq_substitution(tally: _Tally, script: str) -> None:
    """``for i in $(seq N)`` makes N files when nothing else counted any."""
    if "$(seq" not in script or tally.files:
        return
    m = re.search(r"\$\(seq\s+(\d+)(?:\s+(\d+))?\)", script)
    if m:
        n = int(m.group(2)) - int(m.group(1)) + 1 if m.group(2) else int(m.group(1))
        tally.files = max(0, n)
        tally.seconds += tally.files * FILE_CREATE_MS / 1000 * 3  # a shell loop forks per file
        tally.kinds.append(f"{tally.files} files")


def _estimate(tally: _Tally) -> Estimate:
    """The totals as an Estimate; a script of plain shell commands costs the shell figure."""
    if not tally.kinds:
        tally.kinds.append("shell")
    kinds = tally.kinds
    if kinds == ["shell"] or (set(kinds) <= {"shell", "sleep"} and not tally.seconds):
        tally.seconds += DEFAULTS[("shell", "")].seconds
    table_files = min(tally.table_files, tally.files)  # a branch may have dropped them
    return Estimate(
        tally.seconds + tally.idle,
        tally.size,
        tally.files,
        tuple(kinds),
        tally.idle,
        min(tally.table_size, tally.size),
        table_files,
    )


def estimate_run(script: str, machine: Machine) -> Estimate:
    """Default figures for a RUN's shell script, summed over the commands it chains.

    ``sleep N`` and ``dd bs=.. count=..`` are exact (N seconds; bs x count bytes at the
    write speed), ``seq N`` feeding ``touch`` or a loop makes N files; package managers and
    compilers take their table figure (``DEFAULTS``); anything else is a plain shell command.
    """
    tally = _Tally()
    for words in _segments(script):
        if words[0] in ("<if>", "<branch>", "<fi>"):
            _branch(tally, words[0])
            continue
        if words[0] in ("<for>", "<while>"):
            count = _iterations(words) if words[0] == "<for>" else 1
            tally.loops.append((count, tally.totals()))
            continue
        if words[0] == "<done>":
            tally.close_loop()
            continue
        command = _command(words)
        READERS.get(command.program, _from_table)(tally, command, machine)
    _seq_substitution(tally, script)
    return _estimate(tally)


# Base images: compressed size as pulled, an order-of-magnitude table (docs/time-model.md).
IMAGE_BYTES = {
    "alpine": 4 * MB,
    "busybox": 2 * MB,
    "debian": 50 * MB,
    "ubuntu": 30 * MB,
    "python": 50 * MB,
    "node": 70 * MB,
    "golang": 250 * MB,
    "rust": 500 * MB,
    "openjdk": 200 * MB,
    "eclipse-temurin": 150 * MB,
    "nginx": 70 * MB,
}
FULL_IMAGE_BYTES = {"python": 400 * MB, "node": 400 * MB, "debian": 50 * MB}


def default_image_bytes(ref: str) -> int:
    """A guess at a base image's size from its name (slim/alpine variants are smaller)."""
    name = ref.split("@")[0].rsplit("/", 1)[-1]
    repo, _, tag = name.partition(":")
    if "alpine" in tag:
        return 20 * MB if repo != "alpine" else 4 * MB
    if "slim" in tag:
        return IMAGE_BYTES.get(repo, 50 * MB)
    return FULL_IMAGE_BYTES.get(repo, IMAGE_BYTES.get(repo, 100 * MB))
