"""The Dockerfile the engine sees: no `# syntax=` directive, local tags for pinned bases."""

from __future__ import annotations

import pytest

from cachesim.engine.enginefile import for_engine, is_pinned, pinned_tag

DIGEST = "0123456789abcdef" * 4
PINNED = f"python:3.12-slim@sha256:{DIGEST}"


def test_syntax_directive_becomes_the_default_escape_directive():
    """The line stays (same line count) and later directives still count."""
    text = "# syntax=docker/dockerfile:1\n# check=skip=all\nFROM a\nRUN x\n"
    out = for_engine(text, ["a"])
    assert out.text == "# escape=\\\n# check=skip=all\nFROM a\nRUN x\n"
    assert out.syntax_line == 1
    assert out.text.count("\n") == text.count("\n")


def test_syntax_before_an_escape_directive_swaps_with_it():
    """`# escape=`` ` after the syntax line moves up; its own line becomes a comment."""
    text = "# syntax=docker/dockerfile:1.7\n# escape=`\nFROM a\nRUN x `\n  y\n"
    out = for_engine(text, ["a"])
    lines = out.text.splitlines()
    assert lines[0] == "# escape=`"
    assert lines[1].startswith("# (cachesim:") and "=" not in lines[1]
    assert lines[2:] == ["FROM a", "RUN x `", "  y"]


def test_syntax_after_an_escape_directive_becomes_a_comment():
    """With the escape directive already read, the syntax line is a plain comment."""
    out = for_engine("# escape=`\n#syntax = x/y\nFROM a\n", ["a"])
    assert out.text.splitlines()[0] == "# escape=`"
    assert out.text.splitlines()[1].startswith("# (cachesim:")


def test_a_syntax_comment_after_an_instruction_is_no_directive_and_stays():
    """Only the leading directive block counts; a later `# syntax=` is a comment."""
    text = "FROM a\n# syntax=docker/dockerfile:1\n"
    out = for_engine(text, ["a"])
    assert out.text == text and out.syntax_line is None


def test_pinned_references_get_one_local_tag_each():
    """Each distinct pinned ref maps to one valid local tag, everywhere it appears."""
    other = f"alpine@sha256:{'1' * 64}"
    text = f"FROM {PINNED} AS b\nFROM {other}\nCOPY --from={PINNED} /x /y\nFROM python:3.12-slim\n"
    out = for_engine(text, [PINNED, other, "python:3.12-slim"])
    assert out.pinned == {
        PINNED: "cachesim-pinned/python:3.12-slim-0123456789ab",
        other: "cachesim-pinned/alpine:latest-111111111111",
    }
    assert out.text == (
        "FROM cachesim-pinned/python:3.12-slim-0123456789ab AS b\n"
        "FROM cachesim-pinned/alpine:latest-111111111111\n"
        "COPY --from=cachesim-pinned/python:3.12-slim-0123456789ab /x /y\n"
        "FROM python:3.12-slim\n"
    )
    assert out.local_ref("python:3.12-slim") == "python:3.12-slim"


def test_engine_output_is_named_back_in_the_scenarios_terms():
    """What the engine printed about a local tag reads as the scenario's reference."""
    out = for_engine(f"FROM {PINNED}\n", [PINNED])
    printed = "FROM docker.io/cachesim-pinned/python:3.12-slim-0123456789ab"
    assert out.scenario_text(printed) == f"FROM {PINNED}"


def test_pinned_tag_of_registry_names_and_errors():
    """Registry paths become one repository name; a ref without digest is refused."""
    assert pinned_tag(f"ghcr.io/Org/app:v1@sha256:{DIGEST}") == (
        "cachesim-pinned/ghcr.io-org-app:v1-0123456789ab"
    )
    assert pinned_tag(f"docker.io/library/python@sha256:{DIGEST}") == (
        "cachesim-pinned/python:latest-0123456789ab"
    )
    assert is_pinned(PINNED) and not is_pinned("python:3.12")
    with pytest.raises(ValueError) as raised:
        pinned_tag("python:3.12")
    assert str(raised.value) == "'python:3.12' is not pinned by a sha256 digest"
