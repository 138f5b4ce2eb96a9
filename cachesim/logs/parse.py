"""Reading what a real ``docker build`` printed: pure functions from log text to steps.

Two builders, two formats, as observed on captured logs in ``tests/engine_logs``
(``buildkit-*``/``legacy-*``: Docker 20.10 and its client; ``buildkit28-*``/``legacy28-*``:
Docker 28.5 and its 28.x client with buildx; ``meta.json`` says which engine printed each):

BuildKit, ``--progress=plain``. Each vertex prints blocks of lines ``#N ...``; blocks of
different vertices interleave, and one vertex may print several blocks::

    #6 [stage-1 2/4] WORKDIR /src        header: [STAGE K/N] INSTRUCTION
    #6 sha256:...                        the vertex digest
    #6 0.148 some output                 output of a RUN, with its time
    #6 CACHED | #6 DONE 0.1s | #6 ERROR: why | #6 CANCELED

- ``STAGE`` is the stage's name, or ``stage-I`` for the unnamed stage with index I. When
  the build has a single stage the name is left out (``[2/3]``); an implicit stage for
  ``COPY --from=image`` counts, so such a Dockerfile prints ``[stage-0 2/3]``.
- ``K/N`` counts the stage's steps: ``FROM``, ``RUN``, ``COPY``, ``ADD``, ``WORKDIR``. A
  stage built ``FROM`` another stage or ``FROM scratch`` has no FROM step and starts at 1.
- FROM prints the resolved name (``FROM docker.io/library/python:3.12-slim``) and ends
  ``CACHED`` or ``DONE`` whether or not the image changed; other instructions print with
  variables expanded and the keyword in capitals (``copy ${SRC} .`` -> ``COPY a.txt .``),
  continuation lines joined.
- Identical steps of two stages run once and print once, under one of the two names.
- ``[internal] ...`` vertices (loading the Dockerfile, context, metadata), bare image
  sources (``#5 FROM docker.io/library/alpine:3.20`` for ``COPY --from=image``) and
  ``exporting to image`` are not Dockerfile steps and are skipped.
- On failure the failing vertex prints ``#N ERROR: why``, then comes a block
  ``------ / > [STAGE K/N] INSTR: / ------`` and the build's error text. An error before
  any step (parse error, unknown target) is a bare line such as ``failed to solve with
  frontend dockerfile.v0: ...``.
- 28.5's client differs: the log opens with ``#0 building with "default" instance using
  docker driver``, vertices print no ``#N sha256:`` line, a failed build ends with a quote
  of the Dockerfile around the failing line and one ``ERROR: failed to build: failed to
  solve: ...`` line, and a successful one may end with build-check warnings
  (``N warnings found``) or buildx's ``WARNING:`` about git commit information, neither an
  error. Step numbers are padded when a stage has 10 or more steps (``[ 2/10]``,
  ``[build  2/10]``), on both engines. When the solve fails, vertices still pending may print
  ``CACHED`` although they never ran, and running ones may still finish afterwards.

Classic builder::

    Step 4/19 : RUN pip install -r req.txt
     ---> Using cache                    (reused)  or   ---> Running in 7b58fa6ae05d
     ---> b4bae8fe99fb                   the step's resulting image

Steps are numbered across the whole Dockerfile (every instruction of every stage it
builds, ``ARG`` before the first ``FROM`` included); instructions print as written. An
error ends the output with one line (``COPY failed: ...``, ``The command '...' returned a
non-zero code: 1``, ``Error response from daemon: ...``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import dockerfile

Status = Literal["cached", "built", "failed"]


@dataclass(frozen=True, slots=True)
class ObservedStep:
    """One step as the engine showed it.

    ``image`` is what a FROM step names: the resolved reference for BuildKit, the image id
    that the classic builder prints. ``base_changed`` is filled in by the runner, which
    knows whether that image got a new version before this build (None: not known, e.g.
    a FROM of another stage). ``output`` keeps the last ``OUTPUT_LINES`` lines the step
    printed, so that a failed command can be shown with what it said.
    """

    stage: str
    index: int
    total: int
    instruction: str
    status: Status
    seconds: float | None = None
    is_from: bool = False
    image: str | None = None
    base_changed: bool | None = None
    output: str = ""  # the last lines the step's command printed (a RUN's output)

    @property
    def keyword(self) -> str:
        """The instruction's keyword in capitals (``RUN``, ``COPY``...)."""
        return instruction_keyword(self.instruction)


@dataclass(frozen=True, slots=True)
class ObservedBuild:
    """One real build: its steps in Dockerfile order, error, exit status, time and log."""

    name: str
    steps: tuple[ObservedStep, ...]
    error: str | None
    exit_code: int
    wall_seconds: float
    log: str
    engine: str = "buildkit"
    failed_step: ObservedStep | None = None
    # Images BuildKit printed as a bare vertex (``#5 FROM docker.io/library/alpine:3.20``):
    # the source of a ``COPY --from=image``, and then also of a FROM of the same image,
    # whose step header it then does not print.
    sources: tuple[str, ...] = ()


def instruction_keyword(instruction: str) -> str:
    """The first word of an instruction, in capitals."""
    words = instruction.split(None, 1)
    return words[0].upper() if words else ""


def stage_names(dockerfile_text: str) -> list[str]:
    """The stages of a Dockerfile in order: each one's name, or its index where it has none.

    Uses the official parser, so continuation lines and comments are handled as Docker
    does. A Dockerfile that does not parse has no stages here (the build will fail anyway).
    """
    try:
        commands = dockerfile.parse_string(dockerfile_text)
    except dockerfile.GoParseError:
        return []
    names: list[str] = []
    for cmd in commands:
        if (cmd.cmd or "").upper() != "FROM":
            continue
        words = [w for w in cmd.value if not w.startswith("--")]
        if len(words) >= 3 and words[1].upper() == "AS":
            names.append(words[2].lower())
        else:
            names.append(str(len(names)))
    return names


# --- BuildKit -----------------------------------------------------------------------------

_VERTEX = re.compile(r"^#(\d+) (.*)$")
# `[2/3]`, `[stage-1 2/3]`; with 10 or more steps in a stage the index is padded to the
# width of the total: `[ 2/10]`, `[build  2/10]` (both 20.10 and 28.5).
_STEP_HEADER = re.compile(r"^\[(?:(\S+) +)? *(\d+)/(\d+)\] (.*)$")


def is_step_header(text: str) -> bool:
    """Whether a vertex's text (after ``#N ``) is a Dockerfile step's header, padded or not
    (``[2/3] RUN ...``, ``[ 2/10] RUN ...``, ``[build  2/10] RUN ...``)."""
    return _STEP_HEADER.match(text) is not None


_DONE = re.compile(r"^DONE (\d+(?:\.\d+)?)s$")
_OUTPUT = re.compile(r"^\d+\.\d+ (.*)$")
_BARE_SOURCE = re.compile(r"^#\d+ FROM (\S+)$")
OUTPUT_LINES = 20
_BLOCK_RULE = "------"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# What a successful build may print after its steps (28.5's client): build-check warnings
# (`3 warnings found (use docker --debug to expand):` and one ` - Rule: ...` line each),
# and buildx's `WARNING: current commit information was not captured ...` for a context
# holding `.git`. None of them is an error.
_WARNINGS_FOUND = re.compile(r"^\s*\d+ warnings? found\b")
_CLIENT_ERROR = "ERROR: "  # 28.5's client: `ERROR: failed to build: failed to solve: ...`


@dataclass(slots=True)
class _Vertex:
    stage: str | None
    index: int
    total: int
    instruction: str
    cached: bool = False
    done: bool = False
    output: bool = False
    error: str | None = None
    seconds: float | None = None
    printed: list[str] = field(default_factory=list)


def _buildkit_stage(printed: str | None, names: Sequence[str]) -> str:
    """The spec's stage for a printed prefix: ``None`` -> the only stage, ``stage-I`` -> I."""
    if printed is None:
        return names[0] if names else "0"
    m = re.fullmatch(r"stage-(\d+)", printed)
    if m and (not names or int(m.group(1)) >= len(names) or names[int(m.group(1))] == m.group(1)):
        return m.group(1)
    return printed


def _order_key(names: Sequence[str]):
    position = {name: i for i, name in enumerate(names)}

    def key(step: ObservedStep) -> tuple[int, str, int]:
        stage = step.stage
        if stage in position:
            return (position[stage], "", step.index)
        if stage.isdigit():
            return (int(stage), "", step.index)
        return (len(position), stage, step.index)

    return key


def _trailer_lines(lines: Sequence[str]) -> list[str]:
    """The lines outside vertex blocks, without colour codes and without warnings."""
    out: list[str] = []
    in_warnings = False
    for raw in lines:
        line = _ANSI.sub("", raw)
        if not line.strip() or _VERTEX.match(line):
            in_warnings = False
            continue
        if _WARNINGS_FOUND.match(line):
            in_warnings = True
            continue
        if (in_warnings and line.startswith(" - ")) or line.startswith("WARNING:"):
            continue
        in_warnings = False
        out.append(line)
    return out


def _buildkit_error(lines: Sequence[str]) -> str | None:
    """The build's error text.

    28.5's client ends a failed build with one ``ERROR: ...`` line (after a quote of the
    Dockerfile around the failing line); its text is the error. 20.10's client prints the
    error after the last ``------`` rule, or, for an error before any step, as bare lines.
    """
    tail = _trailer_lines(lines)
    client = [line for line in tail if line.startswith(_CLIENT_ERROR)]
    if client:
        return client[-1][len(_CLIENT_ERROR) :].strip() or None
    rules = [i for i, line in enumerate(tail) if line == _BLOCK_RULE]
    if rules:
        tail = tail[rules[-1] + 1 :]
    text = "\n".join(tail).strip()
    return text or None


def _record(v: _Vertex, rest: str) -> None:
    """Note one progress line of a vertex whose header was seen (``#N CACHED``, ``#N DONE
    1.2s``, ``#N ERROR: ...`` or a line of the command's output)."""
    if rest == "CACHED":
        v.cached = True
    elif done := _DONE.match(rest):
        v.done = True
        v.seconds = float(done.group(1))
    elif rest.startswith("ERROR"):
        v.error = rest.partition(":")[2].strip() or rest
    elif out := _OUTPUT.match(rest):
        v.output = True
        v.printed = [*v.printed[-(OUTPUT_LINES - 1) :], out.group(1)]


def _vertices(lines: Sequence[str]) -> dict[int, _Vertex]:
    """The log's step vertices by number, in the order their headers were first printed.

    Vertices without a step header (``[internal]``, bare image sources, exporting...) are
    left out: they are no Dockerfile step.
    """
    vertices: dict[int, _Vertex] = {}
    for line in lines:
        m = _VERTEX.match(line)
        if not m:
            continue
        num, rest = int(m.group(1)), m.group(2)
        header = _STEP_HEADER.match(rest)
        if header:
            if num not in vertices:
                printed, k, n, instr = header.groups()
                vertices[num] = _Vertex(printed, int(k), int(n), instr.strip())
        elif num in vertices:
            _record(vertices[num], rest)
    return vertices


def _vertex_status(v: _Vertex) -> Status | None:
    """``failed``, ``built`` (DONE or output wins over CACHED), ``cached``; None when the
    vertex was canceled or never finished."""
    if v.error is not None:
        return "failed"
    if v.done or v.output:
        return "built"
    if v.cached:
        return "cached"
    return None


def _from_image(instruction: str) -> str | None:
    words = instruction.split()
    return words[1] if len(words) > 1 else None


def _observed(v: _Vertex, status: Status, stages: Sequence[str]) -> ObservedStep:
    is_from = instruction_keyword(v.instruction) == "FROM"
    return ObservedStep(
        stage=_buildkit_stage(v.stage, stages),
        index=v.index,
        total=v.total,
        instruction=v.instruction,
        status=status,
        seconds=v.seconds if status != "cached" else None,
        is_from=is_from,
        image=_from_image(v.instruction) if is_from else None,
        output="\n".join(v.printed),
    )


def parse_buildkit_log(
    log: str, stages: Sequence[str] = ()
) -> tuple[list[ObservedStep], str | None, ObservedStep | None]:
    """Steps (Dockerfile order), build error and failed step from a ``--progress=plain`` log.

    ``stages`` are the Dockerfile's stage names (``stage_names``); they name the stage when
    BuildKit leaves it out and give the order of stages. A vertex that printed ``ERROR`` is
    ``failed``; one that printed ``DONE`` or output is ``built`` (even if it also printed
    ``CACHED``, which a vertex pending when another one failed can do); one that only
    printed ``CACHED`` is ``cached``. Vertices that were only ``CANCELED`` are left out.
    """
    lines = log.splitlines()
    vertices = _vertices(lines)
    steps = [
        _observed(v, status, stages)
        for v in vertices.values()
        if (status := _vertex_status(v)) is not None
    ]
    steps.sort(key=_order_key(stages))
    failed = next((s for s in steps if s.status == "failed"), None)
    error = _buildkit_error(lines)
    if error is None and failed is not None:
        error = next(v.error for v in vertices.values() if v.error is not None)
    return steps, error, failed


# --- classic builder ----------------------------------------------------------------------

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_LEGACY_EXIT = re.compile(r"^The command '.*' returned a non-zero code: \d+$")
_RESULT = re.compile(r"^ ---> ([0-9a-f]{12,64})$")
_KNOWN = re.compile(
    r"^( ---> |Removing intermediate container |Successfully built |Successfully tagged "
    r"|Sending build context to Docker daemon)"
)


def _step_blocks(lines: Sequence[str]) -> list[tuple[re.Match[str], list[str]]]:
    """Each ``Step k/n : INSTRUCTION`` header with the lines printed under it."""
    blocks: list[tuple[re.Match[str], list[str]]] = []
    for line in lines:
        m = _STEP.match(line)
        if m:
            blocks.append((m, []))
        elif blocks:
            blocks[-1][1].append(line)
    return blocks


def _legacy_stage(instruction: str, count: int) -> str:
    """The stage a FROM opens: its ``AS name`` (lower case), else its index among FROMs."""
    words = [w for w in instruction.split()[1:] if not w.startswith("--")]
    return words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else str(count)


def _command_output(body: Sequence[str]) -> str:
    """The last lines a step's command printed, without the builder's own lines."""
    plain = [_ANSI.sub("", line) for line in body]
    printed = [
        line
        for line in plain
        if line.strip() and not _KNOWN.match(line) and not _LEGACY_EXIT.match(line)
    ]
    return "\n".join(printed[-OUTPUT_LINES:])


def _legacy_step(
    m: re.Match[str], body: Sequence[str], stage: str, *, runs: bool, last_failed: bool
) -> ObservedStep:
    """One step of the classic builder's log. ``runs``: False for a FROM or a global ARG,
    which execute nothing (so count as cached); ``last_failed``: the build failed and this
    is its last step."""
    k, n, instr = int(m.group(1)), int(m.group(2)), m.group(3).strip()
    is_from = instruction_keyword(instr) == "FROM"
    results = [r.group(1) for line in body if (r := _RESULT.match(line))]
    status: Status = "cached" if " ---> Using cache" in body or not runs else "built"
    if not results and last_failed:
        status = "failed"
    return ObservedStep(
        stage=stage,
        index=k,
        total=n,
        instruction=instr,
        status=status,
        is_from=is_from,
        image=results[0] if is_from and results else None,
        output=_command_output(body),
    )


def _legacy_error(lines: Sequence[str], exit_code: int) -> str | None:
    """The last line of a failed build's log (the classic builder ends with its error)."""
    if exit_code == 0:
        return None
    tail = [line for line in lines if line.strip()]
    return tail[-1].strip() if tail else f"docker build exited with status {exit_code}"


def parse_legacy_log(
    log: str, exit_code: int
) -> tuple[list[ObservedStep], str | None, ObservedStep | None]:
    """Steps, build error and failed step from a classic builder's log.

    A step is ``cached`` when it printed `` ---> Using cache``, else ``built``. FROM is
    flagged ``is_from`` with status ``cached`` (the classic builder executes nothing for it)
    and ``image`` set to the id it prints. The stage of a step is the name given by the
    last ``FROM ... AS name``, or that FROM's index; an ``ARG`` before the first FROM has
    stage ``""`` and status ``cached`` (it runs nothing). When the build failed
    (``exit_code`` != 0), the last step that printed no resulting image is ``failed`` and
    the error is the last line of the log.
    """
    lines = log.splitlines()
    blocks = _step_blocks(lines)
    steps: list[ObservedStep] = []
    stage = ""
    stage_count = 0
    for position, (m, body) in enumerate(blocks):
        is_from = instruction_keyword(m.group(3).strip()) == "FROM"
        if is_from:
            stage = _legacy_stage(m.group(3).strip(), stage_count)
            stage_count += 1
        last_failed = exit_code != 0 and position == len(blocks) - 1
        # a global ARG (before any FROM) runs nothing and prints nothing
        runs = not is_from and stage_count != 0
        steps.append(_legacy_step(m, body, stage, runs=runs, last_failed=last_failed))
    failed = steps[-1] if steps and steps[-1].status == "failed" else None
    return steps, _legacy_error(lines, exit_code), failed


_COMMAND_EXIT = (
    re.compile(r'process ".*" did not complete successfully: exit code: (\d+)'),  # 28.5
    re.compile(r"executor failed running \[.*\]: exit code: (\d+)"),  # BuildKit on 20.10
    re.compile(r"The command '.*' returned a non-zero code: (\d+)"),  # the classic builder
)


def command_exit_code(error: str | None) -> int | None:
    """The exit status of the RUN command a build error reports, or None for other errors."""
    for pattern in _COMMAND_EXIT:
        if error and (m := pattern.search(error)):
            return int(m.group(1))
    return None


def bare_sources(log: str) -> tuple[str, ...]:
    """The images a BuildKit log printed as bare ``#N FROM ref`` vertices, in order."""
    found = (m.group(1) for line in log.splitlines() if (m := _BARE_SOURCE.match(line)))
    return tuple(dict.fromkeys(found))


Parsed = tuple[list[ObservedStep], str | None, ObservedStep | None]


def _buildkit_result(log: str, exit_code: int, stages: Sequence[str]) -> Parsed:
    steps, error, failed = parse_buildkit_log(log, stages)
    if exit_code == 0:
        error = None  # it built: whatever else it printed was a warning
    elif error is None:
        error = f"docker build exited with status {exit_code}"
    return steps, error, failed


def _legacy_result(log: str, exit_code: int, stages: Sequence[str]) -> Parsed:
    return parse_legacy_log(log, exit_code)


# The log formats `docker build` prints, by the name a builder gives its own
# (``Builder.log_format``): BuildKit's plain progress, the classic builder's steps.
LOG_FORMATS: dict[str, Callable[[str, int, Sequence[str]], Parsed]] = {
    "buildkit": _buildkit_result,
    "legacy": _legacy_result,
}


def parse_log(log: str, log_format: str, exit_code: int, stages: Sequence[str] = ()) -> Parsed:
    """Parse ``log`` as the format ``log_format`` names (a ``LOG_FORMATS`` key)."""
    parser = LOG_FORMATS.get(log_format)
    if parser is None:
        raise ValueError(f"unknown engine {log_format!r} (expected one of {tuple(LOG_FORMATS)})")
    return parser(log, exit_code, stages)
