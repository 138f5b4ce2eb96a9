"""Reading a Dockerfile with BuildKit's own parser, into typed instructions grouped in stages.

The text goes through the ``dockerfile`` package, a wrapper around BuildKit's Go parser
(``frontend/dockerfile/parser``), so continuations, comments, the ``escape`` directive,
JSON and shell forms and heredocs are read exactly as the builder reads them. This module
adds what BuildKit's ``instructions`` package adds on top: instruction names checked, flags
split from arguments, instructions grouped into stages, and the global ARGs before the
first FROM kept apart. Variables are *not* expanded here: that needs the build arguments
and happens when the build is planned (``cachesim.planning.plan``).

Anything the builder would reject raises ``BuildFailure`` with the builder's words and the
Dockerfile line, because a Dockerfile that does not build is a prediction, not bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dockerfile as _bk_parser

from cachesim.core.errors import BuildFailure
from cachesim.core.versions import DEFAULT_BUILDKIT, is_modern, knows_healthcheck_start_interval

KNOWN = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)

# Flags each instruction accepts, per built-in frontend (BuildKit's instructions/parse.go at
# each release; every set below was probed on the engine, docs/engine-findings.md section 21).
# Others are an error. `COPY --parents` and `RUN --security` exist only in the labs frontend:
# both built-in frontends refuse them.
_FLAGS_0_8: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"mount"}),
    "COPY": frozenset({"from", "chown", "chmod"}),
    "ADD": frozenset({"chown", "chmod"}),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "retries"}),
}
_FLAGS_MODERN: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"mount", "network"}),
    "COPY": frozenset({"from", "chown", "chmod", "link", "exclude"}),
    "ADD": frozenset({"chown", "chmod", "link", "keep-git-dir", "checksum", "exclude"}),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval", "retries"}),
}
NETWORK_MODES = ("default", "none", "host")


@dataclass(frozen=True, slots=True)
class Dialect:
    """What one Dockerfile frontend accepts, and how it words a refusal.

    The built-in frontend of BuildKit v0.8 (Docker 20.10) has no heredocs and fewer flags;
    v0.25's (Docker 28.5) has both and words its parse errors differently
    (``parse error on line 3: unknown flag: --link`` against ``parse error line 3: Unknown
    flag: link``). A ``# syntax=docker/dockerfile:1.N`` directive picks the frontend
    instead of the engine (``dialect_for``).
    """

    modern: bool
    flags: dict[str, frozenset[str]]

    @property
    def heredocs(self) -> bool:
        return self.modern

    def parse_error(self, line: int, why: str) -> str:
        if self.modern:
            return f"dockerfile parse error on line {line}: {why}"
        return f"dockerfile parse error line {line}: {why}"

    def unknown_flag(self, name: str, line: int) -> str:
        why = f"unknown flag: --{name}" if self.modern else f"Unknown flag: {name}"
        return self.parse_error(line, why)

    def unknown_instruction(self, word: str, line: int) -> str:
        if not self.modern:
            return self.parse_error(line, f"unknown instruction: {word.upper()}")
        why = f"unknown instruction: {word}"
        near = _suggestion(word.upper(), sorted(KNOWN))
        return self.parse_error(line, why + (f" (did you mean {near}?)" if near else ""))


_SYNTAX_IMAGE = re.compile(r"(?:docker\.io/)?docker/dockerfile(?::(\d+)(?:\.(\d+))?[\w.-]*)?")


def dialect_for(version: str, syntax: str | None = None) -> Dialect:
    """The frontend that reads a Dockerfile: the engine's built-in one, or the one a
    ``# syntax=docker/dockerfile:1.N`` directive names (an engine pulls that image, so
    its syntax applies even on Docker 20.10: 1.4 and later have heredocs, ``--link``;
    1.0-1.3 are about as old as 20.10's built-in one). Another image (labs, a custom
    frontend) is read with the engine's own rules: cachesim cannot know it.
    """
    modern = is_modern(version)
    match = _SYNTAX_IMAGE.fullmatch(syntax or "")
    if match:
        major, minor = match.group(1), match.group(2)
        modern = major is None or int(major) > 1 or minor is None or int(minor) >= 4
    return Dialect(modern, _FLAGS_MODERN if modern else _FLAGS_0_8)


def _suggestion(word: str, options: list[str]) -> str | None:
    """The nearest instruction name, as the modern frontend's "did you mean" offers it
    (approximated: edit distance at most 2; seen: ``FOO`` -> FROM, ``echo`` -> none)."""
    best, best_distance = None, 3
    for option in options:
        distance = _edit_distance(word, option)
        if distance < best_distance:
            best, best_distance = option, distance
    return best


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


@dataclass(frozen=True, slots=True)
class Heredoc:
    """One here-document (``<<EOF``, ``<<"EOF"``, ``<<-EOF``) of an instruction.

    ``content`` is the body as the parser read it; ``expand`` is false when the
    terminator word was quoted (no variable expansion in a ``COPY <<"EOF"`` file);
    ``chomp`` (``<<-``) strips leading tabs from every line (``body``).
    """

    name: str
    content: str
    expand: bool = True
    chomp: bool = False

    @property
    def body(self) -> str:
        return re.sub(r"(?m)^\t+", "", self.content) if self.chomp else self.content


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction as the parser read it (before variable expansion)."""

    keyword: str  # upper case: RUN, COPY, ...
    args: tuple[str, ...]  # arguments after the flags, as the parser split them
    flags: tuple[tuple[str, str | None], ...]  # (name, value) in order; value None = bare
    json: bool  # exec (JSON) form
    text: str  # the first line as written, for display
    command: str  # the whole instruction with continuations joined
    line: int
    end_line: int
    heredocs: tuple[Heredoc, ...] = ()
    trigger: Instruction | None = None  # ONBUILD: the instruction it registers

    def flag(self, name: str) -> str | None:
        """The last value given for ``--name`` (the builder keeps the last one)."""
        found = None
        for key, value in self.flags:
            if key == name:
                found = value if value is not None else "true"
        return found

    def flag_values(self, name: str) -> tuple[str, ...]:
        return tuple(v or "" for k, v in self.flags if k == name)


@dataclass(frozen=True, slots=True)
class Stage:
    """A FROM and the instructions under it."""

    index: int
    name: str | None  # the lower-cased `AS name`
    base: str  # the FROM argument, not yet expanded
    platform: str | None
    line: int
    from_instruction: Instruction
    instructions: tuple[Instruction, ...]

    @property
    def label(self) -> str:
        """How the scenario format names the stage: its name, or its index as a string."""
        return self.name if self.name is not None else str(self.index)


@dataclass(frozen=True, slots=True)
class Dockerfile:
    """A parsed Dockerfile: global ARGs, stages and parser directives."""

    global_args: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    escape: str
    syntax: str | None
    lines: tuple[str, ...]


def directives(text: str) -> dict[str, str]:
    """Parser directives (``# escape=``, ``# syntax=``) at the very top of the file.

    Docker's reference: directives must come first; once a comment that is not a directive,
    an empty line or an instruction is read, no more directives are looked for.
    """
    found: dict[str, str] = {}
    for raw in text.splitlines():
        match = _DIRECTIVE.match(raw.strip())
        if not match or match.group(1).lower() in found:
            break
        found[match.group(1).lower()] = match.group(2)
    return found


def _split_flags(keyword: str, raw_flags: tuple[str, ...], line: int, dialect: Dialect) -> tuple:
    flags = []
    allowed = dialect.flags.get(keyword, frozenset())
    for raw in raw_flags:
        body = raw[2:] if raw.startswith("--") else raw
        name, sep, value = body.partition("=")
        if name not in allowed:
            raise BuildFailure(dialect.unknown_flag(name, line), line)
        if keyword == "RUN" and name == "network" and value not in NETWORK_MODES:
            raise BuildFailure(dialect.parse_error(line, f'invalid network mode "{value}"'), line)
        flags.append((name, value if sep else None))
    return tuple(flags)


_HEREDOC_WORD = re.compile(r"<<(-?)\s*([\"']?)([^\s\"'<>]+)\2")


def _heredocs(cmd, first_line: str) -> tuple[Heredoc, ...]:
    """The parser's heredocs with how their terminator words were written (quoted: no
    expansion; ``<<-``: tabs stripped), read from the instruction's first line."""
    words = {m.group(3): m for m in _HEREDOC_WORD.finditer(first_line)}
    found = []
    for h in cmd.heredocs:
        word = words.get(h.name)
        found.append(
            Heredoc(
                h.name,
                h.content,
                expand=not (word and word.group(2)),
                chomp=bool(word and word.group(1)),
            )
        )
    return tuple(found)


def _first_line(lines: tuple[str, ...], line: int, escape: str) -> str:
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    if text.endswith(escape):
        text = text[: -len(escape)].rstrip()
    return text


def _instruction(cmd, lines: tuple[str, ...], escape: str, dialect: Dialect) -> Instruction:
    # A line holding only a continuation (`\`) where an instruction should start is an
    # instruction with no name: "unknown instruction: " (seen on Docker 20.10 and 28.5).
    keyword = (cmd.cmd or "").upper()
    line = cmd.start_line
    if keyword not in KNOWN:
        raise BuildFailure(dialect.unknown_instruction(_restored(cmd.cmd or ""), line), line)
    text = _first_line(lines, line, escape)
    trigger = None
    if keyword == "ONBUILD" and cmd.sub_cmd:
        sub = cmd.sub_cmd.upper()
        if sub in ("ONBUILD", "FROM", "MAINTAINER"):
            raise BuildFailure(
                dialect.parse_error(line, f"{sub} isn't allowed as an ONBUILD trigger"), line
            )
        if sub not in KNOWN:
            raise BuildFailure(dialect.unknown_instruction(cmd.sub_cmd, line), line)
        trigger = Instruction(
            keyword=sub,
            args=tuple(_restored(v) for v in cmd.value),
            flags=_split_flags(sub, tuple(cmd.flags), line, dialect),
            json=bool(cmd.json),
            # BuildKit 0.25 prints a trigger as `ONBUILD RUN ...`, 0.8 as `RUN ...`
            text=text if dialect.modern else re.sub(r"(?i)^onbuild\s+", "", text),
            command=_restored(cmd.original),
            line=line,
            end_line=cmd.end_line,
            heredocs=_heredocs(cmd, text),
        )
    return Instruction(
        keyword=keyword,
        args=tuple(_restored(v) for v in cmd.value),
        flags=() if trigger else _split_flags(keyword, tuple(cmd.flags), line, dialect),
        json=bool(cmd.json),
        text=text,
        command=_restored(cmd.original),
        line=line,
        end_line=cmd.end_line,
        heredocs=_heredocs(cmd, text),
        trigger=trigger,
    )


# BuildKit v0.8's parser has no heredocs: it reads `RUN <<EOF` as a RUN of the text "<<EOF"
# and every body line as an instruction of its own. The parser wrapped here always reads
# heredocs, so for that dialect "<<" is hidden behind this mark and put back in the words.
_NO_HEREDOC = "\u2039\u2039"


def _restored(word: str) -> str:
    return word.replace(_NO_HEREDOC, "<<")


def _min_args(ins: Instruction) -> None:
    """Argument-count checks that BuildKit's instruction parser makes."""
    need = {"COPY": 2, "ADD": 2, "FROM": 1, "WORKDIR": 1, "USER": 1, "ARG": 1, "ENV": 1}
    count = len([a for a in ins.args if a != ""])
    if ins.keyword in ("COPY", "ADD") and ins.heredocs:
        count = max(count, 2)
    if count < need.get(ins.keyword, 0):
        if ins.keyword in ("COPY", "ADD"):
            why = (
                f"{ins.keyword} requires at least two arguments, but only one was provided. "
                "Destination could not be determined."
            )
        else:
            why = f"{ins.keyword} requires at least one argument"
        raise BuildFailure(f"dockerfile parse error line {ins.line}: {why}", ins.line)


def parse(text: str, version: str = DEFAULT_BUILDKIT) -> Dockerfile:
    """Parse Dockerfile text as the frontend of that BuildKit release reads it (or the one
    a ``# syntax=`` directive names); raise ``BuildFailure`` where it would refuse it."""
    if not text:
        raise BuildFailure("the Dockerfile cannot be empty", None)
    found = directives(text)
    escape = found.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise BuildFailure(f"invalid ESCAPE '{escape}'. Must be ` or \\", 1)
    lines = tuple(text.splitlines())
    dialect = dialect_for(version, found.get("syntax"))
    try:
        commands = _bk_parser.parse_string(
            text if dialect.heredocs else text.replace("<<", _NO_HEREDOC)
        )
    except _bk_parser.GoParseError as err:
        message = str(err)
        match = re.search(r"line (\d+)", message)
        line = int(match.group(1)) if match else None
        if message == "unterminated heredoc":
            line = _unterminated_heredoc_line(lines)
        if message == "file with no instructions":
            raise BuildFailure(message, None) from err
        raise BuildFailure(f"dockerfile parse error: {message}", line) from err

    global_args: list[Instruction] = []
    stages: list[Stage] = []
    current: list[Instruction] | None = None
    for cmd in commands:
        ins = _instruction(cmd, lines, escape, dialect)
        _min_args(ins)
        if ins.keyword == "FROM":
            if current is not None:
                stages[-1] = _close(stages[-1], current)
            stages.append(_open_stage(ins, len(stages)))
            current = []
        elif current is None:
            if ins.keyword != "ARG":
                raise BuildFailure(
                    f"dockerfile parse error line {ins.line}: no build stage in current context",
                    ins.line,
                )
            global_args.append(ins)
        else:
            current.append(ins)
    if current is not None:
        stages[-1] = _close(stages[-1], current)
    if not stages:
        raise BuildFailure("dockerfile parse error: no build stage in current context", None)
    return Dockerfile(tuple(global_args), tuple(stages), escape, found.get("syntax"), lines)


def check_version(parsed: Dockerfile, buildkit_version: str) -> None:
    """Refuse, as the parser of that engine release does, syntax newer than it.

    The parser above reads the newest syntax; an older engine's parser stops at the first
    instruction it does not know yet, with the same words as any unknown flag.
    """
    instructions = [*parsed.global_args]
    for stage in parsed.stages:
        instructions += [stage.from_instruction, *stage.instructions]
    for ins in sorted(instructions, key=lambda i: i.line):
        if (
            ins.keyword == "HEALTHCHECK"
            and ins.flag("start-interval") is not None
            and not knows_healthcheck_start_interval(buildkit_version)
        ):
            raise BuildFailure(
                f"dockerfile parse error line {ins.line}: Unknown flag: start-interval", ins.line
            )


def _unterminated_heredoc_line(lines: tuple[str, ...]) -> int | None:
    for number, raw in enumerate(lines, start=1):
        if "<<" in raw and re.search(r"<<-?['\"]?[A-Za-z_]", raw):
            last = number
    return locals().get("last")


def _open_stage(ins: Instruction, index: int) -> Stage:
    args = [a for a in ins.args if a != ""]
    name = None
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not re.fullmatch(r"[a-z][a-z0-9-_.]*", name):
            raise BuildFailure(
                f"dockerfile parse error line {ins.line}: invalid name for build stage: "
                f'"{args[2]}", name can\'t start with a number or contain symbols',
                ins.line,
            )
    elif len(args) != 1:
        raise BuildFailure(
            f"dockerfile parse error line {ins.line}: FROM requires either one or three arguments",
            ins.line,
        )
    return Stage(index, name, args[0], ins.flag("platform"), ins.line, ins, ())


def _close(stage: Stage, instructions: list[Instruction]) -> Stage:
    return Stage(
        stage.index,
        stage.name,
        stage.base,
        stage.platform,
        stage.line,
        stage.from_instruction,
        tuple(instructions),
    )
