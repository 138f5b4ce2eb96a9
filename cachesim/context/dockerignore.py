"""The `.dockerignore` rules, as Docker Engine 20.10 applies them to the build context.

Grammar of the file (one pattern a line, https://docs.docker.com/build/concepts/context/
#dockerignore-files, and the reader every builder shares):

    line      := comment | blank | ["!"] pattern
    comment   := "#" ...              only when "#" is the very first character of the line
    pattern   := text trimmed of whitespace (also after "!"), cleaned like Go's
                 path.Clean ("a/../b" -> "b", "d/" -> "d"), one leading "/" removed

A UTF-8 BOM before the first line is dropped. Every pattern is relative to the context
root. The last line that matches a path decides: a plain line excludes it, a "!" line
(an *exception*, ``Rule.exclusion``) includes it again.

What Engine 20.10 really does, checked on the engine (CLI 20.10.24, which sends the
context for both builders with the matcher of docker/docker ``pkg/fileutils``, the
predecessor of moby/patternmatcher), and where it differs from today's patternmatcher:

* A pattern becomes a Go regular expression: ``*`` is ``[^/]*``, ``?`` is ``[^/]``,
  ``**`` is any run of directories (zero included; ``**/`` is the same), only ``.`` and
  ``$`` are escaped. So ``[!a]`` is the set {``!``, ``a``} (negation is ``[^a]``),
  ``a+b.txt`` matches ``aab.txt`` and not ``a+b.txt``, ``a|b*`` means "starts with a,
  or ends in a name starting with b", and ``**txt`` matches only a file named ``txt``.
* A path also matches when the pattern matches its *first k directories*, k being the
  number of segments in the pattern: ``d`` excludes ``d/y.txt``, ``d/*`` excludes
  ``d/sub/f.txt``. Because ``**/x`` has two segments, it matches ``p/q/x`` but not
  the file ``p/q/x/f.txt`` by that rule.
* The context is walked: an excluded directory is skipped whole, unless some exception
  pattern, read as a string, starts with ``that/dir/``. Then its children are matched one
  by one. So ``d`` + ``!d/y.txt`` keeps ``d/y.txt``, but ``d`` + ``!**/y.txt`` keeps
  nothing; and ``**/x`` + ``!p/q/x/keep`` *keeps* ``p/q/x/f.txt`` (the walk descends,
  and the file alone no longer matches ``**/x``).

The Dockerfile and the .dockerignore themselves are matched like any file: the builder
still reads them, but ``COPY``/``ADD`` cannot see them when a line excludes them.

A bad pattern fails the build; both builders word it (Engine 20.10.24):
  BuildKit: ``error from sender: invalid excludepatterns: [ok []: syntax error in pattern``
            (a pattern Go's regexp rejects, such as ``a(b`` or ``[b-a]``:
            ``error from sender: failed to match excludepatterns: syntax error in pattern``)
  classic:  ``error checking context: syntax error in pattern``
BuildKit only reports it when a step reads the context; the classic builder always does.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

from cachesim.core.errors import InputError

IGNORE_FILE = ".dockerignore"

# What Go's strings.TrimSpace removes (unicode.IsSpace); Python's str.strip() also strips
# \x1c-\x1f, which Go keeps.
_GO_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
)


def go_clean(path: str) -> str:
    """Go's ``path.Clean``: the shortest path naming the same file, lexically."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
        else:
            parts.append(seg)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def go_pattern_is_valid(pattern: str) -> bool:
    """Whether Go's ``filepath.Match`` accepts ``pattern`` (Go 1.19 checks all of it).

    Only two things are errors: a backslash at the end, and a malformed character class
    (unterminated, empty, or with a range missing an end).
    """
    i, n = 0, len(pattern)

    def esc(j: int) -> int | None:
        # One class character, maybe escaped; None when the class is malformed here.
        if j >= n or pattern[j] in "-]":
            return None
        if pattern[j] == "\\":
            j += 1
            if j >= n:
                return None
        j += 1
        return None if j >= n else j

    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                return False
            i += 2
        elif ch == "[":
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            nrange = 0
            while True:
                if i < n and pattern[i] == "]" and nrange > 0:
                    i += 1
                    break
                nxt = esc(i)
                if nxt is None:
                    return False
                i = nxt
                if pattern[i] == "-":
                    nxt = esc(i + 1)
                    if nxt is None:
                        return False
                    i = nxt
                nrange += 1
        else:
            i += 1
    return True


def _regex_body(pattern: str, capture: bool = True) -> str:
    """The Go regular expression Engine 20.10 builds from a cleaned pattern, without its
    anchors; ``capture`` False writes the ``**/`` group as non-capturing (for the combined
    matcher, whose group numbers must name rules)."""
    out = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(.*/)?" if capture else "(?:.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch in ".$":
            out.append("\\" + ch)
        elif ch == "\\":
            # Escapes the next character; a lone trailing one never gets here (invalid).
            if i < n:
                out.append("\\" + pattern[i])
                i += 1
        else:
            out.append(ch)  # +, (, |, {, [ ... keep their regex meaning, as in 20.10
    return "".join(out)


def _regex_source(pattern: str) -> str:
    """The Go regular expression Engine 20.10 builds from a cleaned pattern."""
    # Go's `$` is the end of the text; Python's would also match before a final newline.
    return "^" + _regex_body(pattern) + r"\Z"


# Characters that let a pattern's regular expression reach outside a group of an
# alternation (``|``), number groups or refer back to them (``(``, ``)``, ``\``), or anchor
# inside it (``^``): such a rule is matched on its own, never in the combined expression.
_OWN_REGEX = frozenset("\\()|^{}")


@dataclass(frozen=True, slots=True)
class Rule:
    """One pattern line of a .dockerignore.

    ``pattern`` is the cleaned pattern without its "!"; ``exclusion`` is True for a "!"
    line (patternmatcher's word: an exception that includes paths again).
    """

    line: int
    pattern: str
    exclusion: bool
    text: str  # the line as written, trimmed
    _regex: re.Pattern[str] = field(repr=False, compare=False, hash=False)

    @property
    def depth(self) -> int:
        """How many path segments the pattern has: it also matches that many parent dirs."""
        return self.pattern.count("/") + 1

    def matches_exactly(self, path: str) -> bool:
        """Whether the pattern's regular expression matches ``path`` itself."""
        return self._regex.search(path) is not None

    def matches(self, path: str) -> bool:
        """Whether ``path`` matches, itself or through its first ``depth`` directories."""
        if self.matches_exactly(path):
            return True
        parents = path.split("/")[:-1]
        if parents and self.depth <= len(parents):
            return self.matches_exactly("/".join(parents[: self.depth]))
        return False

    def describe(self) -> str:
        """``.dockerignore line 3: `*.log```, for reports."""
        return f"{IGNORE_FILE} line {self.line}: `{self.text}`"


class IgnoreSyntaxError(InputError):
    """A .dockerignore line that the engine rejects; carries both builders' reasons."""

    def __init__(self, message: str, line: int, buildkit_reason: str, legacy_reason: str):
        super().__init__(message, file=IGNORE_FILE, line=line)
        self.buildkit_reason = buildkit_reason
        self.legacy_reason = legacy_reason


_LEGACY_SYNTAX = "error checking context: syntax error in pattern"


class _Matcher:
    """Every rule of a .dockerignore compiled into a few regular expressions, so that the
    last rule matching a path is found in one pass instead of one regex per rule.

    A rule matches a path when its expression matches the path, or its first ``depth``
    segments (``Rule.matches``). So there is one expression over all rules for the whole
    path, and one per depth for the path's first ``depth`` directories. Each is an
    alternation of the rules in *reverse* file order, one group a rule, anchored at both
    ends: Python tries alternatives in order and returns the first that matches the whole
    text, so the group that matched names the last matching rule, as Docker's "the last
    line that matches decides" wants. Rules whose expression could leak out of its group
    (``_OWN_REGEX``) are tried one by one, and only when they come after the best so far.
    """

    def __init__(self, rules: tuple[Rule, ...]):
        self.rules = rules
        combined = [i for i, r in enumerate(rules) if not _OWN_REGEX & set(r.pattern)]
        self.own = [i for i in range(len(rules)) if i not in set(combined)]
        self.whole = self._compile(combined)
        depths = sorted({rules[i].depth for i in combined})
        self.by_depth = [
            (d, self._compile([i for i in combined if rules[i].depth == d])) for d in depths
        ]

    def _compile(self, indexes: list[int]) -> tuple[re.Pattern[str], list[int]] | None:
        if not indexes:
            return None
        order = indexes[::-1]
        body = "|".join(f"({_regex_body(self.rules[i].pattern, capture=False)})" for i in order)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Python's FutureWarning on "[["
            return re.compile(f"(?:{body})\\Z"), [-1, *order]

    def last(self, path: str) -> int:
        """The index of the last rule that matches ``path`` (itself or its first dirs), -1
        when none does."""
        best = -1
        if self.whole is not None:
            found = self.whole[0].match(path)
            if found:
                best = self.whole[1][found.lastindex]
        parents = path.count("/")
        if parents:
            parts = path.split("/")
            for depth, (regex, names) in self.by_depth:
                if depth > parents:
                    break
                found = regex.match("/".join(parts[:depth]))
                if found and names[found.lastindex] > best:
                    best = names[found.lastindex]
        for i in reversed(self.own):
            if i <= best:
                break
            if self.rules[i].matches(path):
                return i
        return best


@dataclass(frozen=True, slots=True)
class IgnoreRules:
    """The rules of one .dockerignore, in file order; empty means nothing is ignored.

    ``_memo`` holds the compiled matcher and, per directory, the rule that made the walk
    skip it (None: the walk enters it): both are functions of ``rules`` alone, worked out
    once (a replay asks about every path of thousands of commits)."""

    rules: tuple[Rule, ...] = ()
    _memo: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @classmethod
    def parse(cls, text: str | None) -> IgnoreRules:
        """Read .dockerignore text; raise ``IgnoreSyntaxError`` on a pattern Docker rejects."""
        if not text:
            return cls()
        raw: list[tuple[int, str, str]] = []  # (line, pattern as the reader gives it, text)
        for number, line in enumerate(text.split("\n"), start=1):
            if number == 1:
                line = line.removeprefix("\ufeff")
            line = line.removesuffix("\r")
            if line.startswith("#"):
                continue
            stripped = line.strip(_GO_SPACE)
            if not stripped:
                continue
            invert = stripped.startswith("!")
            pattern = stripped[1:].strip(_GO_SPACE) if invert else stripped
            if pattern:
                pattern = go_clean(pattern)
                if len(pattern) > 1 and pattern.startswith("/"):
                    pattern = pattern[1:]
            raw.append((number, "!" + pattern if invert else pattern, stripped))
        listed = " ".join(p for _, p, _ in raw)
        rules = []
        for number, given, stripped in raw:
            pattern = go_clean(given)  # the matcher cleans once more, "!" included
            exclusion = pattern.startswith("!")
            if exclusion:
                if len(pattern) == 1:
                    reason = 'illegal exclusion pattern: "!"'
                    raise IgnoreSyntaxError(
                        reason,
                        number,
                        f"error from sender: invalid excludepatterns: [{listed}]: {reason}",
                        f"error checking context: {reason}",
                    )
                pattern = pattern[1:]
            if not go_pattern_is_valid(pattern):
                raise IgnoreSyntaxError(
                    f"syntax error in pattern `{stripped}`",
                    number,
                    f"error from sender: invalid excludepatterns: [{listed}]: "
                    "syntax error in pattern",
                    _LEGACY_SYNTAX,
                )
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # Python's FutureWarning on "[["
                    regex = re.compile(_regex_source(pattern))
            except re.error as e:
                raise IgnoreSyntaxError(
                    f"syntax error in pattern `{stripped}` (as a regular expression: {e})",
                    number,
                    "error from sender: failed to match excludepatterns: syntax error in pattern",
                    _LEGACY_SYNTAX,
                ) from e
            rules.append(Rule(number, pattern, exclusion, stripped, regex))
        return cls(tuple(rules))

    @property
    def has_exceptions(self) -> bool:
        """Whether any "!" line exists: only then does the walk enter excluded directories."""
        return any(r.exclusion for r in self.rules)

    def _last_match(self, path: str) -> Rule | None:
        # fileutils' Matches: every rule is tried, the last one that matches decides.
        matcher = self._memo.get("matcher")
        if matcher is None:
            matcher = self._memo["matcher"] = _Matcher(self.rules)
        index = matcher.last(path)
        return self.rules[index] if index >= 0 else None

    def _enters(self, directory: str) -> bool:
        # The walk enters an excluded directory only when an exception, read as a plain
        # string, starts with "directory/".
        exceptions = self._memo.get("exceptions")
        if exceptions is None:
            exceptions = self._memo["exceptions"] = tuple(
                r.pattern + "/" for r in self.rules if r.exclusion
            )
        prefix = directory + "/"
        return any(e.startswith(prefix) for e in exceptions)

    def _skipped_by(self, directory: str) -> Rule | None:
        """The rule that made the walk skip ``directory`` or a folder above it, if any."""
        skips = self._memo.setdefault("skips", {})
        if directory in skips:
            return skips[directory]
        parent = directory.rpartition("/")[0]
        rule = self._skipped_by(parent) if parent else None
        if rule is None:
            rule = self._last_match(directory)
            if rule is not None and (rule.exclusion or self._enters(directory)):
                rule = None
        skips[directory] = rule
        return rule

    def matching_rule(self, path: str) -> Rule | None:
        """The rule that decides ``path``: excluded when it is not an exception, None if none.

        ``path`` is a context-relative POSIX path of a file or a directory.
        """
        if not self.rules:
            return None
        path = go_clean(path)
        parent = path.rpartition("/")[0]
        if parent:
            rule = self._skipped_by(parent)
            if rule is not None:
                return rule  # the walk skipped a directory above the path
        return self._last_match(path)

    def excludes(self, path: str) -> bool:
        """Whether the engine leaves ``path`` out of the context that COPY and ADD see."""
        rule = self.matching_rule(path)
        return rule is not None and not rule.exclusion

    def filter(self, paths: Iterable[str]) -> list[str]:
        """The paths the engine sends, in the given order."""
        return [p for p in paths if not self.excludes(p)]
