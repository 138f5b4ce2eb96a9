"""Small modules: what a RUN is known to write, the symbolic file system, the stage graph and
the wording of reasons."""

from cachesim.builders.cache import Record
from cachesim.builders.fs import FileSystem
from cachesim.builders.runeffects import OPAQUE, run_effect
from cachesim.planning.graph import find_cycle, needed_by, stage_graph
from cachesim.simulation.explain import differences, explain_miss

SH = ("/bin/sh", "-c")


def test_echo_redirects_are_known_exactly():
    """`echo x > f` writes "x\\n" (POSIX echo), relative paths resolve against WORKDIR."""
    effect = run_effect(
        (*SH, "mkdir -p out && echo hi there > out/a && echo more >> out/a"), "/app"
    )
    assert effect.writes == {"/app/out/a": b"hi there\nmore\n"}
    assert not effect.opaque


def test_an_unreadable_command_is_opaque_but_later_echo_is_known():
    """After `go build` anything may have changed; an echo after it still writes known bytes."""
    effect = run_effect((*SH, "go build -o /out/app . && echo done > /out/app"), "/")
    assert effect.opaque and effect.writes == {"/out/app": b"done\n"}
    assert run_effect((*SH, "echo $HOME > /x"), "/") == OPAQUE  # needs the environment
    assert run_effect(("/bin/sh", "-c", "cat a > b"), "/") == OPAQUE
    assert run_effect(("python", "x.py"), "/") == OPAQUE  # exec form


def test_file_system_content_follows_runs():
    """A file COPY placed stays exact after a RUN (seen on the engine: go-mod-first keeps
    `COPY --from=build /src/go.mod` cached after `go mod download` re-ran); a folder may
    have gained files the RUN wrote."""
    fs = FileSystem(base="img").with_files({"/app/a.py": "d1"})
    assert fs.content("/app/a.py") == {"/app/a.py": "d1"}
    after = fs.after_run({"command": "make"})
    assert after.content("/app/a.py") == {"/app/a.py": "d1"}
    assert set(after.content("/app")) == {"/app/a.py", "<written by RUN>"}
    assert fs.is_dir("/app") and fs.is_file("/app/a.py") and not fs.is_file("/app")


def test_stage_graph_needs_and_cycles():
    """What a target needs is its ancestors; a self edge is a cycle at that stage."""
    graph = stage_graph(4, [(0, 2), (2, 3)])
    assert needed_by(graph, 3) == {0, 2, 3}
    assert find_cycle(graph) is None
    assert find_cycle(stage_graph(2, [(1, 1)])) == 1


def _record(definition, build=1):
    return Record("k", "p", definition["keyword"], definition, build, "0", 3)


def test_reason_names_changed_file_and_argument():
    """The reason names what differs from the result cached after the same parent."""
    old = {"keyword": "RUN", "text": "RUN x", "args": {"V": "1"}, "env": {}}
    new = {"keyword": "RUN", "text": "RUN x", "args": {"V": "2"}, "env": {}}
    assert differences(old, new) == ["build argument V changed ('1' -> '2')"]
    old = {"keyword": "COPY", "text": "COPY . .", "files": {"a.py": "c1:0644", "b.py": "c2:0644"}}
    new = {"keyword": "COPY", "text": "COPY . .", "files": {"a.py": "c3:0644", "b.py": "c2:0755"}}
    assert differences(old, new) == ["a.py changed", "permissions of b.py changed (0644 -> 0755)"]


def test_reason_for_many_files_names_a_few_and_counts_the_rest():
    """Three files at most are named, then a count."""
    old = {"keyword": "COPY", "text": "COPY . .", "files": {f"f{i}": "a:0644" for i in range(6)}}
    new = {"keyword": "COPY", "text": "COPY . .", "files": {f"f{i}": "b:0644" for i in range(6)}}
    assert differences(old, new) == ["f0, f1, f2 and 3 more changed (6 files)"]


def test_reason_when_nothing_is_cached():
    """An empty cache, a pruned cache and a changed instruction each say so."""
    new = {"keyword": "RUN", "text": "RUN y"}
    assert explain_miss(new, [], first_build=True, pruned=False) == (
        "no earlier build: the cache is empty"
    )
    assert explain_miss(new, [], first_build=False, pruned=True).startswith(
        "the build cache was pruned"
    )
    assert explain_miss(
        new, [_record({"keyword": "RUN", "text": "RUN x"})], first_build=False, pruned=False
    ) == ("the instruction is new or changed (after the same step, the cache only has `RUN x`)")


def test_generated_files_are_known_without_running():
    """dd of zeros, touch and `seq N | xargs touch` fix their files' bytes (POSIX tools)."""
    effect = run_effect(
        (
            *SH,
            "mkdir /out && cd /out && seq 1 3 | xargs touch && dd if=/dev/zero of=z bs=1M count=2",
        ),
        "/",
    )
    assert not effect.opaque
    assert effect.made == {
        "/out/1": "empty",
        "/out/2": "empty",
        "/out/3": "empty",
        "/out/z": f"zeros-{2 * 1024 * 1024}",
    }
    assert run_effect((*SH, "dd if=/dev/urandom of=/r bs=1M count=1"), "/") == OPAQUE
