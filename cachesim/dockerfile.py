"""Reading a Dockerfile with BuildKit's own parser, into typed instructions grouped in stages.

The text goes through the ``dockerfile`` package, a wrapper around BuildKit's Go parser
(``frontend/dockerfile/parser``), so continuations, comments, the ``escape`` directive,
JSON and shell forms and heredocs are read exactly as the builder reads them. This module
adds what BuildKit's ``instructions`` package adds on top: instruction names checked, flags
split from arguments, instructions grouped into stages, and the global ARGs before the
first FROM kept apart. Variables are *not* expanded here: that needs the build arguments
and happens when the build is planned (``cachesim.plan``).

Anything the builder would reject raises ``BuildFailure`` with the builder's words and the
Dockerfile line, because a Dockerfile that does not build is a prediction, not bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dockerfile as _bk_parser

from cachesim.errors import BuildFailure
from cachesim.versions import knows_healthcheck_start_interval

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

# Flags each instruction accepts (BuildKit's instructions/parse.go); others are an error.
_FLAGS: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"mount", "network", "security"}),
    "COPY": frozenset({"from", "chown", "chmod", "link", "parents", "exclude"}),
    "ADD": frozenset({"chown", "chmod", "link", "keep-git-dir", "checksum", "exclude"}),
    # `--start-interval` is new in Dockerfile 1.6: BuildKit 0.8 and the classic builder of
    # Docker 20.10 refuse it ("Unknown flag: start-interval"); that check is the rules'
    # (``BuildKitRules.check``), because the parser is the same for every version.
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval", "retries"}),
}

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


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
    heredocs: tuple[tuple[str, str], ...] = ()  # (name, content)

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


def _split_flags(keyword: str, raw_flags: tuple[str, ...], line: int) -> tuple:
    flags = []
    allowed = _FLAGS.get(keyword, frozenset())
    for raw in raw_flags:
        body = raw[2:] if raw.startswith("--") else raw
        name, sep, value = body.partition("=")
        if name not in allowed:
            raise BuildFailure(f"dockerfile parse error line {line}: Unknown flag: {name}", line)
        flags.append((name, value if sep else None))
    return tuple(flags)


def _first_line(lines: tuple[str, ...], line: int, escape: str) -> str:
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    if text.endswith(escape):
        text = text[: -len(escape)].rstrip()
    return text


def _instruction(cmd, lines: tuple[str, ...], escape: str) -> Instruction:
    # A line holding only a continuation (`\`) where an instruction should start is an
    # instruction with no name: "unknown instruction: " (seen on Docker 20.10 and 28.5).
    keyword = (cmd.cmd or "").upper()
    line = cmd.start_line
    if keyword not in KNOWN:
        raise BuildFailure(
            f"dockerfile parse error line {line}: unknown instruction: {keyword}", line
        )
    if keyword == "ONBUILD" and cmd.sub_cmd and cmd.sub_cmd.upper() in ("ONBUILD", "FROM"):
        raise BuildFailure(
            f"dockerfile parse error line {line}: "
            f"{cmd.sub_cmd.upper()} isn't allowed as an ONBUILD trigger",
            line,
        )
    return Instruction(
        keyword=keyword,
        args=tuple(cmd.value),
        flags=_split_flags(keyword, tuple(cmd.flags), line),
        json=bool(cmd.json),
        text=_first_line(lines, line, escape),
        command=cmd.original,
        line=line,
        end_line=cmd.end_line,
        heredocs=tuple((h.name, h.content) for h in cmd.heredocs),
    )


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


def parse(text: str) -> Dockerfile:
    """Parse Dockerfile text; raise ``BuildFailure`` where the builder would refuse it."""
    if not text:
        raise BuildFailure("the Dockerfile cannot be empty", None)
    found = directives(text)
    escape = found.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise BuildFailure(f"invalid ESCAPE '{escape}'. Must be ` or \\", 1)
    lines = tuple(text.splitlines())
    try:
        commands = _bk_parser.parse_string(text)
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
        ins = _instruction(cmd, lines, escape)
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
