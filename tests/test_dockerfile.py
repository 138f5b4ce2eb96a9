"""Reading Dockerfiles with BuildKit's parser: stages, flags, directives, continuations."""

import pytest

from cachesim.core.errors import BuildFailure
from cachesim.parsing.dockerfile import directives, parse


def test_stages_global_args_and_names():
    """ARGs before the first FROM are global; `AS` names are lower-cased (Dockerfile ref)."""
    parsed = parse(
        "ARG V=1\nFROM python:3.12 AS Build\nRUN echo\nFROM scratch\nCOPY --from=build a b\n"
    )
    assert [a.args for a in parsed.global_args] == [("V=1",)]
    assert [(s.index, s.name, s.base) for s in parsed.stages] == [
        (0, "build", "python:3.12"),
        (1, None, "scratch"),
    ]
    assert parsed.stages[1].label == "1"  # the spec names an unnamed stage by its index


def test_flags_split_from_arguments():
    """Flags are parsed off (`--from`, `--chown`, `--mount`), last value wins."""
    ins = parse("FROM a\nCOPY --from=b --chown=1:1 x y /d/\n").stages[0].instructions[0]
    assert ins.flag("from") == "b" and ins.flag("chown") == "1:1"
    assert ins.args == ("x", "y", "/d/")


def test_continuation_keeps_next_line_indentation():
    """Findings #10h: `\\` + newline is deleted and the next line's indentation kept."""
    ins = parse("FROM a\nRUN echo a \\\n    && echo b\n").stages[0].instructions[0]
    assert ins.command == "RUN echo a     && echo b"
    assert ins.text == "RUN echo a"  # first line as written, for display
    assert (ins.line, ins.end_line) == (2, 3)


def test_escape_directive():
    """`# escape=`` makes the backtick the line-continuation character."""
    parsed = parse("# escape=`\nFROM a\nRUN echo a `\n  b\n")
    assert parsed.escape == "`"
    assert parsed.stages[0].instructions[0].command == "RUN echo a   b"


def test_directives_stop_at_first_non_directive():
    """Directives count only at the very top (Dockerfile reference, Parser directives)."""
    assert directives("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\n") == {
        "syntax": "docker/dockerfile:1",
        "escape": "`",
    }
    assert directives("# a comment\n# escape=`\nFROM a\n") == {}


def test_keyword_case_is_ignored():
    """Findings #10: `run` is RUN."""
    assert parse("from a\nrun echo hi\n").stages[0].instructions[0].keyword == "RUN"


def test_heredoc_is_read():
    """Heredocs (Dockerfile 1.4+) come through the official parser."""
    ins = parse("FROM a\nRUN <<EOF\necho hi\nEOF\n").stages[0].instructions[0]
    assert [(h.name, h.content) for h in ins.heredocs] == [("EOF", "echo hi\n")]


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        # the engine's words (Docker 28.5, BuildKit 0.25, the default): findings section 21
        (
            "FROM a\nFOO bar\n",
            "dockerfile parse error on line 2: unknown instruction: FOO (did you mean FROM?)",
            2,
        ),
        ("FROM a\nCOPY --link a b\n", None, None),  # accepted: current BuildKit knows --link
        (
            "FROM a\nCOPY --bogus a b\n",
            "dockerfile parse error on line 2: unknown flag: --bogus",
            2,
        ),
        (
            "FROM a\nCOPY --parents a b\n",
            "dockerfile parse error on line 2: unknown flag: --parents",
            2,
        ),
        (
            "FROM a\nRUN --network=bogus echo\n",
            'dockerfile parse error on line 2: invalid network mode "bogus"',
            2,
        ),
        ("FROM a\nRUN <<EOF\necho hi\nEOF\n", None, None),
        (
            "RUN echo\nFROM a\n",
            "dockerfile parse error line 1: no build stage in current context",
            1,
        ),
        (
            "FROM a\nCOPY a\n",
            "dockerfile parse error line 2: COPY requires at least two arguments, "
            "but only one was provided. Destination could not be determined.",
            2,
        ),
    ],
)
def test_rejections_carry_reason_and_line(text, reason, line):
    """What the builder refuses raises BuildFailure with its words and the line."""
    if reason is None:
        parse(text)
        return
    with pytest.raises(BuildFailure) as caught:
        parse(text)
    assert (caught.value.reason, caught.value.line) == (reason, line)


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        # Docker 20.10's words (BuildKit 0.8 and its classic builder): findings 15 and 21
        ("FROM a\nFOO bar\n", "dockerfile parse error line 2: unknown instruction: FOO", 2),
        ("FROM a\nCOPY --bogus a b\n", "dockerfile parse error line 2: Unknown flag: bogus", 2),
        ("FROM a\nCOPY --link a b\n", "dockerfile parse error line 2: Unknown flag: link", 2),
        (
            "FROM a\nCOPY --exclude=*.md . /s/\n",
            "dockerfile parse error line 2: Unknown flag: exclude",
            2,
        ),
        (
            "FROM a\nRUN --network=none echo\n",
            "dockerfile parse error line 2: Unknown flag: network",
            2,
        ),
        (
            "FROM a\nADD --checksum=sha256:0 a /a\n",
            "dockerfile parse error line 2: Unknown flag: checksum",
            2,
        ),
        # no heredocs: the first body line is read as an instruction
        (
            "FROM a\nRUN <<EOF\n# a comment\necho hi\nEOF\n",
            "dockerfile parse error line 4: unknown instruction: ECHO",
            4,
        ),
        (
            "FROM a\nCOPY <<EOF /f\nhello\nEOF\n",
            "dockerfile parse error line 3: unknown instruction: HELLO",
            3,
        ),
        ("FROM a\nRUN --mount=type=cache,target=/c echo\n", None, None),
        ("FROM a\nCOPY --chmod=999 a /a\n", None, None),
    ],
)
def test_buildkit_0_8_refuses_newer_syntax(text, reason, line):
    """BuildKit 0.8's frontend knows no heredocs and fewer flags, and words errors its way."""
    if reason is None:
        parse(text, "0.8")
        return
    with pytest.raises(BuildFailure) as caught:
        parse(text, "0.8")
    assert (caught.value.reason, caught.value.line) == (reason, line)


@pytest.mark.parametrize(
    ("syntax", "accepted"),
    [
        ("docker/dockerfile:1", True),
        ("docker/dockerfile:1.4", True),
        ("docker.io/docker/dockerfile:1.7-labs", True),
        ("docker/dockerfile:1.2", False),
        ("example.com/my/frontend:2", False),
    ],
)
def test_a_syntax_directive_picks_the_frontend(syntax, accepted):
    """`# syntax=docker/dockerfile:1.4+` brings heredocs even to BuildKit 0.8's engine."""
    text = f"# syntax={syntax}\nFROM a\nRUN <<EOF\necho hi\nEOF\n"
    if accepted:
        assert parse(text, "0.8").syntax == syntax
    else:
        with pytest.raises(BuildFailure):
            parse(text, "0.8")


def test_heredoc_words_keep_quoting_and_chomping():
    """A quoted terminator turns expansion off; `<<-` strips leading tabs from the body."""
    ins = parse('FROM a\nCOPY <<-"EOF" <<B /d/\n\tx $V\n\tEOF\ny\nB\n').stages[0].instructions[0]
    first, second = ins.heredocs
    assert (first.expand, first.chomp, first.body) == (False, True, "x $V\n")
    assert (second.expand, second.chomp, second.body) == (True, False, "y\n")


def test_onbuild_registers_its_trigger():
    """ONBUILD keeps the instruction it registers; 0.25 prints it with its ONBUILD prefix."""
    text = "FROM a AS p\nONBUILD RUN echo t\nFROM p\n"
    modern = parse(text).stages[0].instructions[0].trigger
    old = parse(text, "0.8").stages[0].instructions[0].trigger
    assert (modern.keyword, modern.args, modern.text) == ("RUN", ("echo t",), "ONBUILD RUN echo t")
    assert old.text == "RUN echo t"
