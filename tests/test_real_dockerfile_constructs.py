"""Constructs that real projects' Dockerfiles use, each predicted as the engines build it.

Expected results come from builds on Docker 20.10 (BuildKit 0.8) and Docker 28.5 (BuildKit
0.25); the scenarios named were verified on both (`cachesim verify --standin-bases`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cachesim.simulation.simulator import simulate
from cachesim.sources.scenario import loads
from tests.helpers import scenario_named

SCENARIOS = Path(__file__).parent / "scenarios"


def statuses(path: str, version: str = "0.25") -> list[list[tuple[int, str]]]:
    """Per build, (line, status) of every predicted step."""
    result = simulate(scenario_named(path), version)
    return [[(s.line, s.status) for s in b.steps] for b in result.builds]


# -- HEALTHCHECK -------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.8", "0.25"])
def test_healthcheck_flags_are_accepted_and_change_nothing_for_buildkit(version):
    """`HEALTHCHECK --interval=... CMD` builds; changing it rebuilds nothing (20.10, 28.5)."""
    builds = statuses("healthcheck-flags.yaml", version)
    assert builds[0] == [(1, "cached"), (2, "built"), (4, "built")]
    assert all(status == "cached" for build in builds[1:] for _, status in build)


def test_healthcheck_change_is_a_step_for_the_classic_builder():
    """Classic builder: a changed HEALTHCHECK flag, or NONE, rebuilds it and what follows."""
    builds = statuses("healthcheck-flags-legacy.yaml")
    assert builds[2] == [(1, "cached"), (2, "cached"), (3, "built"), (4, "built")]
    assert builds[3] == [(1, "cached"), (2, "cached"), (3, "built"), (4, "built")]


@pytest.mark.parametrize(
    "name", ["healthcheck-start-interval", "healthcheck-start-interval-legacy"]
)
def test_healthcheck_start_interval_is_refused_by_docker_20_10_only(name):
    """`--start-interval` (Dockerfile 1.6): 20.10 stops at parsing, 28.5 builds."""
    old = simulate(scenario_named(f"{name}.yaml"), "0.8").builds[0]
    new = simulate(scenario_named(f"{name}.yaml"), "0.25").builds[0]
    assert old.error == "dockerfile parse error line 2: Unknown flag: start-interval"
    assert old.steps == () and new.error is None


# -- automatic platform ARGs -------------------------------------------------------------


def _copied(path: str, version: str, build: int = 1) -> list[str]:
    """The statuses of the COPY steps of one build."""
    steps = simulate(scenario_named(path), version).builds[build].steps
    return [s.status for s in steps if s.keyword == "COPY"]


@pytest.mark.parametrize("version", ["0.8", "0.25"])
def test_buildkit_copy_reads_the_declared_target_platform(version):
    """`ARG TARGETPLATFORM` then `COPY dist/$TARGETPLATFORM/app`: dist/linux/amd64/app."""
    builds = statuses("platform-args.yaml", version)
    assert all(status != "failed" for build in builds for _, status in build)
    assert _copied("platform-args.yaml", version, 1) == ["built"]  # amd64 binary edited
    assert _copied("platform-args.yaml", version, 2) == ["cached"]  # arm64 binary edited
    assert _copied("platform-args.yaml", version, 3) == ["cached"]  # dist/app edited
    assert _copied("platform-args.yaml", version, 4) == ["built"]  # --build-arg arm64


def test_classic_builder_defines_no_platform_args():
    """The classic builder reads `dist//app` = dist/app (Docker 20.10 and 28.5)."""
    assert _copied("platform-args-legacy.yaml", "0.25", 1) == ["cached"]
    assert _copied("platform-args-legacy.yaml", "0.25", 3) == ["built"]


@pytest.mark.parametrize(
    ("version", "edited_amd64", "edited_empty"),
    [
        ("0.8", "cached", "built"),
        ("0.25", "built", "cached"),
    ],
)
def test_bare_global_arg_hides_the_platform_on_buildkit_0_8_only(
    version, edited_amd64, edited_empty
):
    """A bare global `ARG TARGETARCH` empties it on 0.8; 0.25 keeps amd64."""
    assert _copied("platform-args-global.yaml", version, 1) == [edited_amd64]
    assert _copied("platform-args-global.yaml", version, 2) == [edited_empty]


def test_platform_args_in_from_lines():
    """BuildKit: `FROM alpine:${TARGETARCH}` is alpine:amd64; classic: `alpine:` is refused."""
    result = simulate(scenario_named("platform-args-from.yaml"))
    assert result.builds[0].error is None
    assert [s.status for s in result.builds[1].steps] == ["cached", "cached", "built", "built"]
    legacy = simulate(scenario_named("platform-args-from-legacy.yaml")).builds[0]
    assert legacy.error == "invalid reference format" and legacy.error_line == 1


# -- ADD https://... ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["add-url", "add-url-legacy"])
def test_add_url_is_keyed_by_the_downloaded_content(name):
    """Same bytes: cached; new bytes: rebuilt; old bytes again or a mirror: cached."""
    builds = [[s.status for s in b.steps] for b in simulate(scenario_named(f"{name}.yaml")).builds]
    adds = [statuses[1] for statuses in builds]
    assert adds == ["built", "cached", "built", "cached", "cached"]
    reason = simulate(scenario_named(f"{name}.yaml")).builds[2].steps[1].reason
    assert reason == "the file it downloads (tool.txt) came back with other content"


def test_an_unlisted_url_serves_the_same_bytes_every_build():
    """A URL the scenario does not list is assumed never to change."""
    scenario = loads(
        "name: u\ndockerfile: |\n  FROM a\n  ADD https://x.example/f.tgz /f.tgz\n"
        "builds:\n  - name: one\n  - name: two\n"
    )
    builds = simulate(scenario).builds
    assert builds[0].error is None and builds[1].steps[1].status == "cached"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("urls: {ftp://x/f: a}\n", "is not an http:// or https:// URL"),
        ("urls: {https://x/f: 3}\n", "the content of https://x/f must be text"),
    ],
)
def test_bad_urls_are_bad_input(text, message):
    """`urls:` must map http(s) URLs to text: else one error naming the file and line."""
    from cachesim.core.errors import InputError

    with pytest.raises(InputError, match=message):
        loads("name: u\ndockerfile: FROM a\nbuilds: [{name: one}]\n" + text, "s.yaml")


def test_url_change_needs_content():
    """`{url: URL}` without content is bad input naming the change."""
    from cachesim.core.errors import InputError

    text = "name: u\ndockerfile: FROM a\nbuilds:\n  - changes:\n      - {url: 'https://x/f'}\n"
    with pytest.raises(InputError, match="url needs 'content'"):
        loads(text, "s.yaml")


def test_verify_rewrites_add_urls_keeping_lines_and_file_names():
    """The engine sees a loopback URL with the same file name on the same line."""
    from cachesim.context.workspace import BuildRequest
    from cachesim.engine.urlserver import UrlServer

    text = "FROM a\nADD https://x.example/a/tool.txt \\\n    https://y.example/ /opt/\nRUN x\n"
    server = UrlServer(port=4242)
    request = server.publish(BuildRequest("b", text, {}, urls={"https://y.example/": b"y"}))
    lines = request.dockerfile.split("\n")
    assert lines[1] == "ADD http://127.0.0.1:4242/0/tool.txt \\"
    assert lines[2] == "    http://127.0.0.1:4242/1/download /opt/"
    assert server.files["/1/download"] == b"y"
    assert server.files["/0/tool.txt"] == b"content of https://x.example/a/tool.txt\n"
    log = "#5 [2/3] ADD http://127.0.0.1:4242/0/tool.txt http://127.0.0.1:4242/1/download /opt/"
    assert (
        server.restore(log) == "#5 [2/3] ADD https://x.example/a/tool.txt https://y.example/ /opt/"
    )


# -- FROM: two stages on one base, an image named through a build argument ----------------


@pytest.mark.parametrize("name", ["base-update-two-stages", "base-update-two-stages-legacy"])
def test_both_stages_see_an_updated_base(name):
    """Every FROM of the updated image is built, and so is every step on it."""
    build = simulate(scenario_named(f"{name}.yaml")).builds[1]
    assert {s.status for s in build.steps} == {"built"}
    second_run = next(s for s in build.steps if s.line == 5)
    assert second_run.reason == "the image python:3.12 changed (a new digest was published)"


@pytest.mark.parametrize("name", ["from-build-arg", "from-build-arg-legacy"])
def test_from_through_a_build_argument(name):
    """--build-arg PY=3.11: the FROM is built with a reason naming python:3.11; back: cached."""
    builds = simulate(scenario_named(f"{name}.yaml")).builds
    from_step = next(s for s in builds[1].steps if s.is_from)
    assert from_step.status == "built"
    assert "python:3.11 (through a build argument)" in from_step.reason
    assert {s.status for s in builds[1].steps if s.keyword in ("RUN", "COPY")} == {"built"}
    assert {s.status for s in builds[2].steps} == {"cached"}


# -- how steps are printed ---------------------------------------------------------------


def _run(scenario_text: str, *args: str) -> str:
    import tempfile

    from tests.helpers import cachesim

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        path.write_text(scenario_text)
        done = cachesim("run", str(path), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


COLD = """\
name: cold
dockerfile: |
  FROM python:3.12
  RUN apt-get update && \\
      apt-get install -y curl
builds:
  - name: cold
"""


def test_a_cold_from_that_pulls_prints_done_with_its_seconds_in_text_and_json():
    """Real cold logs print `FROM docker.io/library/python:3.12` ... `DONE 21.3s` (a pull)."""
    import json

    document = json.loads(_run(COLD, "--format", "json"))
    step = document["builds"][0]["steps"][0]
    assert (step["status"], step["pulled"]) == ("cached", True)  # not a cache miss
    text = _run(COLD).splitlines()
    assert text[3] == "#1 [1/2] FROM docker.io/library/python:3.12"
    assert text[4] == f"#1 DONE {step['seconds']:.1f}s"
    assert "not a cache miss" in text[5]


def test_a_multi_line_run_prints_on_one_line_as_the_builders_print_it():
    """Text: the whole instruction, continuations joined; JSON `instruction`: its first line."""
    import json

    text = _run(COLD)
    assert "#2 [2/2] RUN apt-get update &&     apt-get install -y curl\n" in text
    legacy = _run(COLD, "--engine", "legacy")
    assert "Step 2/2 : RUN apt-get update &&     apt-get install -y curl\n" in legacy
    step = json.loads(_run(COLD, "--format", "json"))["builds"][0]["steps"][1]
    assert step["instruction"] == "RUN apt-get update &&"
    assert step["shown"] == "RUN apt-get update &&     apt-get install -y curl"


# -- time defaults of common commands ----------------------------------------------------


@pytest.mark.parametrize(
    ("script", "seconds"),
    [
        ("uv sync --frozen --no-install-project", 5.0),
        ("uv pip install --system -r requirements.txt", 5.0),
        ("poetry install --no-root --only main", 30.0),
        ("bundle install --jobs 4", 30.0),
        ("npm run build", 20.0),
        ("cargo chef cook --release --recipe-path recipe.json", 100.0),
        ("go install ./cmd/server", 30.0),
        ("if [ -f yarn.lock ]; then yarn --frozen-lockfile; fi", 10.0),
        ("if [ -f yarn.lock ]; then yarn; elif [ -f package-lock.json ]; then npm ci; fi", 15.0),
    ],
)
def test_common_commands_get_their_documented_default(script, seconds):
    """Each has a row in docs/time-model.md; none falls back to the plain-shell 0.1 s."""
    from cachesim.cost.commands import estimate_run
    from cachesim.cost.timing import Machine

    assert estimate_run(script, Machine()).seconds == pytest.approx(seconds)


# -- generated content -------------------------------------------------------------------


def test_size_content_depends_on_path_and_size_only():
    """`{edit: p, size: N}` and `{add: p, size: N}` are the bytes `files: {p: {size: N}}` has."""
    from cachesim.context.snapshot import generated_content
    from cachesim.sources.scenario import replay

    steps = replay(scenario_named("edit-size-revert.yaml"))
    assert steps[2].request.files["data.bin"].content == generated_content("data.bin", 3000)
    assert steps[2].request.files["data.bin"].content == steps[0].request.files["data.bin"].content
    blob = generated_content("extra/blob.bin", 100)
    assert steps[3].request.files["extra/blob.bin"].content == blob
    assert steps[5].request.files["extra/blob.bin"].content == blob


@pytest.mark.parametrize("name", ["edit-size-revert", "edit-size-revert-legacy"])
def test_returning_to_an_earlier_size_is_a_cache_hit(name):
    """Back to the first size, or the same generated file added again: all cached."""
    builds = [{s for _, s in b} for b in statuses(f"{name}.yaml")]
    assert builds[2] == {"cached"} and builds[5] == {"cached"}


# -- a Dockerfile that ends in a continuation --------------------------------------------


@pytest.mark.parametrize("name", ["continuation-at-end", "continuation-at-end-legacy"])
def test_a_lone_continuation_on_the_last_line_is_an_unknown_instruction(name):
    """The engine refuses it before any step, naming the line (these exact texts: 20.10's
    BuildKit 0.8, then 28.5's 0.25, probed there with the same last line)."""
    for version, said in (("0.8", "parse error line 4"), ("0.25", "parse error on line 4")):
        build = simulate(scenario_named(f"{name}.yaml"), version).builds[2]
        assert build.steps == ()
        assert (build.error, build.error_line) == (
            f"dockerfile {said}: unknown instruction: ",
            4,
        )


def test_a_trailing_continuation_changes_nothing():
    """`RUN echo done \\` at the end is the step `RUN echo done`: the cache has it."""
    assert {s for _, s in statuses("continuation-at-end.yaml")[1]} == {"cached"}


def test_an_empty_run_fails_with_the_classic_builder_only():
    """`RUN \\` at the end: BuildKit succeeds, the classic builder's shell exits 2."""
    assert simulate(scenario_named("continuation-at-end.yaml")).builds[3].error is None
    legacy = simulate(scenario_named("continuation-at-end-legacy.yaml")).builds[3]
    assert legacy.error == "The command '/bin/sh -c' returned a non-zero code: 2"


# -- the command line: plots, --build, reasons -------------------------------------------


def test_a_plot_in_a_missing_folder_is_one_line_and_exit_2(tmp_path):
    """No traceback: `error: FILE: no such folder: ...`, status 2."""
    from tests.helpers import cachesim

    done = cachesim("run", "examples/ordering-python.yaml", "--plot", "/no/such/dir/x.png")
    assert done.returncode == 2
    assert done.stderr == "error: /no/such/dir/x.png: no such folder: /no/such/dir\n"


def test_build_zero_is_refused():
    """Builds are numbered from 1: `--build 0` is bad input, not the last build."""
    from tests.helpers import cachesim

    done = cachesim("run", "examples/ordering-python.yaml", "--plot", "/tmp/x.png", "--build", "0")
    assert done.returncode == 2
    assert "--build 0: builds are numbered 1 to 4" in done.stderr


def test_plots_of_a_failed_build_say_where_it_fails():
    """The title says the build fails and at which step, not `image 1 B`."""
    from cachesim.cost.model import apply_costs
    from cachesim.output import plot

    scenario = scenario_named("copy-missing-file.yaml")
    build = apply_costs(scenario, simulate(scenario)).builds[0]
    for figure in (plot.timeline(build), plot.layers(build)):
        title = figure.axes[0].get_title(loc="left")
        assert "the build fails at line 4 (COPY requirement.txt .)" in title
        assert "image 1 B" not in title
    rejected = simulate(scenario_named("continuation-at-end.yaml")).builds[2]
    assert plot.failure_text(rejected).startswith(
        "the build fails before any step (Dockerfile line 4)"
    )


IGNORED = """\
name: ignored
dockerfile: |
  FROM alpine:3.19
  COPY . /app
  RUN --mount=type=bind,source=uv.lock,target=uv.lock --mount=type=bind,source=a.txt,target=/m/b.txt true
files:
  README.md: "hi\\n"
  uv.lock: "1\\n"
  a.txt: "1\\n"
builds:
  - name: cold
  - name: README.md now ignored
    changes:
      - {dockerignore: "README.md\\n.dockerignore\\n"}
  - name: lock bumped
    changes:
      - {edit: uv.lock, content: "2\\n"}
  - name: a.txt edited
    changes:
      - {edit: a.txt, content: "2\\n"}
"""


def test_reasons_name_ignored_files_and_mounted_files_plainly():
    """`README.md is now excluded by .dockerignore`, `uv.lock changed` (no `uv.lock:uv.lock`)."""
    builds = simulate(loads(IGNORED)).builds
    assert builds[1].steps[1].reason == "README.md is now excluded by .dockerignore"
    scenario = loads(IGNORED.replace("COPY . /app", "COPY a.txt /app/"))
    builds = simulate(scenario).builds
    assert builds[2].steps[2].reason == "uv.lock changed"
    assert builds[3].steps[1].reason == "a.txt changed"
    assert builds[3].steps[2].reason.startswith("the step above it was built")


def test_compare_ends_with_a_summary_of_the_saving():
    """Which scenario is faster overall, by how much, and per build."""
    from tests.helpers import cachesim

    done = cachesim(
        "compare", "examples/ordering-python.yaml", "examples/ordering-python-better.yaml"
    )
    assert done.returncode == 0
    summary = done.stdout.split("summary\n", 1)[1].splitlines()
    assert summary[0].startswith("  overall: ordering-python-better is faster: ")
    assert "s saved (" in summary[0]
    assert summary[2].startswith("   2. edit the source")
    assert "ordering-python-better saves " in summary[2]
    assert len(summary) == 5  # overall, then the 4 builds


def test_engine_both_shows_the_builders_side_by_side():
    """One table a build: each Dockerfile line with BuildKit's and the classic builder's verdict."""
    from tests.helpers import cachesim

    done = cachesim("run", "tests/scenarios/env-change.yaml", "--engine", "both")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("line  instruction"))
    assert "BuildKit" in lines[header] and lines[header].endswith("classic builder")
    env_row = lines[header + 3].split()
    assert env_row[:2] == ["3", "ENV"] and "(no" in env_row and env_row[-1] == "<"
    pip_row = lines[header + 4].split()
    assert pip_row[:2] == ["4", "RUN"] and pip_row.count("built") == 2


def test_the_constructs_together():
    """HEALTHCHECK flags, platform ARGs and ADD <url> in one Dockerfile: no failure, and
    each change rebuilds what the engines rebuild (constructs-together, 20.10 and 28.5)."""
    builds = statuses("constructs-together.yaml")
    assert all(status != "failed" for build in builds for _, status in build)
    assert {s for _, s in builds[1]} == {"cached"}  # the health check's flags
    assert {s for _, s in builds[2]} == {"cached"}  # the arm64 binary: never read
    assert [line for line, s in builds[3] if s == "built"] == [6, 7]  # ADD, then COPY --from


def test_a_from_on_the_build_platform_is_the_twin_of_a_bare_from():
    """BuildKit runs `FROM --platform=$BUILDPLATFORM x` and `FROM x` once on this machine."""
    from cachesim.engine.compare import _chain_text

    bare = _chain_text("FROM alpine:3.19")
    assert _chain_text("FROM --platform=$BUILDPLATFORM alpine:3.19 AS build") == bare
    assert _chain_text("FROM --platform=${TARGETPLATFORM} alpine:3.19") == bare
    assert _chain_text("FROM --platform=linux/arm64 alpine:3.19") != bare
