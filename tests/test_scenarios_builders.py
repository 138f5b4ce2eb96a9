"""One scenario, both builders (`builders: [buildkit, legacy]`), and the typed change events
the loader parses a scenario's changes into (cachesim.context.changes)."""

import ast
import textwrap
from pathlib import Path

import pytest

from cachesim.context import changes
from cachesim.core.errors import InputError
from cachesim.simulation.simulator import simulate
from cachesim.sources.scenario import for_builder, loads, pairs, replay
from tests.helpers import cachesim

BOTH = textwrap.dedent(
    """\
    name: both
    builders: [buildkit, legacy]
    dockerfile: |
      FROM alpine:3.19
      ENV A=1
      COPY app.py /app/
    files:
      app.py: "print(1)\\n"
    builds:
      - name: cold
    """
)


def _error(text: str) -> str:
    with pytest.raises(InputError) as caught:
        loads(textwrap.dedent(text), "s.yaml")
    return caught.value.one_line()


def test_builders_lists_the_pairs_and_engine_is_the_first():
    scenario = loads(BOTH, "s.yaml")
    assert scenario.builders == ("buildkit", "legacy")
    assert scenario.engine == "buildkit"
    assert [p.builders for p in pairs(scenario)] == [("buildkit",), ("legacy",)]
    assert loads(BOTH.replace("builders: [buildkit, legacy]", "engine: legacy")).builders == (
        "legacy",
    )
    assert loads(BOTH.replace("builders: [buildkit, legacy]\n", "")).builders == ("buildkit",)


def test_for_builder_selects_the_rules_that_are_simulated():
    """The spec: BuildKit lists no step for ENV; the classic builder lists every instruction."""
    scenario = loads(BOTH, "s.yaml")
    buildkit = simulate(for_builder(scenario, "buildkit")).builds[0].steps
    legacy = simulate(for_builder(scenario, "legacy")).builds[0].steps
    assert [s.instruction.split()[0] for s in buildkit] == ["FROM", "COPY"]
    assert [s.instruction.split()[0] for s in legacy] == ["FROM", "ENV", "COPY"]
    assert simulate(for_builder(scenario, "legacy")).engine == "legacy"
    with pytest.raises(InputError):
        for_builder(scenario, "podman")


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        ("builders: [buildkit, legacy]\nengine: legacy", "s.yaml:2: give either 'builders'"),
        ("builders: [buildkit, kaniko]", "s.yaml:2: unknown builder 'kaniko'"),
        ("builders: []", "s.yaml:2: 'builders' must be a list"),
        ("builders: legacy", "s.yaml:2: 'builders' must be a list"),
        ("builders: [legacy, legacy]", "s.yaml:2: 'builders' names a builder twice"),
    ],
)
def test_a_bad_builders_key_is_one_line_with_file_and_line(replacement, message):
    assert message in _error(BOTH.replace("builders: [buildkit, legacy]", replacement))


def test_the_command_exits_2_on_both_keys(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(BOTH.replace("builders: [buildkit, legacy]", "builders: [legacy]\nengine: x"))
    done = cachesim("run", str(path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and f"{path}:2:" in done.stderr, done.stderr


EVERY_KIND = textwrap.dedent(
    """\
    name: every-kind
    dockerfile: |
      FROM alpine:3.19
      COPY . /s/
    files:
      a.txt: "a\\n"
      d/b.txt: "b\\n"
    builds:
      - name: cold
      - name: all
        changes:
          - {edit: a.txt, size: 10}
          - {add: c.txt, content: "c\\n", mode: "0600"}
          - {delete: d/b.txt}
          - {rename: c.txt, to: e.txt}
          - {chmod: e.txt, mode: "0755"}
          - {touch: a.txt}
          - {build_arg: V, value: 3}
          - {dockerfile: "FROM alpine:3.19\\nCOPY a.txt /s/\\n"}
          - {dockerignore: "*.md\\n"}
          - {base_image: alpine:3.19}
          - {prune: all}
          - {url: "https://example.com/x", content: "x\\n"}
    """
)


def test_every_change_kind_parses_into_its_own_event():
    """The loader makes one typed event per change; the kinds are the spec's table plus url."""
    events = loads(EVERY_KIND, "s.yaml").builds[1].changes
    assert [type(e) for e in events] == list(changes.CHANGE_TYPES.values())
    assert [e.kind for e in events] == list(changes.CHANGE_TYPES)
    assert events[1] == changes.Add("c.txt", "c\n", None, 0o600, events[1].line)
    assert events[6] == changes.BuildArg("V", "3", events[6].line)
    assert [e.describe() for e in events[:2]] + [events[7].describe()] == [
        "edit a.txt",
        "add c.txt",
        "dockerfile replaced",
    ]
    assert all(isinstance(e.line, int) for e in events)


def test_replay_applies_every_kind():
    first, second = replay(loads(EVERY_KIND, "s.yaml"), lambda text, args: ["alpine:3.19"])
    after = second.request
    assert len(after.files["a.txt"].content) == 10
    assert sorted(after.files) == ["a.txt", "e.txt"] and after.files["e.txt"].mode == 0o755
    assert after.build_args == {"V": "3"} and after.dockerignore == "*.md\n"
    assert after.dockerfile.endswith("COPY a.txt /s/\n")
    assert after.images == {"alpine:3.19": 1} and first.request.images == {"alpine:3.19": 0}
    assert after.prune_before and not first.request.prune_before
    assert after.download("https://example.com/x") == b"x\n"


def test_the_changes_module_imports_nothing_after_the_context_layer():
    """context comes before sources (and builders): the events must not import them."""
    tree = ast.parse(Path(changes.__file__).read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    local = {m for m in imported if m.startswith("cachesim.")}
    assert local and all(m.split(".")[1] in ("core", "context") for m in local), local
