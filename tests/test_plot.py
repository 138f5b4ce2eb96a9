"""Plots render with one bar per step, one block per layer, one line per scenario."""

from pathlib import Path

from cachesim.cost.model import apply_costs
from cachesim.output import plot
from cachesim.simulation.simulator import simulate
from cachesim.sources.scenario import load
from tests.helpers import cachesim

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [
    ROOT / "examples" / "ordering-python.yaml",
    ROOT / "examples" / "ordering-python-better.yaml",
]


def costed(path: Path):
    scenario = load(path)
    return apply_costs(scenario, simulate(scenario))


def _gids(figure, prefix: str) -> list[str]:
    ax = figure.axes[0]
    return [p.get_gid() for p in ax.patches if (p.get_gid() or "").startswith(prefix)]


def test_timeline_has_a_bar_per_step_and_its_labels():
    """4 steps + context + export = 6 bars; built and cached told apart; steps labelled."""
    build = costed(EXAMPLES[0]).builds[1]  # edit the source: 2 cached, 2 built
    figure = plot.timeline(build, "buildkit", title="edit")
    gids = _gids(figure, "bar-")
    assert len(gids) == 6
    assert gids.count("bar-built") == 2 and gids.count("bar-cached") == 2
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels[0] == "send the build context"
    assert labels[-1] == "export the image"
    # as BuildKit prints a single-stage build: no stage name (tests/engine_logs)
    assert "[4/4] RUN pip install -r requirements.txt" in labels
    assert figure.axes[0].get_title(loc="left").startswith("edit")
    assert figure.axes[0].get_xlabel() == "seconds since the build started"


def test_layer_stack_has_a_block_per_layer():
    """The base image plus WORKDIR, COPY and RUN of the final stage: 4 blocks."""
    build = costed(EXAMPLES[0]).builds[1]
    figure = plot.layers(build)
    gids = _gids(figure, "layer-")
    assert gids == ["layer-other", "layer-cached", "layer-built", "layer-built"]


def test_cumulative_has_a_line_per_scenario():
    """Two scenarios, two lines, named in the legend, one point per build plus the start."""
    results = [costed(p) for p in EXAMPLES]
    figure = plot.cumulative(results)
    ax = figure.axes[0]
    assert len(ax.lines) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "ordering-python",
        "ordering-python-better",
    ]
    assert all(len(line.get_xdata()) == 5 for line in ax.lines)
    assert ax.get_ylabel() == "total build time (s)"


def test_cli_saves_png_and_svg(tmp_path):
    """--plot writes a PNG (by its magic bytes) and an SVG; compare draws the race."""
    png, svg, race = tmp_path / "t.png", tmp_path / "l.svg", tmp_path / "c.png"
    assert cachesim("run", str(EXAMPLES[0]), "--plot", str(png)).returncode == 0
    layers = cachesim("run", str(EXAMPLES[0]), "--plot", str(svg), "--plot-kind", "layers")
    assert layers.returncode == 0
    assert cachesim("compare", *map(str, EXAMPLES), "--plot", str(race)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert race.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:500]


def test_a_plot_file_of_another_kind_is_bad_input(tmp_path):
    """`--plot out.jpg`: one line, exit 2."""
    done = cachesim("run", str(EXAMPLES[0]), "--plot", str(tmp_path / "out.jpg"))
    assert done.returncode == 2
    assert "must end in .png or .svg" in done.stderr
