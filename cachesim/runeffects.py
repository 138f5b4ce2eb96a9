"""What a simple RUN writes, when it can be read off the command without running it.

``COPY --from=stage`` is cached by the content of what it copies (docs/engine-findings.md
#11b: a builder stage re-ran, wrote a byte-identical file, and the later COPY stayed
CACHED on both engines). To predict that, the simulator must know what a RUN wrote. For
most commands it cannot, and assumes the output changes whenever the RUN's inputs do.
For a chain of trivial commands it can: ``echo``/``printf`` of literal text redirected to
a file, ``mkdir``, ``touch`` of a new file, joined by ``&&`` or ``;``. Then the files are
known exactly, and a rebuild that writes the same bytes is seen as the same content.

Grammar accepted (anything else returns None)::

    chain   := simple ( ("&&" | ";") simple )*
    simple  := "echo" ["-n"] WORD* (">" | ">>") PATH
             | "mkdir" ["-p"] PATH+ | "cd" PATH | "cp" SRC DST | "true" | ":"
             | "dd" if=/dev/zero of=PATH bs=N count=N | "touch" PATH+
             | "seq" [A] N "|" "xargs" "touch"
             | any other command: *opaque*, it may write anything; files an echo writes
               after the last opaque command are still known exactly
    WORD    := text without $ ` \\ | < ( ) * ? [ quotes-balanced
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

_UNSAFE = re.compile(r"[`\\<(){}*?\[\]]")


@dataclass(frozen=True, slots=True)
class RunEffect:
    """What a RUN is known to leave behind.

    ``writes`` are files whose final bytes are known (written by ``echo`` after the last
    command that could not be read); ``opaque`` says some command could have written
    anything, anywhere.
    """

    writes: dict[str, bytes]
    opaque: bool
    copies: tuple[tuple[str, str], ...] = ()  # `cp SRC DST` after the last opaque command
    made: dict[str, str] = field(default_factory=dict)  # path -> digest: dd of zeros, touch


OPAQUE = RunEffect({}, True)


def run_effect(command: tuple[str, ...], workdir: str) -> RunEffect:
    """Read a shell-form RUN's effect off its text (``OPAQUE`` when it cannot be read)."""
    if len(command) != 3 or command[:2] != ("/bin/sh", "-c"):
        return OPAQUE
    script = command[2]
    if _UNSAFE.search(script) or "\n" in script:
        return OPAQUE
    try:
        lexer = shlex.shlex(script, posix=True, punctuation_chars=";&>|")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return OPAQUE
    chain = _split(tokens)
    if any(simple is None for simple in chain):
        return OPAQUE
    writes: dict[str, bytes] = {}
    copies: list[tuple[str, str]] = []
    made: dict[str, str] = {}
    opaque = False
    cwd = workdir or "/"
    for simple in chain:
        assert simple is not None
        if simple[0] == "cd" and len(simple) == 2 and "$" not in simple[1]:
            cwd = posixpath.normpath(posixpath.join(cwd, simple[1]))
        elif simple[0] == "cp" and len(simple) == 3 and not simple[1].startswith("-"):
            if writes:  # keep the order of writes and copies simple: give up
                return OPAQUE
            src, dst = (posixpath.join(cwd, p) for p in simple[1:])
            copies.append(
                (posixpath.normpath(src), dst if dst.endswith("/") else posixpath.normpath(dst))
            )
        elif _generated(simple, cwd, made):
            continue
        elif not _simple(simple, cwd, writes):
            opaque = True
            # an unreadable command may have rewritten what came before
            writes, copies, made = {}, [], {}
    return RunEffect(writes, opaque, tuple(copies), made)


_SUFFIX = {
    "": 1,
    "c": 1,
    "w": 2,
    "b": 512,
    "k": 1024,
    "K": 1024,
    "M": 1024**2,
    "G": 1024**3,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
}


def _dd_size(value: str) -> int | None:
    match = re.fullmatch(r"(\d+)([a-zA-Z]*)", value)
    if not match or match.group(2) not in _SUFFIX:
        return None
    return int(match.group(1)) * _SUFFIX[match.group(2)]


def _generated(words: list[str], cwd: str, made: dict[str, str]) -> bool:
    """Files whose bytes a command fixes without reading anything: ``dd`` of zeros, a
    ``touch`` of new files, ``seq N | xargs touch``. Their digests go into ``made``."""
    name, args = words[0], words[1:]
    if any("$" in w for w in words):
        return False
    if name == "dd":
        opts = dict(a.split("=", 1) for a in args if "=" in a)
        if len(opts) != len(args) or opts.get("if") != "/dev/zero" or "of" not in opts:
            return False
        block, count = _dd_size(opts.get("bs", "512")), opts.get("count", "")
        if block is None or not count.isdigit():
            return False
        made[posixpath.normpath(posixpath.join(cwd, opts["of"]))] = f"zeros-{block * int(count)}"
        return True
    if name == "touch" and args and "|" not in args and not any(a.startswith("-") for a in args):
        for path in args:
            made.setdefault(posixpath.normpath(posixpath.join(cwd, path)), "empty")
        return True
    if name == "seq" and args.count("|") == 1:
        at = args.index("|")
        numbers, rest = args[:at], args[at + 1 :]
        if rest != ["xargs", "touch"] or not 1 <= len(numbers) <= 2:
            return False
        if not all(n.isdigit() for n in numbers):
            return False
        first, last = (1, int(numbers[0])) if len(numbers) == 1 else map(int, numbers)
        for number in range(first, last + 1):
            made.setdefault(posixpath.normpath(posixpath.join(cwd, str(number))), "empty")
        return True
    return False


def _split(tokens: list[str]) -> list[list[str] | None]:
    chains: list[list[str] | None] = [[]]
    for token in tokens:
        if token in ("&&", ";"):
            chains.append([])
        elif token and set(token) <= set(";&"):
            return [None]
        else:
            current = chains[-1]
            assert current is not None
            current.append(token)
    return [c if c else None for c in chains]


def _simple(words: list[str], cwd: str, writes: dict[str, bytes]) -> bool:
    """Apply one trivial command to ``writes``; False if it is not one we can read."""
    name, args = words[0], words[1:]
    if any(a in (">", ">>") for a in args) and name != "echo":
        return False
    if name == "echo" and not ({">", ">>", "|"} & set(args)):
        return True  # prints to the log only, whatever the variables hold
    if any("$" in w for w in words):
        return False  # the value depends on the environment
    if name in ("true", ":") and not args:
        return True
    if name == "mkdir":
        return all(not a.startswith("-") or a == "-p" for a in args)
    if name != "echo" or not (">" in args or ">>" in args):
        return False
    op = ">>" if ">>" in args else ">"
    at = args.index(op)
    if at != len(args) - 2:
        return False
    text_words, target = args[:at], args[at + 1]
    newline = True
    if text_words[:1] == ["-n"]:
        newline, text_words = False, text_words[1:]
    data = (" ".join(text_words) + ("\n" if newline else "")).encode()
    path = posixpath.normpath(posixpath.join(cwd, target))
    if op == ">>" and path not in writes:
        return False  # appends to content this chain did not write: unknown
    writes[path] = (writes.get(path, b"") + data) if op == ">>" else data
    return True
