"""Reading Dockerfiles with BuildKit's parser: stages, flags, directives, continuations."""

import pytest

from cachesim.dockerfile import directives, parse
from cachesim.errors import BuildFailure


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
    assert ins.heredocs == (("EOF", "echo hi\n"),)


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        # the engine's words: docs/engine-findings.md #15 and #12a
        ("FROM a\nFOO bar\n", "dockerfile parse error line 2: unknown instruction: FOO", 2),
        ("FROM a\nCOPY --link a b\n", None, None),  # accepted: current BuildKit knows --link
        ("FROM a\nCOPY --bogus a b\n", "dockerfile parse error line 2: Unknown flag: bogus", 2),
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
