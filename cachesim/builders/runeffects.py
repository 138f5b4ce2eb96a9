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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cachesim.builders.cache import digest
from cachesim.builders.fs import FileSystem
from cachesim.builders.reads import DeclaredRun, RunModel, ToolRun, Where, model_run, shell_tokens
from cachesim.builders.walk import RulesFacts, Walk
from cachesim.context.snapshot import content_digest, file_digest
from cachesim.planning.plan import Resolved

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
    chain = _chain_of(command)
    if chain is None:
        return OPAQUE
    writes: dict[str, bytes] = {}
    copies: list[tuple[str, str]] = []
    made: dict[str, str] = {}
    opaque = False
    cwd = workdir or "/"
    for simple in chain:
        if simple[0] == "cd" and len(simple) == 2 and "$" not in simple[1]:
            cwd = posixpath.normpath(posixpath.join(cwd, simple[1]))
        elif simple[0] == "cp" and len(simple) == 3 and not simple[1].startswith("-"):
            if writes:  # keep the order of writes and copies simple: give up
                return OPAQUE
            copies.append(_copied(simple[1], simple[2], cwd))
        elif _generated(simple, cwd, made):
            continue
        elif not _simple(simple, cwd, writes):
            opaque = True
            # an unreadable command may have rewritten what came before
            writes, copies, made = {}, [], {}
    return RunEffect(writes, opaque, tuple(copies), made)


def _chain_of(command: tuple[str, ...]) -> list[list[str]] | None:
    """The simple commands of a ``/bin/sh -c`` script joined by ``&&`` or ``;``; None
    when the script has anything this module does not read (see the grammar above)."""
    if len(command) != 3 or command[:2] != ("/bin/sh", "-c"):
        return None
    script = command[2]
    if _UNSAFE.search(script) or "\n" in script:
        return None
    tokens = shell_tokens(script, ";&>|")
    if tokens is None:
        return None
    chain = _split(tokens)
    if any(simple is None for simple in chain):
        return None
    return [simple for simple in chain if simple is not None]


def _copied(src: str, dst: str, cwd: str) -> tuple[str, str]:
    """``cp SRC DST`` as absolute paths (DST keeps a trailing slash: into that folder)."""
    src, dst = (posixpath.join(cwd, p) for p in (src, dst))
    return posixpath.normpath(src), dst if dst.endswith("/") else posixpath.normpath(dst)


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
    if any("$" in w for w in words):
        return False
    maker = _GENERATORS.get(words[0])
    return maker is not None and maker(words[1:], cwd, made)


def _at(cwd: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(cwd, path))


def _dd(args: list[str], cwd: str, made: dict[str, str]) -> bool:
    """``dd if=/dev/zero of=PATH bs=N count=N``: that many zero bytes."""
    opts = dict(a.split("=", 1) for a in args if "=" in a)
    if len(opts) != len(args) or opts.get("if") != "/dev/zero" or "of" not in opts:
        return False
    block, count = _dd_size(opts.get("bs", "512")), opts.get("count", "")
    if block is None or not count.isdigit():
        return False
    made[_at(cwd, opts["of"])] = f"zeros-{block * int(count)}"
    return True


def _touch(args: list[str], cwd: str, made: dict[str, str]) -> bool:
    """``touch PATH...`` with no options: empty files where none was."""
    if not args or "|" in args or any(a.startswith("-") for a in args):
        return False
    for path in args:
        made.setdefault(_at(cwd, path), "empty")
    return True


def _seq(args: list[str], cwd: str, made: dict[str, str]) -> bool:
    """``seq [A] N | xargs touch``: empty files named by the numbers."""
    if args.count("|") != 1:
        return False
    at = args.index("|")
    numbers, rest = args[:at], args[at + 1 :]
    if rest != ["xargs", "touch"] or not 1 <= len(numbers) <= 2:
        return False
    if not all(n.isdigit() for n in numbers):
        return False
    first, last = (1, int(numbers[0])) if len(numbers) == 1 else map(int, numbers)
    for number in range(first, last + 1):
        made.setdefault(_at(cwd, str(number)), "empty")
    return True


_GENERATORS: dict[str, Callable[[list[str], str, dict[str, str]], bool]] = {
    "dd": _dd,
    "touch": _touch,
    "seq": _seq,
}


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
    redirected = ">" in args or ">>" in args
    if redirected and name != "echo":
        return False
    if name == "echo" and not ({">", ">>", "|"} & set(args)):
        return True  # prints to the log only, whatever the variables hold
    if any("$" in w for w in words):
        return False  # the value depends on the environment
    if name in ("true", ":") and not args:
        return True
    if name == "mkdir":
        return all(not a.startswith("-") or a == "-p" for a in args)
    return name == "echo" and redirected and _echo_into(args, cwd, writes)


def _echo_into(args: list[str], cwd: str, writes: dict[str, bytes]) -> bool:
    """``echo [-n] WORD... > PATH`` (or ``>>`` onto what this chain wrote there)."""
    op = ">>" if ">>" in args else ">"
    at = args.index(op)
    if at != len(args) - 2:
        return False
    text_words, target = args[:at], args[at + 1]
    newline = True
    if text_words[:1] == ["-n"]:
        newline, text_words = False, text_words[1:]
    data = (" ".join(text_words) + ("\n" if newline else "")).encode()
    path = _at(cwd, target)
    if op == ">>" and path not in writes:
        return False  # appends to content this chain did not write: unknown
    writes[path] = (writes.get(path, b"") + data) if op == ">>" else data
    return True


# -- what a RUN leaves in the file system, for `COPY --from` ---------------------------
def run_output(step: Resolved, fs: FileSystem, definition: str, walk: Walk) -> FileSystem:
    """The file system after a RUN.

    Exact files for trivial commands (``run_effect``); for a command ``reads`` models,
    each folder it writes gets a digest of only what it reads (the base image, what
    earlier RUNs wrote, the files it reads, the command, its user and folder, the
    environment variables it reads), so an unchanged input gives an unchanged output;
    anything else: new content anywhere (``FileSystem.after_run``), said to be assumed.
    ``definition`` is the RUN's key (``RunDefinition.key()``): what the output depends on.
    """
    effect = run_effect(step.command, step.workdir)
    binds = [m for m in step.mounts if m.type == "bind"]
    if not effect.opaque and not step.mounts:
        return _exact(effect, fs, definition)
    where = f"`RUN {_short(step)}`, line {step.instruction.line}"
    view = _with_binds(step, fs, walk) if binds else fs.files
    if view is None:
        note = f"cachesim assumes that ({where}) writes new output whenever it runs: it "
        return fs.after_run(definition, note + "cannot tell what a bind mount of a stage holds")
    cwd, user = step.workdir or "/", home_of(step.user)
    at = Where(cwd, dict(step.run_env), user, view, _content(walk, view))
    declared = declared_run(step, walk)
    model = model_run(step.command, at, declared.tool(cwd) if declared else None)
    if not model.known:
        note = f"cachesim assumes that the RUN ({where}) writes new output whenever it runs: it "
        note += f"cannot tell what `{_clip(model.unknown)}` reads"
        return _exact(effect, fs.after_run(definition, note, unread=True), definition)
    if not model.reproducible:
        why = next(t.why_not for t in model.tools if not t.reproducible) + f" ({where})"
        output = digest(fs.summary(), definition)
        return _exact(effect, fs.after_tools(output, model.writes, why), definition)
    note = f"{model.summary()} ({where})"
    return _exact(effect, _tool_outputs(model, fs, view, step.user, note), definition)


def _tool_outputs(
    model: RunModel, fs: FileSystem, view: Mapping[str, str], user: str, note: str
) -> FileSystem:
    """Each modelled command's output: a digest of what it reads (the base image, what
    earlier commands wrote, its files, words, folder, user and environment), put in the
    folders it writes. The stand-in tools of the real-engine checks hash the same."""
    for tool in model.tools:
        output = digest(
            fs.base,
            fs.fog,
            sorted(fs.areas.items()),
            _read_digests(tool, view),
            tool.argv,
            tool.cwd,
            user,
            tool.env_values,
        )
        fs = fs.after_tools(output, tool.writes, note)
    return fs


def _short(step: Resolved) -> str:
    return _clip(run_text(step.command))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def run_text(command: tuple[str, ...]) -> str:
    """A RUN's command as a scenario's `runs:` names it: the shell text, or the exec words."""
    return command[2] if command[:2] == ("/bin/sh", "-c") else " ".join(command)


def declared_run(step: Resolved, walk: Walk) -> DeclaredRun | None:
    """The scenario's own declaration for this RUN (by line or by command text), if any."""
    text = " ".join(run_text(step.command).split())
    for declared in getattr(walk.request, "runs", ()):
        if declared.line == step.instruction.line or declared.run == text:
            return declared
    return None


def home_of(user: str) -> str:
    """The home folder of a RUN's user in the usual images (root's is /root)."""
    name = (user or "root").split(":")[0]
    return "/root" if name in ("root", "0") else f"/home/{name}"


def _read_digests(tool: ToolRun, view: Mapping[str, str]) -> list[list[str]]:
    """What the files a command reads hold: path and digest (or only the path)."""
    out: list[list[str]] = []
    for reads in tool.reads:
        for path in sorted(view):
            if reads.matches(path) is not None:
                out.append([path, "" if reads.names_only else view[path]])
    return out


def _content(walk: Walk, view: Mapping[str, str]) -> Callable[[str], bytes | None]:
    """The bytes of a file the RUN sees, when it came from the context (else None). The
    table of contents by digest is made when a command first asks (most never do)."""

    def content(path: str) -> bytes | None:
        table = getattr(walk, "_contents_by_digest", None)
        if table is None:
            table = {file_digest(f): f.content for f in walk.context.files.values()}
            walk._contents_by_digest = table
        return table.get(view.get(path, ""))

    return content


def _with_binds(step: Resolved, fs: FileSystem, walk: Walk) -> dict[str, str] | None:
    """The files a RUN sees with its context bind mounts in place; None when a mount
    binds something cachesim cannot list (another stage or an image)."""
    files = dict(fs.files)
    for mount in step.mounts:
        if mount.type != "bind":
            continue
        if mount.from_stage is not None or mount.from_image is not None:
            return None
        target = posixpath.normpath(posixpath.join(step.workdir or "/", mount.target))
        source = (mount.source or ".").strip("/") or "."
        for path, entry in walk.context.files.items():
            if source == ".":
                files[posixpath.join(target, path)] = file_digest(entry)
            elif path == source:
                files[target] = file_digest(entry)
            elif path.startswith(source + "/"):
                files[posixpath.join(target, path[len(source) + 1 :])] = file_digest(entry)
    return files


def _exact(effect: RunEffect, fs: FileSystem, definition: str) -> FileSystem:
    """Apply the files a RUN's trivial commands are known to leave (``run_effect``)."""
    for src, dst in effect.copies:
        if src not in fs.files:  # a copy of something unknown: unknown
            return fs.after_run(definition)
        where = posixpath.join(dst, posixpath.basename(src)) if fs.is_dir(dst) else dst
        fs = fs.with_files({posixpath.normpath(where): fs.files[src]})
    made = {path: f"{digest('generated', kind)[:32]}:0644" for path, kind in effect.made.items()}
    written = {path: f"{content_digest(data)[:32]}:0644" for path, data in effect.writes.items()}
    return fs.with_files({**made, **written})


def run_failure(command: tuple[str, ...], rules: RulesFacts) -> str:
    """The builder's words for a RUN that exited with status 1."""
    return rules.run_failure_reason(" ".join(command))
