"""Planning: ARG and ENV scope, stage links and what the target needs (Dockerfile reference)."""

import pytest

from cachesim.core.errors import BuildFailure
from cachesim.planning.plan import ArgStep, CopyStep, MetadataStep, RunStep, WorkdirStep, plan


def _step(p, stage, position):
    return p.stages[stage].steps[position]


def test_global_arg_is_usable_in_from_only_unless_redeclared():
    """ARG before FROM: in FROM lines; inside a stage only after a bare `ARG NAME`."""
    p = plan("ARG V=3.12\nFROM python:${V}\nRUN echo $V\nARG V\nRUN echo $V\n")
    assert p.stages[0].base_image == "python:3.12"
    assert _step(p, 0, 0).run_env == ()
    assert _step(p, 0, 2).run_env == (("V", "3.12"),)


def test_build_arg_overrides_default_and_reaches_runs_after_the_arg():
    """An ARG's value is the --build-arg if given; RUNs after it get it in their env."""
    p = plan("FROM a\nRUN echo one\nARG V=1\nRUN echo two\n", {"V": "2"})
    assert _step(p, 0, 0).run_env == ()
    assert _step(p, 0, 2).run_env == (("V", "2"),)


def test_env_expands_and_is_inherited_by_child_stages_but_args_are_not():
    """ENV values expand with variables in scope; FROM another stage inherits ENV, not ARG."""
    p = plan('FROM a AS base\nARG V=1\nENV A=$V B="x y"\nFROM base\nRUN echo\n')
    assert dict(_step(p, 1, 0).env) == {"A": "1", "B": "x y"}
    assert _step(p, 1, 0).args == ()


def test_workdir_relative_and_copy_destination():
    """A relative WORKDIR resolves against the previous one; `COPY x .` lands in it."""
    p = plan("FROM a\nWORKDIR /app\nWORKDIR src\nCOPY x .\nCOPY y z\n")
    assert _step(p, 0, 1).path == "/app/src"
    assert _step(p, 0, 2).dest == "/app/src/"
    assert _step(p, 0, 3).dest == "/app/src/z"


def test_copy_from_name_index_and_image():
    """`--from` names a stage, a stage index, or else an image."""
    p = plan(
        "FROM a AS one\nFROM b\nCOPY --from=one x y\nCOPY --from=0 x y\nCOPY --from=nginx:1 x y\n"
    )
    steps = p.stages[1].steps
    assert [(s.from_stage, s.from_image) for s in steps] == [
        (0, None),
        (0, None),
        (None, "nginx:1"),
    ]
    assert p.images() == ("a", "b", "nginx:1")


def test_target_needs_only_its_ancestors():
    """BuildKit builds the target and the stages it needs (FROM, --from, mount from)."""
    text = "FROM a AS x\nFROM a AS unused\nFROM x AS y\nFROM a AS final\nCOPY --from=y p q\n"
    assert plan(text).needed == {0, 2, 3}
    assert plan(text, target="y").needed == {0, 2}


def test_unknown_target_and_cycle_are_rejected():
    """The engine's words (findings #15 and a build on the engine for the cycle)."""
    with pytest.raises(BuildFailure, match=r"^target stage nope could not be found$"):
        plan("FROM a AS x\n", target="nope")
    with pytest.raises(BuildFailure) as caught:
        plan("FROM a AS x\nCOPY --from=x a b\n")
    assert (caught.value.reason, caught.value.line) == (
        "circular dependency detected on stage: x",
        1,
    )


def test_mount_options():
    """`--mount` options are read as BuildKit's key=value list; bind is the default type."""
    p = plan("FROM a\nRUN --mount=type=cache,target=/c,id=pip --mount=source=f,target=/f true\n")
    cache, bind = _step(p, 0, 0).mounts
    assert (cache.type, cache.target, cache.id) == ("cache", "/c", "pip")
    assert (bind.type, bind.source, bind.readonly) == ("bind", "f", True)


def test_each_instruction_kind_is_its_own_step_class():
    """One dispatch function per instruction: each comes out as its kind's typed step."""
    planned = plan("FROM alpine\nARG A=1\nENV B=$A\nWORKDIR app\nCOPY x .\nADD y /\nRUN echo\n")
    kinds = [type(step) for step in planned.stages[0].steps]
    assert kinds == [ArgStep, MetadataStep, WorkdirStep, CopyStep, CopyStep, RunStep]
    env, workdir, copy = planned.stages[0].steps[1:4]
    assert env.values == ("B", "1")  # expanded with the ARG in scope
    assert workdir.path == "/app" and copy.dest == "/app/"
