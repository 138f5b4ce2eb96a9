"""What COPY/ADD sources select, checked against Engine 20.10.24.

"Observed" means: the context below (plus the Dockerfile) with `.dockerignore`
`ign.txt`, `sx/*` was built on Engine 20.10.24 with BuildKit ("bk") and the classic
builder, running `RUN mkdir /w`, the COPY shown, then `find /w`; error texts are the
last line the CLI printed. Names in brackets are the probe cases.
"""

from __future__ import annotations

import pytest

from cachesim.builders import registry
from cachesim.context.dockerignore import IgnoreRules
from cachesim.context.selection import (
    BUILDKIT_MOUNT,
    BUILDKIT_SNAPSHOT,
    ContextTree,
    SourceError,
    destination_paths,
    go_match,
    has_wildcards,
    select,
)

FILES = [
    "Dockerfile",
    "app.py",
    "b.txt",
    "c.txt",
    "ign.txt",
    "src/m.py",
    "src/n.py",
    "src/sub/o.py",
    "src/sub/p.txt",
    "lib/q.py",
    "docs/r.md",
    "sx/s.py",
]
RULES = IgnoreRules.parse("ign.txt\nsx/*\n")
TREE = ContextTree.build(FILES, RULES)
BOTH = ["buildkit", "legacy"]


def rules(builder: str):
    """The COPY source rules the builder of that name follows."""
    return registry.builder(builder).source_rules


SEVERAL = (
    "When using COPY with more than one source file, the destination must be a directory "
    "and end with a /"
)


def copy(sources: str, dest: str, builder: str, workdir: str = "/", **kw) -> list[str]:
    """Image paths of the files `COPY <sources> <dest>` makes."""
    selections = [select(TREE, s, source_rules=rules(builder)) for s in sources.split()]
    placed = destination_paths(selections, dest, workdir, source_rules=rules(builder), **kw)
    return sorted(where for _, where in placed)


def reason(sources: str, dest: str, builder: str, instruction: str = "COPY") -> str:
    with pytest.raises(SourceError) as info:
        selections = [
            select(TREE, s, source_rules=rules(builder), instruction=instruction)
            for s in sources.split()
        ]
        destination_paths(selections, dest, source_rules=rules(builder), instruction=instruction)
    return info.value.reason


@pytest.mark.parametrize("builder", BOTH)
@pytest.mark.parametrize("source", [".", "./", "/"])
def test_root_copies_the_whole_context(builder, source):
    """`.`, `./` and `/` copy every file that .dockerignore leaves."""
    # Observed (dot, dotslash, root).
    assert copy(source, "/w/", builder) == [
        "/w/Dockerfile",
        "/w/app.py",
        "/w/b.txt",
        "/w/c.txt",
        "/w/docs/r.md",
        "/w/lib/q.py",
        "/w/src/m.py",
        "/w/src/n.py",
        "/w/src/sub/o.py",
        "/w/src/sub/p.txt",
    ]


@pytest.mark.parametrize("builder", BOTH)
@pytest.mark.parametrize("source", ["src", "src/"])
def test_directory_copies_its_contents(builder, source):
    """A directory source copies what is inside it, not the directory."""
    # Observed (dir, dir_slash); docs: "The directory itself is not copied".
    assert copy(source, "/w/", builder) == ["/w/m.py", "/w/n.py", "/w/sub/o.py", "/w/sub/p.txt"]


@pytest.mark.parametrize("builder", BOTH)
def test_directory_to_destination_without_slash(builder):
    """`COPY src /w/x` makes /w/x a directory holding src's contents."""
    # Observed (dir_noslash_dest).
    assert copy("src", "/w/x", builder) == [
        "/w/x/m.py",
        "/w/x/n.py",
        "/w/x/sub/o.py",
        "/w/x/sub/p.txt",
    ]


@pytest.mark.parametrize("builder", BOTH)
def test_file_keeps_its_name_in_a_directory(builder):
    """`COPY app.py /w/` makes /w/app.py."""
    # Observed (file).
    selection = select(TREE, "app.py", source_rules=rules(builder))
    assert selection.is_single_file and not selection.is_dir_source
    assert selection.files == (("app.py", "app.py"),)
    assert copy("app.py", "/w/", builder) == ["/w/app.py"]


@pytest.mark.parametrize("builder", BOTH)
def test_file_to_destination_without_slash_is_renamed(builder):
    """`COPY app.py /w/x` makes the file /w/x."""
    # Observed (file_noslash).
    assert copy("app.py", "/w/x", builder) == ["/w/x"]


@pytest.mark.parametrize("builder", BOTH)
def test_file_into_existing_directory(builder):
    """`COPY app.py /w` puts the file inside /w when /w is a directory."""
    # Observed (into_existing_dir).
    assert copy("app.py", "/w", builder, dest_is_dir=True) == ["/w/app.py"]


@pytest.mark.parametrize("builder", BOTH)
@pytest.mark.parametrize(("dest", "expected"), [(".", "/w/app.py"), ("x/", "/w/x/app.py")])
def test_relative_destination_follows_workdir(builder, dest, expected):
    """A relative destination is under WORKDIR; `.` is the working directory itself."""
    # Observed (dest_dot, dest_rel) with `WORKDIR /w`.
    assert copy("app.py", dest, builder, workdir="/w") == [expected]


@pytest.mark.parametrize("builder", BOTH)
@pytest.mark.parametrize("source", ["/app.py", "./src/m.py", "src/sub/../m.py", "app.py/"])
def test_source_paths_are_cleaned(builder, source):
    """A leading `/` or `./`, `..` inside the context and a trailing `/` are harmless."""
    # Observed (abs, dot_file, clean, dotdot_inside, file_trailing_slash_src).
    assert len(copy(source, "/w/", builder)) == 1


@pytest.mark.parametrize("builder", BOTH)
def test_glob_copies_each_match(builder):
    """`*.txt` copies b.txt and c.txt; the ignored ign.txt is not there."""
    # Observed (glob).
    assert copy("*.txt", "/w/", builder) == ["/w/b.txt", "/w/c.txt"]


@pytest.mark.parametrize("builder", BOTH)
def test_glob_in_a_directory(builder):
    """`src/*.py` matches in src only, not in src/sub."""
    # Observed (glob_in_dir).
    assert copy("src/*.py", "/w/", builder) == ["/w/m.py", "/w/n.py"]


@pytest.mark.parametrize("builder", BOTH)
def test_glob_matching_a_directory_pours_its_contents(builder):
    """`src/*` copies src/sub's files straight into the destination."""
    # Observed (glob_matches_dir).
    assert copy("src/*", "/w/", builder) == ["/w/m.py", "/w/n.py", "/w/o.py", "/w/p.txt"]


@pytest.mark.parametrize("builder", BOTH)
def test_star_mixes_files_and_directory_contents(builder):
    """`COPY * /w/` copies root files by name and each directory's contents."""
    # Observed (star).
    assert copy("*", "/w/", builder) == [
        "/w/Dockerfile",
        "/w/app.py",
        "/w/b.txt",
        "/w/c.txt",
        "/w/m.py",
        "/w/n.py",
        "/w/q.py",
        "/w/r.md",
        "/w/sub/o.py",
        "/w/sub/p.txt",
    ]


@pytest.mark.parametrize("builder", BOTH)
def test_double_star_is_a_single_star(builder):
    """`**/*.py` matches exactly one directory level down (Go's filepath.Match)."""
    # Observed (dstar): src/sub/o.py and app.py are not copied.
    assert copy("**/*.py", "/w/", builder) == ["/w/m.py", "/w/n.py", "/w/q.py"]


@pytest.mark.parametrize("builder", BOTH)
def test_star_in_the_middle(builder):
    """`src/*/o.py` matches src/sub/o.py."""
    # Observed (star_mid).
    assert copy("src/*/o.py", "/w/", builder) == ["/w/o.py"]


@pytest.mark.parametrize("builder", BOTH)
@pytest.mark.parametrize(("source", "expected"), [("a?p.py", 1), ("[ab]*", 2)])
def test_question_mark_and_class_in_sources(builder, source, expected):
    """`?` and `[...]` work in sources."""
    # Observed (qmark, class).
    assert len(copy(source, "/w/", builder)) == expected


@pytest.mark.parametrize("builder", BOTH)
def test_glob_with_one_file_to_destination_without_slash(builder):
    """A glob matching one file renames it like a plain file."""
    # Observed (glob_single_noslash).
    assert copy("app.p?", "/w/x", builder) == ["/w/x"]


@pytest.mark.parametrize("builder", BOTH)
def test_directory_whose_files_are_all_ignored_is_empty(builder):
    """`sx` is still in the context (only `sx/*` is ignored), so COPY copies nothing."""
    # Observed (dir_all_ignored).
    assert copy("sx", "/w/", builder) == []


def test_reincluded_file_below_an_ignored_directory():
    """With `d` + `!d/y.txt`, `COPY d` finds d and copies y.txt only."""
    # Observed (reincluded_dir), both builders.
    tree = ContextTree.build(["d/x.log", "d/y.txt"], IgnoreRules.parse("d\n!d/y.txt\n"))
    for builder in BOTH:
        assert select(tree, "d", source_rules=rules(builder)).files == (("d/y.txt", "y.txt"),)


def test_two_directories_merge():
    """`COPY src lib /w/` merges both directories' contents."""
    # Observed (two_dirs), both builders.
    for builder in BOTH:
        assert copy("src lib", "/w/", builder) == [
            "/w/m.py",
            "/w/n.py",
            "/w/q.py",
            "/w/sub/o.py",
            "/w/sub/p.txt",
        ]


def test_buildkit_reads_dotdot_as_the_context_root():
    """BuildKit joins the source with `/`, so `../app.py` is /app.py of the context."""
    # Observed (dotdot, dot_dotdot, dotdot_deep): bk copies /w/app.py.
    assert copy("../app.py", "/w/", "buildkit") == ["/w/app.py"]
    assert copy("src/../../app.py", "/w/", "buildkit") == ["/w/app.py"]


@pytest.mark.parametrize(
    ("source", "shown"),
    [("../app.py", "../app.py"), ("./../app.py", "../app.py"), ("..", "..")],
)
def test_legacy_forbids_paths_outside_the_context(source, shown):
    """The classic builder rejects a source that leaves the context."""
    # Observed (dotdot, dot_dotdot, dotdot_dir): the "()" is part of the message.
    assert reason(source, "/w/", "legacy") == (
        f"COPY failed: forbidden path outside the build context: {shown} ()"
    )


def test_legacy_forbidden_path_keeps_the_source_as_written():
    """`src/../../app.py` is named as written."""
    # Observed (batch 4, dotdot_deep).
    assert reason("src/../../app.py", "/w/", "legacy") == (
        "COPY failed: forbidden path outside the build context: src/../../app.py ()"
    )


@pytest.mark.parametrize(
    ("source", "absolute"),
    [
        ("missing.txt", "/missing.txt"),
        ("./missing.txt", "/missing.txt"),
        ("/missing.txt", "/missing.txt"),
        ("src/../missing.txt", "/missing.txt"),
        ("src/missing.py", "/src/missing.py"),
        ("../nothing", "/nothing"),
        ("nodir/", "/nodir"),
        ("ign.txt", "/ign.txt"),
        ("sx/s.py", "/sx/s.py"),
    ],
)
def test_buildkit_not_found(source, absolute):
    """A missing or ignored source fails BuildKit's cache key with the cleaned path."""
    # Observed (missing, dot_missing, abs_missing, clean_missing, sub_missing,
    # dotdot_missing, dir_missing_slash, ignored, ignored_dir_file).
    assert reason(source, "/w/", "buildkit") == (
        f'failed to compute cache key: "{absolute}" not found: not found'
    )


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("missing.txt", "missing.txt"),
        ("./missing.txt", "missing.txt"),
        ("/missing.txt", "missing.txt"),
        ("src/../missing.txt", "src/../missing.txt"),
        ("nodir/", "nodir/"),
        ("ign.txt", "ign.txt"),
    ],
)
def test_legacy_not_found(source, shown):
    """A missing or ignored source: the classic builder names it as written, minus `/`, `./`."""
    # Observed (missing, dot_missing, abs_missing, clean_missing, dir_missing_slash, ignored).
    assert reason(source, "/w/", "legacy") == (
        "COPY failed: file not found in build context or excluded by .dockerignore: "
        f"stat {shown}: file does not exist"
    )


def test_legacy_add_not_found():
    """ADD words it with ADD."""
    # Observed (add_missing).
    assert reason("missing.txt", "/w/", "legacy", "ADD") == (
        "ADD failed: file not found in build context or excluded by .dockerignore: "
        "stat missing.txt: file does not exist"
    )


def test_ignored_dockerfile_is_not_found():
    """A Dockerfile listed in .dockerignore cannot be copied."""
    # Observed (ignored_dockerfile), both builders.
    tree = ContextTree.build(["Dockerfile", "app.py"], IgnoreRules.parse("Dockerfile\n"))
    with pytest.raises(SourceError) as info:
        select(tree, "Dockerfile")
    assert info.value.reason == 'failed to compute cache key: "/Dockerfile" not found: not found'
    assert info.value.failure(3).line == 3


def test_first_missing_source_is_reported():
    """With several sources, the first missing one stops the step."""
    # Observed (multi_one_missing), both builders.
    assert reason("app.py missing.txt", "/w/", "buildkit") == (
        'failed to compute cache key: "/missing.txt" not found: not found'
    )


@pytest.mark.parametrize("source", ["*.nothing", "src/*/none", "a["])
def test_buildkit_allows_an_empty_glob(source):
    """A glob matching nothing (even a malformed one) copies nothing, without error."""
    # Observed (glob_none, missing_in_glob_dir, batch 5 bad_glob).
    assert copy(source, "/w/", "buildkit") == []


@pytest.mark.parametrize("source", ["*.nothing", "src/*/none", "nodir/*.py", "a[", "app.py/*"])
def test_legacy_rejects_no_source_files(source):
    """The classic builder fails when the instruction's globs match nothing at all."""
    # Observed (glob_none, missing_in_glob_dir, glob_nodir, batch 5 bad_glob, glob_under_file).
    assert reason(source, "/w/", "legacy") == "COPY failed: no source files were specified"


def test_legacy_empty_glob_with_another_source_is_fine():
    """`COPY *.nothing app.py /w/` copies app.py on both builders."""
    # Observed (glob_none_plus).
    for builder in BOTH:
        assert copy("*.nothing app.py", "/w/", builder) == ["/w/app.py"]


def test_legacy_add_no_source_files():
    """ADD words it with ADD."""
    # Observed (batch 4, add_none).
    assert reason("*.nothing", "/w/", "legacy", "ADD") == (
        "ADD failed: no source files were specified"
    )


def test_buildkit_glob_under_a_missing_directory():
    """`nodir/*.py` fails when the copy runs, naming a temporary mount."""
    # Observed (glob_nodir): "lstat /tmp/eng-ignoresel/root/tmp/buildkit-mount3560784275/nodir:
    # no such file or directory"; the mount path is random, BUILDKIT_MOUNT stands for it.
    assert reason("nodir/*.py", "/w/", "buildkit") == (
        f"lstat {BUILDKIT_MOUNT}/nodir: no such file or directory"
    )


def test_buildkit_glob_under_a_file():
    """`app.py/*` fails while the context is sent."""
    # Observed (batch 5, glob_under_file).
    assert reason("app.py/*", "/w/", "buildkit") == (
        "error from sender: readdir: readdirent app.py: not a directory"
    )


@pytest.mark.parametrize(
    ("sources", "dest"),
    [("app.py b.txt", "/w/x"), ("*.txt", "/w/x"), ("*.txt", "/w"), ("b.txt c.txt", ".")],
)
def test_legacy_several_sources_need_a_slash(sources, dest):
    """Several sources, or a glob matching several, need a destination ending in `/`."""
    # Observed (multi_noslash, glob_multi_noslash, glob_into_existing_dir, multi_dot).
    assert reason(sources, dest, "legacy") == SEVERAL


def test_legacy_glob_matching_two_directories_needs_a_slash():
    """Each matched directory counts as one source."""
    # Observed (batch 4, two_dirs_glob_noslash, with src/ and sy/ in the context).
    tree = ContextTree.build(["src/m.py", "sy/t.py"])
    selections = [select(tree, "s*", source_rules=rules("legacy"))]
    with pytest.raises(SourceError) as info:
        destination_paths(selections, "/w/x", source_rules=rules("legacy"))
    assert info.value.reason == SEVERAL
    placed = destination_paths([select(tree, "s*")], "/w/x")
    assert [w for _, w in placed] == ["/w/x/m.py", "/w/x/t.py"]


def test_legacy_add_several_sources():
    """ADD words it with ADD."""
    # Observed (batch 4, add_multi).
    assert reason("b.txt c.txt", "/w/x", "legacy", "ADD") == (
        "When using ADD with more than one source file, the destination must be a directory "
        "and end with a /"
    )


def test_buildkit_several_files_to_one_path_last_wins():
    """BuildKit copies each file to /w/x in turn: the last one stays."""
    # Observed (multi_noslash: /w/x holds b.txt; glob_multi_noslash: /w/x holds c.txt).
    selections = [select(TREE, s) for s in ("app.py", "b.txt")]
    assert destination_paths(selections, "/w/x") == (("b.txt", "/w/x"),)
    assert destination_paths([select(TREE, "*.txt")], "/w/x") == (("c.txt", "/w/x"),)


def test_buildkit_several_sources_to_dot():
    """`COPY b.txt c.txt .` works with BuildKit: `.` counts as a directory."""
    # Observed (batch 4, multi_dot, glob_dot).
    assert copy("b.txt c.txt", ".", "buildkit", workdir="/w") == ["/w/b.txt", "/w/c.txt"]


def test_buildkit_file_after_directory_goes_inside():
    """`COPY src app.py /w/x`: src makes /w/x a directory, app.py lands inside it."""
    # Observed (batch 5, dir_then_file_noslash).
    assert copy("src app.py", "/w/x", "buildkit") == [
        "/w/x/app.py",
        "/w/x/m.py",
        "/w/x/n.py",
        "/w/x/sub/o.py",
        "/w/x/sub/p.txt",
    ]


def test_buildkit_directory_after_file_fails():
    """`COPY app.py src /w/x`: /w/x is a file by then."""
    # Observed (batch 5, file_then_dir_noslash): "cannot copy to non-directory:
    # /tmp/eng-ignoresel/root/vfs/dir/<random>/w/x"; BUILDKIT_SNAPSHOT stands for the prefix.
    assert reason("app.py src", "/w/x", "buildkit") == (
        f"cannot copy to non-directory: {BUILDKIT_SNAPSHOT}/w/x"
    )


def test_selection_shape_of_a_glob():
    """A glob selection lists each match, a matched directory with its files."""
    # Observed (glob_top_dir): `s*` matches src (sx is empty but present).
    selection = select(TREE, "s*")
    assert selection.is_glob and not selection.is_single_file
    assert [(m.path, m.is_dir) for m in selection.matches] == [("src", True), ("sx", True)]
    assert selection.matches[0].dirs == ("sub",)
    assert selection.files[0] == ("src/m.py", "m.py")


def test_select_accepts_plain_paths():
    """`select` builds the context tree itself from paths and rules."""
    assert select(FILES, "*.txt", RULES).files == (("b.txt", "b.txt"), ("c.txt", "c.txt"))


def test_tree_keeps_directory_of_ignored_files():
    """The tree has `sx` (not ignored itself) but no file in it."""
    # Observed (dot: /w/sx exists and is empty).
    assert "sx" in TREE.dirs and "sx/s.py" not in TREE.files


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("*.py", "a.py", True),
        ("*.py", "a/b.py", False),
        ("[!a]", "!", True),
        ("[^a]", "b", True),
        ("[^a]", "a", False),
        ("[a-c]x", "bx", True),
        ("\\*", "*", True),
        ("a[", "a[", False),
    ],
)
def test_go_match(pattern, name, expected):
    """`go_match` is Go's filepath.Match (no `!` negation; bad patterns match nothing)."""
    # Go documentation of path/filepath.Match.
    assert go_match(pattern, name) is expected


@pytest.mark.parametrize(
    ("source", "expected"), [("a*", True), ("a?", True), ("[ab]", True), ("a\\*", False)]
)
def test_has_wildcards(source, expected):
    """Only unescaped `*`, `?`, `[` make a glob."""
    assert has_wildcards(source) is expected
