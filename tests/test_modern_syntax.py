"""What BuildKit 0.25 (Docker 28.5) does with syntax BuildKit 0.8 (Docker 20.10) refuses.

Every expectation here was seen on the engines (docs/engine-findings.md section 21); the
scenarios named in each docstring run the same cases on both engines.
"""

from __future__ import annotations

import textwrap

from cachesim.builders.buildkit import chmod_key
from cachesim.parsing.dockerfile import parse
from cachesim.planning.plan import heredoc_script
from cachesim.simulation.simulator import simulate
from cachesim.sources.scenario import loads


def _run(dockerfile: str, second: str | None = None, *, version: str = "0.25", extra: str = ""):
    """Statuses of each build: a cold one, then one with the Dockerfile ``second``."""
    builds = "  - name: cold\n"
    if second is not None:
        body = textwrap.indent(textwrap.dedent(second).strip(), "          ")
        builds += f"  - name: second\n    changes:\n      - dockerfile: |\n{body}\n"
    text = (
        "name: t\nengine: {engine}\n{extra}dockerfile: |\n{df}\nfiles:\n"
        '  app.sh: "echo app\\n"\nbuilds:\n{builds}'
    ).format(
        engine="legacy" if "legacy" in extra else "buildkit",
        extra=extra.replace("legacy", ""),
        df=textwrap.indent(textwrap.dedent(dockerfile).strip(), "  "),
        builds=builds,
    )
    result = simulate(loads(text, "t.yaml"), version)
    return [([s.status for s in b.steps], b.error) for b in result.builds]


def test_run_heredoc_key_is_its_body_not_the_terminator():
    """`RUN <<EOF` renamed to `RUN <<END` stays cached; a trailing space does not (heredoc-run-forms)."""
    df = "FROM alpine\nRUN <<EOF\necho one\nEOF\nCOPY app.sh /a\n"
    renamed = _run(df, "FROM alpine\nRUN <<END\necho one\nEND\nCOPY app.sh /a\n")
    assert renamed[1][0] == ["cached", "cached", "cached"]
    spaced = _run(df, "FROM alpine\nRUN <<EOF\necho one \nEOF\nCOPY app.sh /a\n")
    assert spaced[1][0] == ["cached", "built", "built"]


def test_heredoc_script_forms():
    """A bare heredoc is its (chomped) body; a heredoc fed to a command keeps its terminator."""
    ins = parse("FROM a\nRUN <<-EOF\n\techo x\n\tEOF\n").stages[0].instructions[0]
    assert heredoc_script(ins.args[0], ins.heredocs) == "echo x\n"
    ins = parse("FROM a\nRUN sh <<END\necho x\nEND\n").stages[0].instructions[0]
    assert heredoc_script(ins.args[0], ins.heredocs) == "sh <<END\necho x\nEND"


def test_copy_heredoc_expands_unless_quoted():
    """An arg in a `COPY <<EOF` body is in the key; with `<<"EOF"` it is not (heredoc-copy)."""
    df = "FROM alpine\nARG G=hello\nCOPY <<{q}EOF{q} /f\n$G\nEOF\n"
    for quote, status in (("", "built"), ('"', "cached")):
        text = textwrap.dedent(df.format(q=quote))
        first = _run(text, text.replace("ARG G=hello", "ARG G=hi"))
        assert first[1][0][1] == status


def test_buildkit_0_8_rejects_heredocs_at_the_first_body_line():
    """Docker 20.10 reads the body as instructions: the build fails before any step."""
    ((steps, error),) = _run("FROM alpine\nRUN <<EOF\necho one\nEOF\n", version="0.8")
    assert (steps, error) == ([], "dockerfile parse error line 3: unknown instruction: ECHO")


def test_classic_builder_of_28_ignores_a_run_heredoc_body():
    """Docker 28.5's classic builder runs `<<EOF` alone: a body edit stays cached."""
    df = "FROM alpine\nRUN <<EOF\necho one\nEOF\n"
    runs = _run(df, df.replace("one", "two"), extra="legacy")
    assert runs[1][0] == ["cached", "cached"]


LINKED = "FROM alpine\nRUN echo {v}\nCOPY --link app.sh /app.sh\nRUN sh /app.sh\n"


def test_copy_link_on_the_containerd_store_merges():
    """A change above a --link copy: DONE (the merge), the copy itself reused (copy-link-containerd)."""
    result = simulate(
        loads(
            "name: t\nimage_store: containerd\ndockerfile: |\n"
            + textwrap.indent(LINKED.format(v=1), "  ")
            + 'files:\n  app.sh: "x\\n"\nbuilds:\n  - name: cold\n  - name: above\n'
            "    changes:\n      - dockerfile: |\n"
            + textwrap.indent(LINKED.format(v=2), "          "),
            "t.yaml",
        )
    )
    link_step = result.builds[1].steps[2]
    assert link_step.status == "built"
    assert "copied layer itself was reused" in link_step.reason


def test_copy_link_on_the_graphdriver_store_is_a_plain_copy():
    """Removing --link keeps everything cached on the graphdriver store (copy-link-toggle)."""
    runs = _run(LINKED.format(v=1), LINKED.format(v=1).replace("--link ", ""))
    assert runs[1][0] == ["cached"] * 4


def test_copy_exclude_leaves_excluded_files_out_of_the_key():
    """An edit of an excluded file keeps the COPY cached; the classic builder of 28.5 ignores
    the flag (copy-exclude, copy-exclude-legacy)."""
    text = (
        "name: t\nengine: {e}\ndockerfile: |\n  FROM alpine\n  COPY --exclude=*.md . /s/\n"
        'files:\n  a.txt: "a\\n"\n  R.md: "r\\n"\nbuilds:\n  - name: cold\n  - name: edit\n'
        '    changes:\n      - {{edit: R.md, content: "r2\\n"}}\n'
    )
    for engine, status in (("buildkit", "cached"), ("legacy", "built")):
        result = simulate(loads(text.format(e=engine), "t.yaml"))
        assert result.builds[1].steps[-1].status == status


def test_chmod_is_keyed_by_its_number():
    """755 and 0755 are one key on both BuildKits; symbolic modes only 0.25 tells apart."""
    assert chmod_key("755", "0.25") == chmod_key("0755", "0.8") == "0o755"
    assert chmod_key("u+x", "0.25") != chmod_key("u=rwx,go=rx", "0.25")
    assert chmod_key("u+x", "0.8") == chmod_key("u=rwx,go=rx", "0.8")


def test_0_25_refusals_before_any_step():
    """--chmod=999, ADD --checksum of a local file and --network=host stop a 0.25 build."""
    cases = {
        "COPY --chmod=999 app.sh /a": "invalid chmod parameter: '999'. it should be octal "
        "string and between 0 and 07777",
        "ADD --checksum=sha256:00 app.sh /a": "checksum requires HTTP(S) or Git sources",
        "RUN --network=host echo": "failed to load LLB: network.host is not allowed",
    }
    for line, error in cases.items():
        ((steps, found),) = _run(f"FROM alpine\n{line}\n")
        assert (steps, found) == ([], error)
    ((steps, found),) = _run("FROM alpine\nCOPY --chmod=999 app.sh /a\n", version="0.8")
    assert found is None


def test_onbuild_triggers_run_first_in_the_child_stage():
    """0.25 counts the triggers in the child's total, 0.8 does not (onbuild-same-dockerfile)."""
    df = "FROM alpine AS p\nONBUILD RUN echo t\nFROM p AS c\nRUN echo c\n"
    text = f"name: t\ndockerfile: |\n{textwrap.indent(df, '  ')}builds:\n  - name: cold\n"
    for version, numbers in (("0.25", [(1, 2), (2, 2)]), ("0.8", [(1, 1), (2, 1)])):
        steps = simulate(loads(text, "t.yaml"), version).builds[0].steps
        child = [(s.index, s.total) for s in steps if s.stage == "c"]
        assert child == numbers
        assert next(s.instruction for s in steps if s.stage == "c") == (
            "ONBUILD RUN echo t" if version == "0.25" else "RUN echo t"
        )


def test_buildkit_0_8_keeps_a_heredoc_looking_word_in_a_plain_run():
    """`RUN cat <<EOF > f` whose body lines are valid instructions parses on 0.8 as text."""
    ins = parse("FROM a\nRUN cat <<EOF > /f\nEXPOSE 80\n", "0.8").stages[0].instructions[0]
    assert (ins.args, ins.heredocs, ins.command) == (("cat <<EOF > /f",), (), "RUN cat <<EOF > /f")


def test_copy_heredoc_expansion_keeps_quotes():
    """Seen on 28.5: `say "hi $V" 'x $V' \\$V` with V=one became `say "hi one" 'x one' $V`."""
    from cachesim.parsing.shellwords import expand_heredoc

    assert expand_heredoc("say \"hi $V\" 'x $V' \\$V\n", {"V": "one"}) == (
        "say \"hi one\" 'x one' $V\n"
    )
