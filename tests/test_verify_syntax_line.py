"""verify predicts for the frontend the engine really uses when a ``# syntax=`` line is
neutralised (engine/enginefile.py): the engine's built-in one.

Seen on Docker 20.10.24 (BuildKit 0.8): a heredoc is a parse error for the built-in
frontend ("unknown instruction: ECHO", docs/engine-findings.md section 21), so a scenario
with ``# syntax=docker/dockerfile:1.4`` and a heredoc fails there once the line is gone,
while a user's engine, which pulls that frontend, builds it (Docker's documentation of the
syntax directive: 1.4 brought heredocs).
"""

from cachesim.engine.verify import as_the_engine_reads
from cachesim.simulation.simulator import simulate
from cachesim.sources.scenario import loads

SCENARIO = """
name: syntax-heredoc
dockerfile: |
  # syntax=docker/dockerfile:1.4
  FROM base
  RUN <<EOF
  echo hello
  EOF
builds:
  - name: cold
  - name: new text
    changes:
      - dockerfile: "# syntax=docker/dockerfile:1.4\\nFROM base\\nRUN echo bye\\n"
"""


def test_the_syntax_line_is_neutralised_in_every_dockerfile_of_the_scenario():
    """The first Dockerfile and each replacement lose their directive, lines kept."""
    scenario = as_the_engine_reads(loads(SCENARIO))
    assert "syntax=" not in scenario.dockerfile
    assert len(scenario.dockerfile.splitlines()) == 5
    replaced = scenario.builds[1].changes[0].subject
    assert "syntax=" not in replaced
    assert replaced.splitlines()[1:] == ["FROM base", "RUN echo bye"]


def test_on_buildkit_08_the_engine_read_prediction_is_the_built_in_frontends_refusal():
    """With the directive a user's 20.10 reads the heredoc; without it, it is refused."""
    original = simulate(loads(SCENARIO), "0.8").builds[0]
    engine_read = simulate(as_the_engine_reads(loads(SCENARIO)), "0.8").builds[0]
    assert original.error is None
    assert engine_read.error is not None and "parse error" in engine_read.error
