"""What a RUN reads: the command model, its use for COPY --from, and the `runs:` key.

Expected behaviour comes from the engines (scenarios go-build-readme-edit,
cargo-chef-recipe-unchanged, nextjs-public-copy, run-unknown-vs-declared and
run-fails-declared, verified on Docker 20.10 and 28.5) and from the tools' documentation
cited in docs/cache-rules.md.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cachesim.builders import reads
from cachesim.builders.reads import ReadSet, Where, model_run
from cachesim.core.errors import InputError
from cachesim.simulation.simulator import simulate
from cachesim.sources.scenario import for_builder, load, loads

SCENARIOS = Path(__file__).parent / "scenarios"


def where(files: dict[str, str], cwd: str = "/src", content=None) -> Where:
    data = {path: text.encode() for path, text in (content or {}).items()}
    return Where(cwd, {}, "/root", {p: f"d-{p}" for p in files}, data.get)


def shell(script: str) -> tuple[str, ...]:
    return ("/bin/sh", "-c", script)


def selected(model, files) -> set[str]:
    return {p for t in model.tools for r in t.reads for p in files if r.matches(p) is not None}


GO_TREE = {
    "/src/go.mod": "",
    "/src/go.sum": "",
    "/src/main.go": "",
    "/src/internal/web/web.go": "",
    "/src/internal/web/web_test.go": "",
    "/src/internal/web/testdata/x.json": "",
    "/src/_tools/gen.go": "",
    "/src/README.md": "",
    "/src/static/site.css": "",
}


def test_go_build_reads_go_files_and_module_files_only():
    """go build: .go files of the module, go.mod, go.sum; not tests, testdata, _dirs, README."""
    model = model_run(shell("CGO_ENABLED=0 go build -o /out/app ."), where(GO_TREE))
    assert model.known and model.reproducible
    assert selected(model, GO_TREE) == {
        "/src/go.mod",
        "/src/go.sum",
        "/src/main.go",
        "/src/internal/web/web.go",
    }
    assert "/out/app" in model.writes
    assert model.tools[0].env_values == (("CGO_ENABLED", "0"),)


def test_go_embed_adds_the_embedded_files():
    """A //go:embed line makes the files it names inputs (pkg.go.dev/embed)."""
    tree = where(
        GO_TREE, content={"/src/main.go": "package main\n//go:embed static\nvar s string\n"}
    )
    model = model_run(shell("go build -o /out/app ."), tree)
    assert "/src/static/site.css" in selected(model, GO_TREE)
    assert "/src/README.md" not in selected(model, GO_TREE)


def test_go_build_in_a_git_checkout_reads_everything():
    """With .git in the folder go build stamps VCS state (-buildvcs): every file counts."""
    tree = {**GO_TREE, "/src/.git/HEAD": ""}
    model = model_run(shell("go build -o /out/app ."), where(tree))
    assert "/src/README.md" in selected(model, tree)
    model = model_run(shell("go build -buildvcs=false -o /out/app ."), where(tree))
    assert "/src/README.md" not in selected(model, tree)


def test_cargo_chef_prepare_reads_manifests_and_target_names():
    """cargo chef prepare: Cargo.toml, Cargo.lock, and only the names of target files."""
    tree = {
        "/app/Cargo.toml": "",
        "/app/Cargo.lock": "",
        "/app/src/main.rs": "",
        "/app/README.md": "",
    }
    model = model_run(shell("cargo chef prepare --recipe-path recipe.json"), where(tree, "/app"))
    assert selected(model, tree) == {"/app/Cargo.toml", "/app/Cargo.lock", "/app/src/main.rs"}
    names = [r for r in model.tools[0].reads if r.names_only]
    assert names and names[0].matches("/app/src/main.rs") == "src/main.rs"
    assert model.writes == ("/app/recipe.json",)


def test_npm_ci_reads_manifests_unless_the_project_has_install_scripts():
    """npm ci reads package.json and the lockfile; a postinstall script may read anything."""
    tree = {"/app/package.json": "", "/app/package-lock.json": "", "/app/index.js": ""}
    plain = where(tree, "/app", {"/app/package.json": '{"name": "x"}'})
    model = model_run(shell("npm ci --omit=dev"), plain)
    assert selected(model, tree) == {"/app/package.json", "/app/package-lock.json"}
    hooks = where(tree, "/app", {"/app/package.json": '{"scripts": {"postinstall": "node x"}}'})
    assert not model_run(shell("npm ci"), hooks).known
    assert model_run(shell("npm ci --ignore-scripts"), hooks).known


def test_npm_run_build_follows_the_script_text():
    """npm run build runs package.json's script: `next build` writes only .next/."""
    tree = {"/app/package.json": "", "/app/public/a.png": ""}
    package = '{"scripts": {"build": "next build", "odd": "node build.js"}}'
    model = model_run(shell("npm run build"), where(tree, "/app", {"/app/package.json": package}))
    assert model.known and model.writes == ("/app/.next",)
    odd = model_run(shell("npm run odd"), where(tree, "/app", {"/app/package.json": package}))
    assert not odd.known


@pytest.mark.parametrize(
    ("command", "known", "reproducible"),
    [
        ("pip install --no-cache-dir -r requirements.txt", True, False),
        ("pip install --no-compile -r requirements.txt", True, True),
        ("uv sync --frozen --no-install-project", True, True),
        ("poetry install --no-root", True, True),
        ("mvn -B dependency:go-offline", True, True),
        ("mvn -B package -DskipTests", True, False),
        ("./gradlew build", True, False),
        ("make", False, False),
        ("./build.sh", False, False),
        ("if [ -f yarn.lock ]; then yarn; fi", False, False),
        ("apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*", True, True),
        ("addgroup -S app && adduser -S app -G app", True, True),
    ],
)
def test_which_commands_are_modelled(command: str, known: bool, reproducible: bool):
    """Known tools are modelled; make, scripts and shell control flow stay unknown."""
    model = model_run(shell(command), where({"/src/requirements.txt": ""}))
    assert (model.known, model.reproducible) == (known, reproducible)


def test_pip_reads_only_the_requirement_files_named():
    tree = {"/src/requirements.txt": "", "/src/dev.txt": "", "/src/app.py": ""}
    model = model_run(shell("pip install --no-compile -r requirements.txt"), where(tree))
    assert selected(model, tree) == {"/src/requirements.txt"}


def test_stand_in_grep_selects_the_same_files_as_the_model():
    """The stand-ins select with `grep -E` what ReadSet selects with Python's re."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not Path(busybox).exists():
        pytest.skip("busybox is not installed")
    paths = [
        "main.go",
        "a/b.go",
        "a/b_test.go",
        "a/testdata/c.go",
        "_x/d.go",
        ".h/e.go",
        "go.mod",
        "go.sum",
        "vendor/modules.txt",
        "README.md",
        "src/main.rs",
        "Cargo.toml",
        "x/Cargo.toml",
        "target/src/y.rs",
        "node_modules/p/package.json",
        "package.json",
        "yarn.lock",
        ".yarn/releases/y.cjs",
        "pom.xml",
        "m/src/A.java",
        "m/target/A.class",
    ]
    sets = [
        ReadSet("/", reads.GO_SOURCES, reads.GO_EXCLUDE),
        ReadSet("/", reads.GO_MODULE),
        ReadSet("/", reads.CARGO_SOURCES, reads.CARGO_EXCLUDE),
        ReadSet("/", reads.YARN_MANIFESTS, reads.NODE_EXCLUDE),
        ReadSet("/", reads.MAVEN_SOURCES, reads.MAVEN_EXCLUDE),
    ]
    for read_set in sets:
        ours = sorted(p for p in paths if read_set.matches("/" + p) is not None)
        script = f'grep -E "^({read_set.include})$" | grep -Ev "{read_set.exclude or "^$"}"'
        out = subprocess.run(
            [busybox, "sh", "-c", script],
            input="\n".join(paths) + "\n",
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        assert sorted(out) == ours, read_set.include


def steps_of(name: str, build: int):
    result = simulate(load(SCENARIOS / f"{name}.yaml"))
    return {s.instruction: s for s in result.builds[build].steps}


def test_readme_edit_leaves_the_copied_binary_cached_with_a_reason():
    """Seen on 20.10 and 28.5: the builder re-runs, COPY --from the binary stays cached."""
    steps = steps_of("go-build-readme-edit", 1)
    copy = steps["COPY --from=build /out/server /usr/local/bin/server"]
    assert copy.status == "cached"
    assert copy.reason.startswith("the stage build re-ran, but /out/server came out the same")
    assert "go build reads only" in copy.reason
    assert steps["RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server"].status == "built"
    source_edit = steps_of("go-build-readme-edit", 3)
    assert source_edit["COPY --from=build /out/server /usr/local/bin/server"].status == "built"


def test_unknown_command_is_conservative_and_says_so():
    """An unknown RUN is assumed to write new output, and the reason says it is assumed."""
    steps = steps_of("run-unknown-vs-declared", 1)
    stamp = steps["COPY --from=stamp /out/stamp /stamp"]
    assert stamp.status == "built" and "cachesim assumes that the RUN" in stamp.reason
    assert steps["COPY --from=build /out/app /app"].status == "cached"


SAME_BYTES_HINT = "so the engine reuses it if they come out byte-identical"


UNREAD_STAGE = """name: x
builders: [buildkit, legacy]
dockerfile: |
  FROM alpine:3.20 AS stamp
  COPY . .
  RUN sh stamp.sh
  FROM alpine:3.20
  COPY --from=stamp /out/stamp /stamp
files:
  stamp.sh: "mkdir -p /out && cat /proc/sys/kernel/random/uuid > /out/stamp\\n"
  README.md: "1\\n"
builds:
  - name: cold
  - name: edit the README
    changes:
      - {edit: README.md, content: "2\\n"}
"""


@pytest.mark.parametrize("builder", ["buildkit", "legacy"])
def test_a_copy_of_an_unread_runs_output_says_what_would_keep_it_cached(builder: str):
    """The copy of what `sh stamp.sh` wrote is predicted built, and the reason says that the
    builder keys it by content (seen on 20.10 and 28.5, both builders: copy-from-rebuilt-
    same-bytes) and that `runs:` can tell cachesim what the RUN reads."""
    scenario = for_builder(loads(UNREAD_STAGE, "s.yaml"), builder)
    steps = {s.instruction: s for s in simulate(scenario).builds[1].steps}
    stamp = steps["COPY --from=stamp /out/stamp /stamp"]
    assert stamp.status == "built"
    assert "cannot tell what `sh stamp.sh` reads" in stamp.reason
    assert SAME_BYTES_HINT in stamp.reason
    assert "a scenario's `runs:` entry with `reads:`" in stamp.reason


def test_a_copy_of_a_declared_runs_output_has_no_hint():
    """With `runs:` reads the reason names what the RUN reads, cached or built, and says
    nothing of what would keep it cached."""
    name = "copy-from-rebuilt-same-bytes"
    copy = "COPY --from=assets /src/dist/ /usr/share/nginx/html/"
    readme, stylesheet = steps_of(name, 1)[copy], steps_of(name, 2)[copy]
    assert readme.status == "cached" and stylesheet.status == "built"
    for step in (readme, stylesheet):
        assert "the scenario says it reads scripts/bundle.sh" in step.reason
        assert SAME_BYTES_HINT not in step.reason


def test_a_copy_after_a_bind_mount_of_a_stage_has_no_runs_hint():
    """A RUN that bind-mounts a stage is unknown whatever `runs:` says, so no hint."""
    text = """name: x
dockerfile: |
  FROM alpine:3.20 AS src
  COPY a.txt /a.txt
  FROM alpine:3.20 AS build
  RUN --mount=type=bind,from=src,target=/m cp /m/a.txt /out.txt
  FROM alpine:3.20
  COPY --from=build /out.txt /out.txt
files:
  a.txt: "1\\n"
builds:
  - name: cold
  - name: edit
    changes:
      - {edit: a.txt, content: "2\\n"}
"""
    steps = simulate(loads(text, "s.yaml")).builds[1].steps
    copy = next(s for s in steps if s.instruction == "COPY --from=build /out.txt /out.txt")
    assert copy.status == "built" and "bind mount of a stage" in copy.reason
    assert SAME_BYTES_HINT not in copy.reason


def test_declared_failure_stops_the_build_only_when_the_run_runs():
    """A RUN declared failing fails where it runs; a revert finds build 1's results."""
    result = simulate(load(SCENARIOS / "run-fails-declared.yaml"), "0.25")
    failed = result.builds[1]
    assert (
        failed.error
        == 'process "/bin/sh -c sh test.sh" did not complete successfully: exit code: 1'
    )
    assert [s.status for s in failed.steps][-1] == "failed"
    assert all(s.status == "cached" for s in result.builds[2].steps)
    old = simulate(load(SCENARIOS / "run-fails-declared.yaml"), "0.8").builds[1]
    assert old.error == "executor failed running [/bin/sh -c sh test.sh]: exit code: 1"


BASE = """name: x
dockerfile: |
  FROM alpine:3.20
  RUN make
builds:
  - name: cold
"""


@pytest.mark.parametrize(
    ("runs", "message", "line"),
    [
        ("runs: {a: 1}\n", "'runs' must be a list", 7),
        ("runs:\n  - {run: make, line: 2}\n", "give 'run: COMMAND TEXT' or 'line: N'", 8),
        ("runs:\n  - {run: make test}\n", "no RUN of the Dockerfile has the text 'make test'", 8),
        ("runs:\n  - {run: make, reads: src}\n", "'reads' must be a list", 8),
        ("runs:\n  - {run: make, fails: [later]}\n", "'fails' names no build 'later'", 8),
        ("runs:\n  - {run: make, writes: [/out]}\n", "'writes' needs 'reads' too", 8),
        ("runs:\n  - {run: make, reeds: [a]}\n", "unknown key 'reeds' in runs entry 1", 8),
    ],
)
def test_bad_runs_entries_name_the_file_and_line(runs: str, message: str, line: int):
    with pytest.raises(InputError) as err:
        loads(BASE + runs, "s.yaml")
    assert message in str(err.value)
    assert err.value.line == line


def test_a_modelled_run_writes_only_its_folders():
    """What a modelled RUN writes reaches the copies of its folders, not of others."""
    from cachesim.builders.fs import FileSystem

    fs = FileSystem(base="b", files={"/app/public/a.png": "d1"})
    fs = fs.after_tools("out1", ("/app/.next",), "next build")
    assert "<written by RUN>" not in fs.content("/app/public")
    assert "<written by RUN>" in fs.content("/app/.next/standalone")
    assert fs.why("/app/.next/standalone") == ["next build"]
    exact = fs.with_files({"/app/.next": "d2"})  # an exact write replaces the RUN's
    assert exact.content("/app/.next") == {"/app/.next": "d2"}
