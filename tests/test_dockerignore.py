"""The .dockerignore rules, checked against what Engine 20.10.24 sent for each case.

"Observed" below means: a context with these files and this .dockerignore was built on
Engine 20.10.24 (CLI 20.10.24) with BuildKit and with the classic builder, with
`COPY . /ctx/` and `find /ctx -type f`; both builders gave the same files unless noted.
"Docs" means https://docs.docker.com/build/concepts/context/#dockerignore-files.
"""

from __future__ import annotations

import pytest

from cachesim.context.dockerignore import IgnoreRules, IgnoreSyntaxError, go_clean
from cachesim.core.errors import InputError

FILES = [
    ".dockerignore",
    "Dockerfile",
    "a.txt",
    "b.txt",
    "c.txt",
    "a.log",
    "a+b.txt",
    "aab.txt",
    "d/x.log",
    "d/y.txt",
    "d/sub/f.txt",
    "d/sub/g.txt",
    "e/d/z.txt",
    "k/d/keep",
    "p/q/x/f.txt",
    "p/q/x/keep",
]


def excluded(text: str) -> list[str]:
    rules = IgnoreRules.parse(text)
    return sorted(p for p in FILES if rules.excludes(p))


def test_no_file_excludes_nothing():
    """Without a .dockerignore every file is sent."""
    # Docs: the .dockerignore is optional.
    assert IgnoreRules.parse(None).filter(FILES) == FILES
    assert IgnoreRules.parse("").filter(FILES) == FILES


def test_star_stays_in_the_root():
    """`*.log` matches only at the root: `*` does not cross `/`."""
    # Observed (case star_log); docs: "*/temp*" example.
    assert excluded("*.log\n") == ["a.log"]


def test_double_star_matches_any_depth():
    """`**/*.log` matches in every directory, the root included."""
    # Observed (dstar_log); docs: "**" matches any number of directories, including zero.
    assert excluded("**/*.log\n") == ["a.log", "d/x.log"]


def test_directory_excludes_everything_below():
    """A pattern naming a directory excludes its whole tree."""
    # Observed (dir).
    assert excluded("d\n") == ["d/sub/f.txt", "d/sub/g.txt", "d/x.log", "d/y.txt"]


@pytest.mark.parametrize("line", ["d/", "/d", "./d", "d/sub/..", "  d  "])
def test_patterns_are_cleaned_and_rooted(line):
    """Trailing and leading slashes, `.`/`..` and spaces do not change the pattern."""
    # Observed (dir_slash, dir_lead, dot_dirpattern); docs: path.Clean, leading "/" removed.
    assert excluded(line + "\n") == excluded("d\n")


def test_dotdot_pattern_never_matches():
    """`../a.txt` stays outside the context and matches nothing there."""
    # Observed (dot_slash: `./d/sub` + `../a.txt` excluded only d/sub).
    assert excluded("./d/sub\n../a.txt\n") == ["d/sub/f.txt", "d/sub/g.txt"]


def test_dot_matches_nothing():
    """A lone `.` excludes nothing (the root itself is never matched)."""
    # Observed (dot).
    assert excluded(".\n") == []


def test_star_segment_matches_one_directory_level():
    """`*/x.log` matches `d/x.log` only."""
    # Observed (star_slash); docs: "*/temp*" example.
    assert excluded("*/x.log\n") == ["d/x.log"]


def test_question_mark_is_one_character():
    """`?.txt` matches one-letter names only."""
    # Observed (qmark); docs: "temp?" example.
    assert excluded("?.txt\n") == ["a.txt", "b.txt", "c.txt"]


def test_character_class():
    """`[ab].txt` and `[a-b].*` are character classes."""
    # Observed (class, class_range).
    assert excluded("[ab].txt\n") == ["a.txt", "b.txt"]
    assert excluded("[a-b].*\n") == ["a.log", "a.txt", "b.txt"]


def test_bang_inside_a_class_is_not_negation():
    """`[!a].txt` is the set {!, a}: Engine 20.10 matches with a regular expression."""
    # Observed (class_neg): only a.txt excluded.
    assert excluded("[!a].txt\n") == ["a.txt"]


def test_caret_negates_a_class():
    """`[^a].txt` matches one-letter names other than a."""
    # Follows from the regular expression translation observed in class_neg.
    assert excluded("[^a].txt\n") == ["b.txt", "c.txt"]


def test_plus_keeps_its_regex_meaning():
    """`a+b.txt` matches `aab.txt`, not `a+b.txt` (20.10 escapes only `.` and `$`)."""
    # Observed (regex_plus).
    assert excluded("a+b.txt\n") == ["aab.txt"]


def test_alternation_is_unanchored():
    """`a|b*` reads as "starts with a, or ends in a name starting with b"."""
    # Observed (batch 4, ign_alt): app.py, a(b, b.txt, ba excluded; c.txt, src/m.py kept.
    rules = IgnoreRules.parse("a|b*\n")
    paths = ["app.py", "a(b", "b.txt", "ba", "c.txt", "src/m.py", "sy/t.py"]
    assert rules.filter(paths) == ["c.txt", "src/m.py", "sy/t.py"]


def test_double_star_glued_to_text_matches_only_that_name():
    """`**txt` matches a file named `txt` only (20.10; newer patternmatcher differs)."""
    # Observed (suffix_dstar): nothing excluded.
    assert excluded("**txt\n") == []


def test_double_star_matches_zero_directories():
    """`d/**/y.txt` matches `d/y.txt`."""
    # Observed (zero_dirs); docs: "**" includes zero directories.
    assert excluded("d/**/y.txt\n") == ["d/y.txt"]


def test_double_star_in_the_middle():
    """`p/**/f.txt` matches across several directories."""
    # Observed (dstar_mid_dirs).
    assert excluded("p/**/f.txt\n") == ["p/q/x/f.txt"]


def test_trailing_double_star():
    """`d/**` excludes everything below d."""
    # Observed (dir_dstar).
    assert excluded("d/**\n") == ["d/sub/f.txt", "d/sub/g.txt", "d/x.log", "d/y.txt"]


def test_double_star_directory_anywhere():
    """`**/d` excludes every directory named d and its contents."""
    # Observed (dstar_d).
    assert excluded("**/d\n") == [
        "d/sub/f.txt",
        "d/sub/g.txt",
        "d/x.log",
        "d/y.txt",
        "e/d/z.txt",
        "k/d/keep",
    ]


def test_comments_and_blank_lines():
    """Only a `#` in column 1 starts a comment; ` # b.txt` is a pattern that matches nothing."""
    # Observed (comments); docs: "# comment" lines are ignored.
    assert excluded("# a.txt\n  # b.txt\nc.txt   \n\n") == ["c.txt"]


def test_bom_and_crlf():
    """A UTF-8 BOM and Windows line ends are dropped."""
    # moby/patternmatcher ignorefile.ReadAll strips the BOM; Go's line scanner drops "\r".
    assert excluded("\ufeff*.log\r\nc.txt\r\n") == ["a.log", "c.txt"]


def test_last_matching_line_wins():
    """An exception before a broader pattern is overridden by it."""
    # Observed (last_wins, last_wins2); docs: "the last line that matches determines".
    assert "a.txt" in excluded("!a.txt\n*.txt\n")
    assert "a.txt" not in excluded("*.txt\n!a.txt\n")


def test_exception_with_space_after_bang():
    """`! a.txt` is the exception `!a.txt`."""
    # Observed (exc_bang_space).
    assert "a.txt" not in excluded("*.txt\n! a.txt\n")


def test_everything_but_one_file():
    """`*` + `!a.txt` sends only a.txt (the Dockerfile is excluded from COPY too)."""
    # Observed (star_keep).
    assert IgnoreRules.parse("*\n!a.txt\n").filter(FILES) == ["a.txt"]


def test_exception_below_an_excluded_directory():
    """`d` + `!d/y.txt` keeps d/y.txt: the exception names a path inside d."""
    # Observed (dir_except_file).
    assert excluded("d\n!d/y.txt\n") == ["d/sub/f.txt", "d/sub/g.txt", "d/x.log"]


def test_exception_for_a_subdirectory():
    """`d` + `!d/sub` keeps the whole of d/sub."""
    # Observed (dir_except_subdir).
    assert excluded("d\n!d/sub\n") == ["d/x.log", "d/y.txt"]


def test_exception_deep_below():
    """`d` + `!d/sub/f.txt` keeps that one file."""
    # Observed (dir_except_deep).
    assert excluded("d\n!d/sub/f.txt\n") == ["d/sub/g.txt", "d/x.log", "d/y.txt"]


def test_wildcard_exception_cannot_reach_into_an_excluded_directory():
    """`d` + `!**/y.txt` keeps nothing: the walk enters d only for exceptions starting `d/`."""
    # Observed (dir_except_dstar): d/y.txt excluded on both builders.
    assert "d/y.txt" in excluded("d\n!**/y.txt\n")


def test_double_star_pattern_leaks_below_an_entered_directory():
    """`**/x` + `!p/q/x/keep` sends p/q/x/f.txt: the 20.10 parent check misses it."""
    # Observed (dstar_bug, both builders); without the exception (dstar_nobug) it is excluded.
    assert "p/q/x/f.txt" not in excluded("**/x\n!p/q/x/keep\n")
    assert "p/q/x/f.txt" in excluded("**/x\n")


def test_exception_below_double_star_directory():
    """`**/d` + `!e/d/z.txt` keeps e/d/z.txt only."""
    # Observed (dstar_d_except).
    assert "e/d/z.txt" not in excluded("**/d\n!e/d/z.txt\n")
    assert "k/d/keep" in excluded("**/d\n!e/d/z.txt\n")


def test_dockerfile_and_dockerignore_can_be_excluded():
    """Listing them hides them from COPY, though the builder still reads them."""
    # Observed (build_files); docs: "ADD and COPY instructions do not copy them".
    assert excluded("Dockerfile\n.dockerignore\n") == [".dockerignore", "Dockerfile"]


def test_matching_rule_names_the_line():
    """The rule that decides a path carries its line and text for reports."""
    # Docs: last matching line wins; line numbers count comments and blanks.
    rules = IgnoreRules.parse("# logs\n\n*.log\n!keep.log\n")
    rule = rules.matching_rule("a.log")
    assert (rule.line, rule.pattern, rule.exclusion) == (3, "*.log", False)
    assert rule.describe() == ".dockerignore line 3: `*.log`"
    kept = rules.matching_rule("keep.log")
    assert (kept.line, kept.exclusion) == (4, True)
    assert rules.matching_rule("a.txt") is None


def test_matching_rule_of_a_skipped_directory():
    """A file under a skipped directory is excluded by the directory's rule."""
    # Observed (dir_except_dstar): the walk never enters d.
    rules = IgnoreRules.parse("d\n!**/y.txt\n")
    assert rules.matching_rule("d/y.txt").line == 1


def test_exclusion_rule_text_is_kept():
    """An exception keeps its `!` in the text, not in the pattern."""
    # moby/patternmatcher: Pattern.String() is the pattern without "!".
    rule = IgnoreRules.parse("!/d/\n").rules[0]
    assert (rule.pattern, rule.exclusion, rule.text) == ("d", True, "!/d/")


def test_filter_keeps_order():
    """`filter` returns the sent paths in the order given."""
    assert IgnoreRules.parse("*.log").filter(["z.txt", "a.log", "b.txt"]) == ["z.txt", "b.txt"]


def test_bad_class_is_an_input_error():
    """An unterminated `[` fails with the line number and both builders' reasons."""
    # Observed (bad_class): BuildKit and classic messages as asserted.
    with pytest.raises(IgnoreSyntaxError) as info:
        IgnoreRules.parse("ok\n[\n")
    assert isinstance(info.value, InputError)
    assert str(info.value) == ".dockerignore:2: syntax error in pattern `[`"
    assert info.value.buildkit_reason == (
        "error from sender: invalid excludepatterns: [ok []: syntax error in pattern"
    )
    assert info.value.legacy_reason == "error checking context: syntax error in pattern"


def test_bad_pattern_after_a_mismatch_is_still_caught():
    """`x[` is rejected: Go 1.19 checks the whole pattern."""
    # Observed (batch 4, ign_x_bracket).
    with pytest.raises(IgnoreSyntaxError) as info:
        IgnoreRules.parse("x[\n")
    assert info.value.buildkit_reason == (
        "error from sender: invalid excludepatterns: [x[]: syntax error in pattern"
    )


def test_trailing_backslash_is_rejected():
    """A pattern ending in `\\` is a syntax error."""
    # Observed (batch 4, ign_trailing_bs).
    with pytest.raises(IgnoreSyntaxError) as info:
        IgnoreRules.parse("a\\\n")
    assert str(info.value) == ".dockerignore:1: syntax error in pattern `a\\`"


@pytest.mark.parametrize("line", ["a(b", "[b-a]"])
def test_bad_regular_expression_is_rejected(line):
    """Patterns Go's regexp refuses fail while matching, worded differently by BuildKit."""
    # Observed (batch 4, ign_paren, ign_bad_range).
    with pytest.raises(IgnoreSyntaxError) as info:
        IgnoreRules.parse(line + "\n")
    assert info.value.line == 1
    assert info.value.buildkit_reason == (
        "error from sender: failed to match excludepatterns: syntax error in pattern"
    )
    assert info.value.legacy_reason == "error checking context: syntax error in pattern"


def test_lone_bang_is_rejected():
    """A `!` with no pattern is an illegal exclusion."""
    # Observed (bang_alone).
    with pytest.raises(IgnoreSyntaxError) as info:
        IgnoreRules.parse("a.txt\n!\n")
    assert str(info.value) == '.dockerignore:2: illegal exclusion pattern: "!"'
    assert info.value.buildkit_reason == (
        'error from sender: invalid excludepatterns: [a.txt !]: illegal exclusion pattern: "!"'
    )
    assert info.value.legacy_reason == 'error checking context: illegal exclusion pattern: "!"'


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [("", "."), ("a//b/", "a/b"), ("/../a", "/a"), ("../../a", "../../a"), ("a/./b/..", "a")],
)
def test_go_clean(given, cleaned):
    """`go_clean` is Go's path.Clean."""
    # Go documentation of path.Clean.
    assert go_clean(given) == cleaned


def _documented_last_match(rules: IgnoreRules, path: str):
    # Docs: "the last line of the .dockerignore that matches a particular file determines
    # whether it's included or excluded"; each line matched as Rule.matches (observed above).
    last = None
    for rule in rules.rules:
        if rule.matches(path):
            last = rule
    return last


def _documented_decision(rules: IgnoreRules, path: str):
    # The walk (observed: dir_except_file, dir_except_dstar): an excluded folder is skipped
    # unless an exception, read as a string, starts with "folder/".
    parts = path.split("/")
    for k in range(1, len(parts)):
        folder = "/".join(parts[:k])
        rule = _documented_last_match(rules, folder)
        enters = any(
            r.exclusion and (r.pattern + "/").startswith(folder + "/") for r in rules.rules
        )
        if rule is not None and not rule.exclusion and not enters:
            return rule
    return _documented_last_match(rules, path)


PATTERN_PIECES = ["d", "sub", "x", "*", "**", "?", "*.txt", "[ab]*", "a|b*", "k", "y.txt", "q"]


def test_compiled_matcher_follows_the_last_matching_line():
    """The one-pass matcher picks the same deciding line as trying every line in order.

    The matcher compiles all lines into a few alternations; lines whose expression could
    escape its group (`a|b*`) are tried alone. Random files of patterns and paths, each
    decided both ways, must agree line for line.
    """
    import random

    chooser = random.Random(9)
    paths = [*FILES, "a/b", "d/sub/deep/y.txt", "k/d/x", "q/a|b", "ab/k/y.txt", "x/x/x/x"]
    for _ in range(400):
        lines = []
        for _ in range(chooser.randint(1, 8)):
            pattern = "/".join(chooser.choice(PATTERN_PIECES) for _ in range(chooser.randint(1, 3)))
            lines.append(("!" if chooser.random() < 0.35 else "") + pattern)
        rules = IgnoreRules.parse("\n".join(lines))
        for path in paths:
            expected = _documented_decision(rules, path)
            assert rules.matching_rule(path) == expected, (lines, path)
            assert rules.matching_rule(path) is expected  # the same line, asked again


def test_later_exception_beats_earlier_directory_pattern_in_one_pass():
    """`**/__pycache__`, `*.md`, `!README.md`: the exception wins only for README.md."""
    # Docs (the `*.md` + `!README.md` example): "All markdown files right beneath the
    # context directory except README.md are excluded"; a folder line excludes its tree.
    rules = IgnoreRules.parse("**/__pycache__\n*.md\n!README.md\ndocs/\n")
    assert rules.filter(["README.md", "CHANGES.md", "a/__pycache__/m.pyc", "docs/x.md"]) == [
        "README.md"
    ]
    assert rules.matching_rule("CHANGES.md").line == 2
    assert rules.matching_rule("README.md").exclusion
    assert rules.matching_rule("docs/README.md").line == 4  # docs/ is skipped whole
