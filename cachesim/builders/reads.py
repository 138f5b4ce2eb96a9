"""What a RUN reads and writes: a model of common build commands.

Why it matters: ``COPY --from=stage`` is keyed by the *content* it copies (seen on Docker
20.10 and 28.5, BuildKit and the classic builder; file mtimes do not count:
docs/engine-findings.md #11b and #19). When a builder stage re-runs, whether the later
``COPY --from`` stays cached depends on whether the RUN produced the same bytes. A RUN whose
command is modelled here produces the same output when the files it reads, the command,
the environment variables it reads and what earlier RUNs left behind are the same: so a
README edit under ``COPY . .`` re-runs ``go build`` but leaves its binary, and the COPY of
it, as they were. A command cachesim does not know is assumed to write new output every
time it runs, anywhere (conservative), and the reason says that this is an assumption.

A read set is a pair of POSIX extended regular expressions over paths relative to a
folder (``include`` and ``exclude``), so that the stand-in tools of the real-engine
checks (``cachesim/engine/standin.py``) select the very same files with ``grep -E``.

Each tool's entry names the documentation it follows (docs/cache-rules.md, "What a RUN
reads", lists them with their sources).
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

ANYWHERE = "/"


@dataclass(frozen=True, slots=True)
class ReadSet:
    """Files under ``root`` whose relative path matches ``include`` and not ``exclude``.

    ``names_only``: only which files exist counts, not their bytes (cargo chef records the
    paths of a crate's targets, not their code)."""

    root: str
    include: str
    exclude: str = ""
    names_only: bool = False

    def matches(self, path: str) -> str | None:
        """The path relative to ``root`` when it belongs to the set, else None."""
        prefix = self.root.rstrip("/") + "/"
        if not path.startswith(prefix):
            return None
        rel = path[len(prefix) :]
        if not re.fullmatch(self.include, rel):
            return None
        if self.exclude and re.search(self.exclude, rel):
            return None
        return rel


@dataclass(frozen=True, slots=True)
class ToolRun:
    """One modelled command of a RUN: what it reads, where it writes, whether it is
    reproducible (same inputs, same bytes)."""

    tool: str  # "go build"
    reads: tuple[ReadSet, ...]
    writes: tuple[str, ...]  # absolute path prefixes it may write; "/" = anywhere
    summary: str  # for the reason: "go build reads only the module's .go files, ..."
    env: tuple[str, ...] = ()  # prefixes of the environment variables it reads
    reproducible: bool = True
    why_not: str = ""  # when not reproducible: why its bytes differ on every run
    # filled in by the shell reader: the words it ran with (variables expanded), its
    # folder and the environment variables of `env` it saw
    argv: tuple[str, ...] = ()
    cwd: str = ""
    env_values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RunModel:
    """What cachesim knows of one RUN's command: its modelled tools, or that it knows
    nothing (``unknown`` names the first command it cannot read)."""

    tools: tuple[ToolRun, ...] = ()
    unknown: str = ""
    declared: bool = False  # the scenario's `runs:` said what it reads

    @property
    def known(self) -> bool:
        return not self.unknown

    @property
    def reproducible(self) -> bool:
        return self.known and all(t.reproducible for t in self.tools)

    @property
    def writes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w for t in self.tools for w in t.writes))

    def summary(self) -> str:
        """What the RUN reads, for a learner ("go build reads only ...")."""
        parts = [t.summary for t in self.tools if t.reads or t.writes]
        return "; ".join(dict.fromkeys(parts)) or "it reads no file of the build"


@dataclass(frozen=True, slots=True)
class DeclaredRun:
    """A scenario's `runs:` entry: what one RUN reads and writes, or that it fails.

    ``reads`` and ``writes`` are globs (``*`` within a folder, ``**`` across folders),
    relative to the RUN's working directory unless absolute; ``writes`` empty means
    anywhere. ``fails`` names the builds in which the RUN exits non-zero when it runs
    (``None``: in every build).
    """

    run: str | None  # the command text (whitespace runs count as one space)
    line: int | None  # or the Dockerfile line where the RUN starts
    reads: tuple[str, ...] | None  # None: the RUN's reads are cachesim's own model
    writes: tuple[str, ...] = ()
    fails: tuple[str, ...] | None = ()  # () never; None every build; else build names
    source_line: int | None = None  # where the entry is in the scenario file

    def fails_in(self, build: str) -> bool:
        return self.fails is None or build in self.fails

    def tool(self, cwd: str) -> ToolRun | None:
        """The declaration as a modelled command (None when it declares no reads)."""
        if self.reads is None:
            return None
        sets = []
        for pattern in self.reads:
            path = posixpath.normpath(posixpath.join(cwd, pattern))
            parts = path.split("/")
            fixed = next((i for i, p in enumerate(parts) if any(c in p for c in "*?[")), None)
            if fixed is None:
                folder, rest = posixpath.dirname(path), posixpath.basename(path)
                sets.append(ReadSet(folder, re.escape(rest) + "(/.*)?"))
                continue
            folder = "/".join(parts[:fixed]) or "/"
            sets.append(ReadSet(folder, double_glob_regex("/".join(parts[fixed:]))))
        writes = tuple(posixpath.normpath(posixpath.join(cwd, w)) for w in self.writes)
        named = ", ".join(self.reads) or "no file"
        return ToolRun(
            "declared", tuple(sets), writes or (ANYWHERE,), f"the scenario says it reads {named}"
        )


def double_glob_regex(pattern: str) -> str:
    """A glob with ``**`` (any folders, or none) as an extended regex."""
    parts = pattern.split("/")
    out = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(.*/)?")
        else:
            out.append(glob_regex(part) + ("(/.*)?" if last else "/"))
    return "".join(out)


# -- patterns -------------------------------------------------------------------------
HIDDEN = r"(^|/)[._]"  # Go ignores files and folders whose name starts with . or _
GO_EXCLUDE = HIDDEN + r"|(^|/)testdata/|_test\.go$"
GO_SOURCES = r"(.*/)?[^/]*\.(go|c|h|s|S|cc|cpp|hh|hpp|syso)"
GO_MODULE = r"go\.(mod|sum|work|work\.sum)|vendor/modules\.txt"
CARGO_SOURCES = (
    r"(.*/)?Cargo\.(toml|lock)|(.*/)?build\.rs|(.*/)?src/.*|\.cargo/config(\.toml)?"
    r"|rust-toolchain(\.toml)?"
)
CARGO_MANIFESTS = r"(.*/)?Cargo\.toml|Cargo\.lock|\.cargo/config(\.toml)?|rust-toolchain(\.toml)?"
CARGO_TARGETS = (
    r"(.*/)?src/(main|lib)\.rs|(.*/)?src/bin/[^/]*\.rs|(.*/)?src/bin/[^/]*/main\.rs"
    r"|(.*/)?(examples|tests|benches)/[^/]*\.rs"
)
CARGO_EXCLUDE = r"(^|/)target/"
NODE_EXCLUDE = r"(^|/)node_modules/"
NPM_MANIFESTS = r"(.*/)?package\.json|package-lock\.json|npm-shrinkwrap\.json|\.npmrc"
YARN_MANIFESTS = (
    r"(.*/)?package\.json|yarn\.lock|\.yarnrc(\.yml)?|\.npmrc|\.pnp\.(c?js|loader\.mjs)"
    r"|\.yarn/(releases|plugins|patches|sdks)/.*"
)
PNPM_MANIFESTS = (
    r"(.*/)?package\.json|pnpm-lock\.yaml|pnpm-workspace\.yaml|\.npmrc|\.pnpmfile\.cjs"
    r"|patches/.*"
)
PNPM_FETCH = r"pnpm-lock\.yaml|pnpm-workspace\.yaml|\.npmrc"
MAVEN_POMS = r"(.*/)?pom\.xml|\.mvn/.*"
MAVEN_SOURCES = r"(.*/)?pom\.xml|\.mvn/.*|(.*/)?src/.*"
GRADLE_SOURCES = (
    r"(.*/)?(build|settings)\.gradle(\.kts)?|gradle\.properties|gradle/.*|buildSrc/.*"
    r"|(.*/)?src/.*"
)
GRADLE_EXCLUDE = r"(^|/)(build|\.gradle)/"
MAVEN_EXCLUDE = r"(^|/)target/"
EVERYTHING = r".*"
UV_MANIFESTS = r"pyproject\.toml|uv\.lock|\.python-version|uv\.toml"
POETRY_MANIFESTS = r"pyproject\.toml|poetry\.lock|poetry\.toml"
PIPENV_MANIFESTS = r"Pipfile(\.lock)?"
BUNDLE_MANIFESTS = r"Gemfile(\.lock)?|\.bundle/config|[^/]*\.gemspec"
COMPOSER_MANIFESTS = r"composer\.(json|lock)|auth\.json"

# Environment variables each family of tools reads (prefixes). The stand-ins hash the same.
ENV_GO = ("GO", "CGO_", "CC", "CXX")
ENV_CARGO = ("CARGO", "RUST")
ENV_NODE = ("NODE_", "NPM_CONFIG_", "npm_config_", "YARN_", "PNPM_", "NEXT_")
ENV_PYTHON = ("PIP_", "UV_", "POETRY_", "PYTHON", "VIRTUAL_ENV")
ENV_JAVA = ("MAVEN_", "GRADLE_", "JAVA_")
ENV_C = ("CC", "CFLAGS", "CXX", "LDFLAGS", "CPPFLAGS")

NPM_LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "prepublish")
SHELL_BUILTINS_NO_READ = {
    "true",
    ":",
    "set",
    "export",
    "echo",
    "printf",
    "ls",
    "pwd",
    "env",
    "which",
    "id",
    "whoami",
    "uname",
    "sleep",
    "date",
}
SYSTEM_PACKAGES = {"apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper"}
USER_TOOLS = {"addgroup", "adduser", "useradd", "groupadd", "usermod", "groupmod"}


@dataclass(frozen=True, slots=True)
class Where:
    """What a command runs in: its folder, environment and home, and a view of the files."""

    cwd: str
    env: Mapping[str, str]
    home: str
    files: Mapping[str, str]  # absolute path -> digest, as far as cachesim knows them
    content: Callable[[str], bytes | None]  # bytes of a known file, None if unknown

    def at(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, path))

    def has(self, path: str) -> bool:
        return self.at(path) in self.files

    def up_to(self, name: str) -> str | None:
        """The nearest folder at or above cwd holding ``name`` (a module root)."""
        folder = self.cwd
        while True:
            if posixpath.join(folder, name) in self.files:
                return folder
            if folder == "/":
                return None
            folder = posixpath.dirname(folder)


# -- reading the shell text -----------------------------------------------------------
_UNREADABLE = re.compile(r"[`\n]|\$\(|<<|(^|[;&|\s])(if|for|while|case|until|function)\s")


def _expand(word: str, env: Mapping[str, str]) -> str:
    """``$X`` and ``${X}`` as the shell expands them (an unset variable is empty)."""
    return re.sub(
        r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)",
        lambda m: env.get(m.group(1) or m.group(2), ""),
        word,
    )


def shell_tokens(script: str, operators: str) -> list[str] | None:
    """The words and operators of a shell text, quotes removed (None if they do not close)."""
    tokens = _tokens(script, operators)
    return None if tokens is None else list(tokens)


@functools.lru_cache(maxsize=1024)
def _tokens(script: str, operators: str) -> tuple[str, ...] | None:
    """``shell_tokens``, once per text: every build reads the same RUN lines again."""
    try:
        lexer = shlex.shlex(script, posix=True, punctuation_chars=operators)
        lexer.whitespace_split = True
        return tuple(lexer)
    except ValueError:
        return None


def split_commands(script: str) -> list[list[str]] | None:
    """The simple commands of a shell script joined by ``&&``, ``||``, ``;`` or ``|``;
    None when the script uses what this reader does not follow (substitutions, loops)."""
    if _UNREADABLE.search(script):
        return None
    tokens = shell_tokens(script, ";&|<>()")
    if tokens is None:
        return None
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in ("&&", "||", ";", "|"):
            commands.append([])
        elif token and set(token) <= set(";&|<>()"):
            if token in (">", ">>", "2>", "<") or token.startswith(">"):
                commands[-1].append(token)
                continue
            return None
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def model_run(
    command: tuple[str, ...],
    where: Where,
    declared: ToolRun | None = None,
) -> RunModel:
    """What one RUN reads and writes (``declared``: the scenario's own words for it)."""
    if declared is not None:
        text = command[2] if command[:2] == ("/bin/sh", "-c") else " ".join(command)
        return RunModel((replace(declared, argv=(text,), cwd=where.cwd),), declared=True)
    if len(command) == 3 and command[:2] == ("/bin/sh", "-c"):
        commands = split_commands(command[2])
        if commands is None:
            return RunModel(unknown=command[2])
    else:
        commands = [list(command)]
    return _chain(commands, where)


def _chain(commands: list[list[str]], where: Where, depth: int = 0) -> RunModel:
    tools: list[ToolRun] = []
    cwd = where.cwd
    env = dict(where.env)
    for words in commands:
        assigned: dict[str, str] = {}
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            name, value = words[0].split("=", 1)
            assigned[name] = _expand(value, env)
            words = words[1:]
        if not words:
            env.update(assigned)
            continue
        if any(w in (">", ">>") or w.startswith(">") for w in words):
            if words[0] in ("echo", "printf"):
                continue  # runeffects knows what these write exactly
            return RunModel(unknown=" ".join(words))
        words = [_expand(w, {**env, **assigned}) for w in words]
        name = posixpath.basename(words[0])
        if name == "cd" and len(words) == 2:
            cwd = posixpath.normpath(posixpath.join(cwd, words[1]))
            continue
        if name == "export":
            env.update(dict(w.split("=", 1) for w in words[1:] if "=" in w))
            continue
        call = Where(cwd, {**env, **assigned}, where.home, where.files, where.content)
        tool = _tool(name, words[1:], call, depth)
        if tool is None:
            return RunModel(unknown=" ".join(words))
        seen = sorted((k, v) for k, v in call.env.items() if tool.env and k.startswith(tool.env))
        tools.append(replace(tool, argv=tuple(words), cwd=cwd, env_values=tuple(seen)))
    return RunModel(tuple(tools))


def _tool(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    if name in SHELL_BUILTINS_NO_READ:
        return ToolRun(name, (), (), "")
    if re.fullmatch(r"pip[0-9.]*", name):
        return _pip("pip", args, where)
    if re.fullmatch(r"python[0-9.]*", name):
        if args[:2] == ["-m", "pip"]:
            return _pip("pip", args[2:], where)
        if args[:2] == ["-m", "venv"] and len(args) >= 3:
            return ToolRun("python -m venv", (), (where.at(args[-1]),), "")
        return None
    handler = TOOLS.get(name)
    return None if handler is None else handler(name, args, where, depth)


def _positional(args: list[str], with_value: set[str]) -> tuple[list[str], dict[str, str]]:
    """Split arguments into positional words and ``--flag value`` options."""
    words: list[str] = []
    options: dict[str, str] = {}
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == "--":
            words += args[i + 1 :]
            break
        if arg.startswith("-"):
            flag, eq, value = arg.partition("=")
            if not eq and flag in with_value and i + 1 < len(args):
                value, skip = args[i + 1], True
            options[flag] = value
        else:
            words.append(arg)
    return words, options


# -- Go --------------------------------------------------------------------------------
GO_VALUE_FLAGS = {
    "-o",
    "-ldflags",
    "-gcflags",
    "-asmflags",
    "-tags",
    "-mod",
    "-p",
    "-pkgdir",
    "-installsuffix",
    "-buildmode",
    "-compiler",
    "-gccgoflags",
    "-modfile",
    "-overlay",
    "-pgo",
    "-C",
    "-exec",
    "-run",
    "-count",
    "-timeout",
}


def go_embeds(root: str, where: Where) -> tuple[ReadSet, ...]:
    """The files ``//go:embed`` lines of the module's sources name (Go's embed package:
    patterns relative to the source file's folder; a folder embeds the files below it,
    except those whose names start with . or _ unless the pattern says ``all:``)."""
    sets: list[ReadSet] = []
    sources = ReadSet(root, GO_SOURCES, GO_EXCLUDE)
    for path in sorted(where.files):
        if not path.endswith(".go") or sources.matches(path) is None:
            continue
        data = where.content(path) or b""
        for line in data.decode(errors="replace").splitlines():
            if not line.startswith("//go:embed "):
                continue
            folder = posixpath.dirname(path)
            for pattern in line.split()[1:]:
                keep_hidden = pattern.startswith("all:")
                pattern = pattern.removeprefix("all:").strip('"')
                sets.append(
                    ReadSet(folder, glob_regex(pattern) + "(/.*)?", "" if keep_hidden else HIDDEN)
                )
    return tuple(sets)


def glob_regex(pattern: str) -> str:
    """A path.Match-style glob (``*`` does not cross ``/``) as an extended regex."""
    out = []
    for char in pattern:
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char in "[]":
            out.append(char)
        else:
            out.append(re.escape(char) if not char.isalnum() and char not in "/_-" else char)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _GoPlaces:
    """Where the go command keeps things, from the environment or its defaults."""

    gopath: str
    cache: str
    modcache: str
    root: str  # the module's folder (the nearest go.mod up), else the working directory
    bin_dir: str  # where go install puts binaries (GOBIN)


def _go_places(where: Where) -> _GoPlaces:
    gopath = where.env.get("GOPATH") or posixpath.join(where.home, "go")
    return _GoPlaces(
        gopath=gopath,
        cache=where.env.get("GOCACHE") or posixpath.join(where.home, ".cache/go-build"),
        modcache=where.env.get("GOMODCACHE") or posixpath.join(gopath, "pkg/mod"),
        root=where.up_to("go.mod") or where.cwd,
        bin_dir=where.env.get("GOBIN") or posixpath.join(gopath, "bin"),
    )


def _go_sources(sub: str, root: str, where: Where) -> tuple[list[ReadSet], str]:
    """What ``go build/install/test/vet`` reads of the module, and the sentence saying so.

    A build stamps version-control facts into the binary when the folder holds .git
    (``-buildvcs``, on unless turned off), and ``git status`` then reads every file.
    """
    reads = [ReadSet(root, GO_SOURCES, GO_EXCLUDE), ReadSet(root, GO_MODULE)]
    summary = f"go {sub} reads only the module's .go files, go.mod, go.sum and embedded files"
    if sub in ("test", "vet"):
        reads = [ReadSet(root, GO_SOURCES + r"|(.*/)?testdata/.*", HIDDEN), reads[1]]
        summary = f"go {sub} reads only the module's .go files, testdata, go.mod and go.sum"
    reads += go_embeds(root, where)
    return reads, summary


def _go_stamps_vcs(sub: str, rest: list[str], root: str, where: Where) -> bool:
    flags = " ".join(rest) + " " + where.env.get("GOFLAGS", "")
    vcs = any(p.startswith(root.rstrip("/") + "/.git/") for p in where.files)
    return vcs and "-buildvcs=false" not in flags and sub in ("build", "install")


def _go_writes(
    sub: str, options: Mapping[str, str], where: Where, places: _GoPlaces
) -> tuple[str, ...]:
    """The binary's folder: GOBIN for install, ``-o`` or the working directory for build."""
    if sub == "install":
        return (places.bin_dir,)
    if sub == "build" and "-o" in options:
        return (where.at(options["-o"]),)
    if sub == "build":
        return (where.cwd,)
    return ()


def _go_compile(sub: str, rest: list[str], where: Where, places: _GoPlaces) -> ToolRun | None:
    """``go build``, ``install``, ``test`` or ``vet``: None when flags point it elsewhere."""
    words, options = _positional(rest, GO_VALUE_FLAGS)
    if "-overlay" in options or "-modfile" in options or "-C" in options:
        return None
    cache, modcache = places.cache, places.modcache
    if sub == "install" and words and all("@" in w for w in words):
        return ToolRun("go install", (), (places.bin_dir, cache, modcache), "", ENV_GO)
    reads, summary = _go_sources(sub, places.root, where)
    if _go_stamps_vcs(sub, rest, places.root, where):
        reads = [ReadSet(places.root, EVERYTHING)]
        summary = (
            f"go {sub} stamps version-control facts into the binary when the folder holds "
            ".git (-buildvcs): git status reads every file"
        )
    writes = _go_writes(sub, options, where, places)
    return ToolRun(f"go {sub}", tuple(reads), (*writes, cache, modcache), summary, ENV_GO)


def _go(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    if not args:
        return None
    sub, rest = args[0], args[1:]
    places = _go_places(where)
    if sub in ("version", "env"):
        return ToolRun(f"go {sub}", (), (), "")
    if sub == "mod" and rest[:1] in (["download"], ["verify"]):
        return ToolRun(
            f"go mod {rest[0]}",
            (ReadSet(places.root, GO_MODULE),),
            (places.modcache,),
            f"go mod {rest[0]} reads only go.mod and go.sum",
            ENV_GO,
        )
    if sub not in ("build", "install", "test", "vet"):
        return None  # go generate runs any command; go run starts the program
    return _go_compile(sub, rest, where, places)


# -- Rust ------------------------------------------------------------------------------
CARGO_VALUE_FLAGS = {
    "--bin",
    "-p",
    "--package",
    "--target",
    "--target-dir",
    "--features",
    "-F",
    "--profile",
    "--recipe-path",
    "-j",
    "--jobs",
    "--root",
    "--path",
    "--example",
    "--manifest-path",
}


def _cargo(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    if not args:
        return None
    sub, rest = args[0], args[1:]
    words, options = _positional(rest, CARGO_VALUE_FLAGS)
    if "--manifest-path" in options:
        return None
    root = where.up_to("Cargo.toml") or where.cwd
    cargo_home = where.env.get("CARGO_HOME") or posixpath.join(where.home, ".cargo")
    target = options.get("--target-dir") or where.env.get("CARGO_TARGET_DIR") or "target"
    target_dir = posixpath.normpath(posixpath.join(root, target))
    if sub == "chef" and words[:1] == ["prepare"]:
        recipe = where.at(options.get("--recipe-path", "recipe.json"))
        return ToolRun(
            "cargo chef prepare",
            (
                ReadSet(root, CARGO_MANIFESTS, CARGO_EXCLUDE),
                ReadSet(root, CARGO_TARGETS, CARGO_EXCLUDE, names_only=True),
            ),
            (recipe,),
            "cargo chef prepare reads only Cargo.toml, Cargo.lock and the names of the "
            "crate's target files (the recipe holds no source code)",
            ENV_CARGO,
        )
    if sub == "chef" and words[:1] == ["cook"]:
        recipe = where.at(options.get("--recipe-path", "recipe.json"))
        return ToolRun(
            "cargo chef cook",
            (ReadSet(posixpath.dirname(recipe), re.escape(posixpath.basename(recipe))),),
            (target_dir, cargo_home, where.cwd),
            "cargo chef cook reads only the recipe",
            ENV_CARGO,
        )
    if sub == "fetch":
        return ToolRun(
            "cargo fetch",
            (ReadSet(root, CARGO_MANIFESTS, CARGO_EXCLUDE),),
            (cargo_home,),
            "cargo fetch reads only Cargo.toml and Cargo.lock",
            ENV_CARGO,
        )
    if sub not in ("build", "install", "b"):
        return None
    if sub == "install" and "--path" not in options:
        install = options.get("--root") or where.env.get("CARGO_INSTALL_ROOT") or cargo_home
        return ToolRun("cargo install", (), (install, cargo_home), "", ENV_CARGO)
    writes: tuple[str, ...] = (target_dir, cargo_home)
    if sub == "install":
        root = where.at(options["--path"])
        writes = (options.get("--root") or cargo_home, posixpath.join(root, "target"))
    return ToolRun(
        f"cargo {sub}",
        (ReadSet(root, CARGO_SOURCES, CARGO_EXCLUDE),),
        writes,
        f"cargo {sub} reads only src/, build.rs, Cargo.toml and Cargo.lock",
        ENV_CARGO,
    )


# -- JavaScript --------------------------------------------------------------------------
NPM_VALUE_FLAGS = {"--omit", "--include", "--registry", "--cache", "--prefix", "-w", "--workspace"}


def _package_json(where: Where) -> dict | None:
    data = where.content(where.at("package.json"))
    if data is None:
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _lifecycle_scripts(where: Where) -> bool | None:
    """True when the root package.json has install-time scripts; None when unknown."""
    package = _package_json(where)
    if package is None:
        return None if where.has("package.json") else False
    scripts = package.get("scripts") or {}
    return any(name in scripts for name in NPM_LIFECYCLE)


def _install(tool: str, manifests: str, where: Where, args: list[str]) -> ToolRun | None:
    """An install from a project's manifests (npm ci, yarn install, pnpm install)."""
    if "--ignore-scripts" not in args and _lifecycle_scripts(where) is not False:
        return None  # install scripts of the project may read anything
    return ToolRun(
        tool,
        (ReadSet(where.cwd, manifests, NODE_EXCLUDE),),
        (where.cwd, where.home, "/usr/local/share/.cache"),
        f"{tool} reads only package.json and the lockfile",
        ENV_NODE,
    )


def _script(tool: str, script: str, where: Where, depth: int) -> ToolRun | None:
    """``npm run NAME``: the script's text, read from package.json, modelled in turn."""
    package = _package_json(where)
    if package is None or depth > 1:
        return None
    text = (package.get("scripts") or {}).get(script)
    if not isinstance(text, str):
        return None
    commands = split_commands(text)
    if commands is None:
        return None
    inner = _chain(commands, where, depth + 1)
    if not inner.known:
        return None
    return ToolRun(
        f"{tool} run {script}",
        tuple(r for t in inner.tools for r in t.reads),
        inner.writes,
        f"{tool} run {script} runs `{text}`: " + inner.summary(),
        ENV_NODE,
        inner.reproducible,
    )


def _npm(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    words, options = _positional(args, NPM_VALUE_FLAGS)
    if not words:
        return None
    sub, packages = words[0], words[1:]
    if "-g" in options or "--global" in options:
        return ToolRun(f"{name} {sub} -g", (), (ANYWHERE,), "")
    if sub in ("ci", "install", "i") and not packages:
        return _install(f"npm {sub}", NPM_MANIFESTS, where, args)
    if sub in ("run", "run-script") and packages:
        return _script("npm", packages[0], where, depth)
    if sub in ("cache", "config") or (sub == "install" and packages):
        return None
    return None


def _yarn(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    words, _ = _positional(args, NPM_VALUE_FLAGS)
    if words[:1] == ["global"]:
        return ToolRun("yarn global", (), (ANYWHERE,), "")
    if not words or words[0] == "install":
        return _install("yarn install", YARN_MANIFESTS, where, args)
    script = words[1] if words[0] == "run" and len(words) > 1 else words[0]
    return _script("yarn", script, where, depth)


def _pnpm(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    words, _ = _positional(args, NPM_VALUE_FLAGS)
    if not words:
        return None
    if words[0] in ("install", "i") and len(words) == 1:
        return _install("pnpm install", PNPM_MANIFESTS, where, args)
    if words[0] == "fetch":
        return ToolRun(
            "pnpm fetch",
            (ReadSet(where.cwd, PNPM_FETCH),),
            (ANYWHERE,),
            "pnpm fetch reads only pnpm-lock.yaml",
            ENV_NODE,
        )
    if words[0] in ("add", "install", "i"):
        return None
    script = words[1] if words[0] == "run" and len(words) > 1 else words[0]
    return _script("pnpm", script, where, depth)


FRAMEWORK_OUTPUT = {
    ("next", "build"): ".next",
    ("vite", "build"): "dist",
    ("react-scripts", "build"): "build",
}


def _framework(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    """``next build`` and the like: they may read any file of the project (cachesim cannot
    tell which modules import what), but write only their output folder."""
    output = FRAMEWORK_OUTPUT.get((name, args[0] if args else ""))
    if output is None:
        return None
    return ToolRun(
        f"{name} build",
        (ReadSet(where.cwd, EVERYTHING, r"^" + re.escape(output) + "/"),),
        (where.at(output),),
        f"{name} build may read any file of the project, but writes only {output}/",
        ENV_NODE,
    )


def _corepack(name: str, args: list[str], where: Where, depth: int) -> ToolRun:
    return ToolRun("corepack", (), (ANYWHERE,), "")


# -- Python ------------------------------------------------------------------------------
PIP_VALUE_FLAGS = {
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--prefix",
    "-t",
    "--target",
    "--root",
    "-w",
    "--wheel-dir",
    "--python",
    "-p",
    "--cache-dir",
    "--only-binary",
    "--no-binary",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--progress-bar",
}


def _pip_pairs(rest: list[str]) -> list[tuple[str, str]]:
    """pip's arguments as ``(flag, value)`` pairs, ``("", word)`` for a positional word;
    flags that take no value are dropped (``-r x``, ``-r=x`` and ``--requirement x`` alike)."""
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(rest):
        flag, eq, value = rest[i].partition("=")
        if flag.startswith("-") and flag in PIP_VALUE_FLAGS:
            if not eq:
                i += 1
                value = rest[i] if i < len(rest) else ""
            pairs.append((flag, value))
        elif not flag.startswith("-"):
            pairs.append(("", rest[i]))
        i += 1
    return pairs


def _pip_read(sub: str, flag: str, value: str, where: Where) -> ReadSet | None:
    """What one argument makes pip read: a requirements or constraints file (``pip-sync``'s
    positional words are such files), a local project or archive, a local find-links folder."""
    if flag in ("-r", "--requirement", "-c", "--constraint") or (sub == "sync" and not flag):
        path = where.at(value)
        return ReadSet(posixpath.dirname(path), re.escape(posixpath.basename(path)))
    if not flag and (value.startswith((".", "/")) or value.endswith((".whl", ".tar.gz"))):
        return ReadSet(where.at(value), EVERYTHING)  # a local project or archive
    if flag in ("-f", "--find-links") and not value.startswith(("http:", "https:")):
        return ReadSet(where.at(value), EVERYTHING)
    return None


def _pip_writes(options: Mapping[str, str], where: Where) -> tuple[str, ...]:
    """Anywhere (site-packages), unless an option names the folder (the last one wins)."""
    writes: tuple[str, ...] = (ANYWHERE,)
    for flag in ("--prefix", "-t", "--target", "-w", "--wheel-dir", "--root"):
        if flag in options:
            writes = (where.at(options[flag]), where.home)
    return writes


def _read_names(reads: list[ReadSet]) -> str:
    """The files a summary names: a folder read whole by its name, a file by its own."""
    return (
        ", ".join(
            posixpath.basename(r.root) if r.include == EVERYTHING else r.include.replace("\\", "")
            for r in reads
        )
        or "no file of the build"
    )


PIP_COMPILES = (
    "pip compiles the installed modules to .pyc files that carry the time of the "
    "install (timestamp-based .pyc, PEP 552), so its output differs on every run "
    "unless --no-compile is given"
)


def _pip(name: str, args: list[str], where: Where) -> ToolRun | None:
    """pip install / uv pip install: the requirement files named, or a local project."""
    if not args or args[0] not in ("install", "wheel", "sync", "download"):
        return None
    sub = args[0]
    pairs = _pip_pairs(args[1:])
    reads = [r for flag, value in pairs if (r := _pip_read(sub, flag, value, where)) is not None]
    compiles = "--no-compile" not in args and sub == "install" and name == "pip"
    return ToolRun(
        f"{name} {sub}",
        tuple(reads),
        _pip_writes(dict(pairs), where),
        f"{name} {sub} reads only {_read_names(reads)}",
        ENV_PYTHON,
        reproducible=not compiles,
        why_not=PIP_COMPILES if compiles else "",
    )


def _uv(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    if args[:1] == ["pip"]:
        return _pip("uv pip", args[1:], where)
    words, options = _positional(args, {"--python", "-p", "--package", "--extra", "--group"})
    if words[:1] == ["venv"]:
        return ToolRun("uv venv", (), (where.at(words[1] if len(words) > 1 else ".venv"),), "")
    if words[:1] == ["tool"] or words[:2] == ["python", "install"]:
        return ToolRun("uv " + " ".join(words[:2]), (), (ANYWHERE,), "")
    if words[:1] != ["sync"]:
        return None
    only = "--no-install-project" in options or "--only-deps" in options
    return _project_install("uv sync", only, UV_MANIFESTS, "pyproject.toml and uv.lock", where)


def _project_install(
    tool: str, only_manifests: bool, manifests: str, named: str, where: Where
) -> ToolRun:
    """An install from a project's manifests that, unless told not to, installs the project
    itself too (and may then read any file of it)."""
    if only_manifests:
        reads, summary = ReadSet(where.cwd, manifests), f"{tool} reads only {named}"
    else:
        reads = ReadSet(where.cwd, EVERYTHING)
        summary = f"{tool} installs the project itself too, so it may read any file of it"
    return ToolRun(tool, (reads,), (ANYWHERE,), summary, ENV_PYTHON)


def _poetry(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    words, options = _positional(args, {"--only", "--without", "--with", "-E", "--extras"})
    if words[:1] == ["config"]:
        return ToolRun("poetry config", (), (where.home,), "")
    if words[:1] != ["install"]:
        return None
    only = "--no-root" in options or "--only-root" in options
    named = "pyproject.toml and poetry.lock"
    return _project_install("poetry install", only, POETRY_MANIFESTS, named, where)


def _pipenv(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    if args[:1] not in (["install"], ["sync"]):
        return None
    return ToolRun(
        f"pipenv {args[0]}",
        (ReadSet(where.cwd, PIPENV_MANIFESTS),),
        (ANYWHERE,),
        f"pipenv {args[0]} reads only Pipfile and Pipfile.lock",
        ENV_PYTHON,
    )


# -- Java ---------------------------------------------------------------------------------
def _maven(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    words, options = _positional(args, {"-f", "--file", "-s", "--settings", "-pl", "-T"})
    if "-f" in options or "--file" in options or not words:
        return None
    deps_only = all(w.startswith("dependency:") for w in words)
    if deps_only:
        return ToolRun(
            "mvn " + " ".join(words),
            (ReadSet(where.cwd, MAVEN_POMS, MAVEN_EXCLUDE),),
            (posixpath.join(where.home, ".m2"),),
            "mvn dependency:* reads only pom.xml",
            ENV_JAVA,
        )
    pom = where.content(where.at("pom.xml")) or b""
    stamped = b"project.build.outputTimestamp" in pom
    return ToolRun(
        "mvn " + " ".join(words),
        (ReadSet(where.cwd, MAVEN_SOURCES, MAVEN_EXCLUDE),),
        (where.cwd, posixpath.join(where.home, ".m2")),
        "mvn reads only pom.xml, .mvn/ and src/",
        ENV_JAVA,
        reproducible=stamped,
        why_not=""
        if stamped
        else "Maven's jar entries carry the time of the build unless pom.xml sets "
        "project.build.outputTimestamp, so the jar differs on every run",
    )


def _gradle(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    words, _ = _positional(args, {"-p", "--project-dir", "-x", "--exclude-task"})
    if not words:
        return None
    return ToolRun(
        "gradle " + " ".join(words),
        (ReadSet(where.cwd, GRADLE_SOURCES, GRADLE_EXCLUDE),),
        (where.cwd, posixpath.join(where.home, ".gradle")),
        "gradle reads only the build scripts, gradle/ and src/",
        ENV_JAVA,
        reproducible=False,
        why_not="Gradle's archives keep the files' timestamps unless the build sets "
        "preserveFileTimestamps = false, so the jar differs on every run",
    )


# -- C, Ruby, PHP, system packages -------------------------------------------------------
def _cc(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    """gcc/cc with the sources named: those files and every header under the folder
    (#include may name any of them)."""
    words, options = _positional(args, {"-o", "-I", "-L", "-l", "-D", "-std", "-x"})
    sources = [w for w in words if w.endswith((".c", ".cc", ".cpp", ".s", ".S"))]
    if not sources or len(sources) != len(words):
        return None
    reads = [ReadSet(where.cwd, "|".join(re.escape(s) for s in sources))]
    reads.append(ReadSet(where.cwd, r"(.*/)?[^/]*\.(h|hh|hpp)"))
    out = where.at(options.get("-o") or "a.out")
    return ToolRun(
        name,
        tuple(reads),
        (out,),
        f"{name} reads only {', '.join(sources)} and the headers",
        ENV_C,
    )


def _bundle(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    if args[:1] == ["config"]:
        return ToolRun("bundle config", (), (ANYWHERE,), "")
    if args[:1] != ["install"] and args:
        return None
    return ToolRun(
        "bundle install",
        (ReadSet(where.cwd, BUNDLE_MANIFESTS),),
        (ANYWHERE,),
        "bundle install reads only Gemfile and Gemfile.lock",
    )


def _composer(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    words, _ = _positional(args, set())
    if words[:1] != ["install"]:
        return None
    if "--no-scripts" not in args:
        package = where.content(where.at("composer.json"))
        if package is None or b'"scripts"' in package:
            return None
    return ToolRun(
        "composer install",
        (ReadSet(where.cwd, COMPOSER_MANIFESTS),),
        (ANYWHERE,),
        "composer install reads only composer.json and composer.lock",
    )


def _system(name: str, args: list[str], where: Where, depth: int) -> ToolRun:
    """System package managers and user tools: they read no file of the build; their
    output is taken to depend on the command only (the package archive is assumed to serve
    the same versions)."""
    return ToolRun(name, (), (ANYWHERE,), "")


def _files(name: str, args: list[str], where: Where, depth: int) -> ToolRun | None:
    """mkdir, rm, cp, mv, chmod, chown, ln, touch: the result depends only on the paths
    named (cp and mv read their sources)."""
    words = [w for w in args if not w.startswith("-")]
    if name in ("chmod", "chown") and words:
        words = words[1:]
    reads: tuple[ReadSet, ...] = ()
    if name in ("cp", "mv") and len(words) >= 2:
        reads = tuple(ReadSet(where.at(w), EVERYTHING) for w in words[:-1]) + tuple(
            ReadSet(posixpath.dirname(where.at(w)), re.escape(posixpath.basename(where.at(w))))
            for w in words[:-1]
        )
    globbed = [w for w in words if any(c in w for c in "*?[")]
    if globbed and name in ("cp", "mv"):
        return None
    # `rm -rf /var/lib/apt/lists/*`: a glob writes somewhere in the folder before it
    words = [re.split(r"[*?\[]", w)[0] or "." for w in words]
    writes = tuple(where.at(w) for w in (words[-1:] if name in ("cp", "mv", "ln") else words))
    return ToolRun(name, reads, writes, "")


TOOLS: dict[str, Callable[[str, list[str], Where, int], ToolRun | None]] = {
    "go": _go,
    "cargo": _cargo,
    "npm": _npm,
    "yarn": _yarn,
    "pnpm": _pnpm,
    "next": _framework,
    "vite": _framework,
    "react-scripts": _framework,
    "corepack": _corepack,
    "uv": _uv,
    "poetry": _poetry,
    "pipenv": _pipenv,
    "mvn": _maven,
    "mvnw": _maven,
    "gradle": _gradle,
    "gradlew": _gradle,
    "gcc": _cc,
    "cc": _cc,
    "clang": _cc,
    "g++": _cc,
    "bundle": _bundle,
    "composer": _composer,
    **{name: _system for name in SYSTEM_PACKAGES | USER_TOOLS},
    **{name: _files for name in ("mkdir", "rm", "cp", "mv", "chmod", "chown", "ln", "touch")},
}
