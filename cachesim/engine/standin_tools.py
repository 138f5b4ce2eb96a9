# ruff: noqa: E501  (shell scripts: their lines are as long as the shell needs)
"""The stand-in build tools of the stand-in base images: shell scripts for busybox ``sh``.

verify proves something only if a stand-in tool reads what the real tool reads: then a
re-run with the same inputs writes the same bytes, and the engine's ``COPY --from`` (keyed
by content) shows what a real build would. Each modelled tool here writes outputs whose
bytes are a digest of exactly the files ``cachesim.builders.reads`` says the real tool reads (the
same regular expressions, imported from there), its own words, folder, user and the
environment variables it reads, and the base image's marker (the "toolchain"). A tool that
is not reproducible in reality (``mvn package``, ``gradle build``, ``pip install`` without
``--no-compile``) adds a random value, so its output differs on every run, as a real one's.
Tools cachesim does not model (``make``, ``node``) either print their arguments and succeed,
or (``make``) write new random output every time.

What each real tool reads, with the source of that knowledge, is listed in
docs/cache-rules.md ("What a RUN reads"); each script's header names it too.

The user tools (``addgroup``, ``adduser``, ``useradd``, ``groupadd``) really add users, so
``USER nextjs`` after them works; ``git`` and ``curl`` never reach a network. ``wget`` is
busybox's own applet whatever PATH says (the busybox of Debian's busybox-static runs its
applets before PATH from ``sh``): it fails without a network, as a real one would.
"""

from __future__ import annotations

from cachesim.builders import reads

# The images whose real counterparts have a user of their own (docker-library images).
IMAGE_USERS = {
    "node": ("node", 1000),
    "nginx": ("nginx", 101),
    "postgres": ("postgres", 999),
    "redis": ("redis", 999),
    "gradle": ("gradle", 1000),
}


def _ere(prefixes: tuple[str, ...]) -> str:
    return "|".join(prefixes)


LIB = r"""# cachesim stand-in tool library (sourced by the stand-in tools)
CS_MARKER=$(cat /etc/cachesim-standin 2>/dev/null)
CS_READS=$(mktemp)
CS_TOOL=$(basename "$0")
CS_ARGV="$CS_TOOL $*"
cs_sha() { sha256sum | cut -c1-64; }
# cs_read ROOT INCLUDE [EXCLUDE [names]]: record the files under ROOT whose relative path
# matches INCLUDE (whole path) and not EXCLUDE, with their digests (or names only)
cs_read() {
  [ -d "$1" ] || return 0
  ( cd "$1" && find . -type f 2>/dev/null | sed 's|^\./||' | grep -E "^($2)\$" |
    if [ -n "$3" ]; then grep -Ev "$3"; else cat; fi | LC_ALL=C sort |
    while IFS= read -r f; do
      if [ "$4" = names ]; then echo "$1/$f"; else echo "$1/$f $(cs_sha < "$f")"; fi
    done ) >> "$CS_READS"
}
# cs_files ROOT INCLUDE EXCLUDE: the matching paths, relative to ROOT
cs_files() {
  [ -d "$1" ] || return 0
  ( cd "$1" && find . -type f 2>/dev/null | sed 's|^\./||' | grep -E "^($2)\$" |
    if [ -n "$3" ]; then grep -Ev "$3"; else cat; fi | LC_ALL=C sort )
}
# cs_up NAME: the nearest folder at or above the current one holding NAME (else pwd)
cs_up() {
  d=$(pwd)
  while :; do
    if [ -e "$d/$1" ]; then echo "$d"; return; fi
    [ "$d" = / ] && break
    d=$(dirname "$d")
  done
  pwd
}
cs_digest() {
  { echo "$CS_MARKER"; echo "$CS_ARGV"; pwd; id -u
     env | grep -E "^($CS_ENV)" | LC_ALL=C sort; cat "$CS_READS"; } | cs_sha
}
# cs_write FILE [random]: an executable output whose bytes are this run's digest
cs_write() {
  mkdir -p "$(dirname "$1")"
  d=$(cs_digest)
  if [ "$2" = random ]; then d="$d $(cat /proc/sys/kernel/random/uuid)"; fi
  printf '#!/bin/sh\necho "cachesim stand-in output of %s: %s"\n' "$CS_TOOL" "$d" > "$1"
  chmod 755 "$1"
}
cs_say() { echo "[stand-in] $CS_ARGV"; }
cs_glob_regex() { printf '%s' "$1" | sed 's/[.+^$(){}|]/\\&/g; s/\*/[^\/]*/g; s/?/[^\/]/g'; }
"""

GO = rf"""#!/bin/sh
# Stand-in go. go build/install read the module's Go (and cgo, assembly) files except
# _test.go, testdata/ and names starting with . or _ ("Directory and file names that begin
# with . or _ are ignored by the go tool, as are directories named testdata", go help
# packages; "go build ... ignores files that end in '_test.go'", go help build), go.mod,
# go.sum, go.work, vendor/modules.txt, the files //go:embed names (pkg.go.dev/embed), and,
# when the folder holds .git, version-control state (-buildvcs, go help build).
. /usr/lib/cachesim/lib.sh
CS_ENV='{_ere(reads.ENV_GO)}'
cs_say
sub=$1; [ $# -gt 0 ] && shift
root=$(cs_up go.mod)
gopath=${{GOPATH:-$HOME/go}}
modcache=${{GOMODCACHE:-$gopath/pkg/mod}}
cache=${{GOCACHE:-$HOME/.cache/go-build}}
module=$(sed -n 's/^module[[:space:]]*//p' "$root/go.mod" 2>/dev/null | head -n 1)
case "$sub" in
version) echo "go version go1.99-standin linux/amd64"; exit 0 ;;
env) exit 0 ;;
mod)
  case "$1" in
  download|verify) cs_read "$root" '{reads.GO_MODULE}'; cs_write "$modcache/cache/cachesim-$1" ;;
  esac
  exit 0 ;;
build|install|test|vet) ;;
*) exit 0 ;;
esac
out=""; pkgs=""; buildvcs=""
while [ $# -gt 0 ]; do
  case "$1" in
  -o) out=$2; shift ;;
  -o=*) out=${{1#-o=}} ;;
  -buildvcs=false|-buildvcs=0) buildvcs=false ;;
  -ldflags|-gcflags|-asmflags|-tags|-mod|-p|-pkgdir|-installsuffix|-buildmode|-compiler|-gccgoflags|-pgo|-exec|-run|-count|-timeout) shift ;;
  -*) ;;
  *) pkgs="$pkgs $1" ;;
  esac
  shift
done
case " $GOFLAGS " in *" -buildvcs=false "*) buildvcs=false ;; esac
first=$(echo $pkgs | cut -d' ' -f1); first=${{first:-.}}
case "$first" in
*@*) name=$(basename "${{first%@*}}") ;;
.|./) name=$(basename "${{module:-$root}}") ;;
*...) name=cachesim-all ;;
*) name=$(basename "$first") ;;
esac
bin=${{GOBIN:-$gopath/bin}}
case "$first" in
*@*) cs_write "$bin/$name"; exit 0 ;;
esac
if [ "$sub" = test ] || [ "$sub" = vet ]; then
  cs_read "$root" '{reads.GO_SOURCES}|(.*/)?testdata/.*' '{reads.HIDDEN}'
  cs_read "$root" '{reads.GO_MODULE}'
  cs_write "$cache/cachesim-$sub"
  exit 0
fi
if [ -d "$root/.git" ] && [ "$buildvcs" != false ]; then
  cs_read "$root" '.*'
else
  cs_read "$root" '{reads.GO_SOURCES}' '{reads.GO_EXCLUDE}'
  cs_read "$root" '{reads.GO_MODULE}'
  cs_files "$root" '{reads.GO_SOURCES}' '{reads.GO_EXCLUDE}' | grep '\.go$' |
  while IFS= read -r f; do
    dir=$(dirname "$root/$f")
    grep '^//go:embed ' "$root/$f" | while read -r _ patterns; do
      for p in $patterns; do
        p=$(echo "$p" | tr -d '"')
        case "$p" in
        all:*) cs_read "$dir" "$(cs_glob_regex "${{p#all:}}")(/.*)?" ;;
        *) cs_read "$dir" "$(cs_glob_regex "$p")(/.*)?" '{reads.HIDDEN}' ;;
        esac
      done
    done
  done
fi
if [ "$sub" = install ]; then
  target="$bin/$name"
elif [ -n "$out" ]; then
  case "$out" in */) target="$out$name" ;; *) target=$out; [ -d "$out" ] && target="$out/$name" ;; esac
else
  target="./$name"
fi
cs_write "$target"
cs_write "$cache/cachesim-$name"
"""

CARGO = rf"""#!/bin/sh
# Stand-in cargo. cargo build reads the package's src/, build.rs, Cargo.toml, Cargo.lock
# and .cargo/config.toml (The Cargo Book: "Package Layout", "Build Scripts",
# "Configuration"). cargo chef (github.com/LukeMathWalker/cargo-chef, README "How does it
# work") prepares a recipe from the manifests, the lockfile and the paths of the targets,
# without their code; cook reads only that recipe.
. /usr/lib/cachesim/lib.sh
CS_ENV='{_ere(reads.ENV_CARGO)}'
cs_say
sub=$1; [ $# -gt 0 ] && shift
root=$(cs_up Cargo.toml)
home=${{CARGO_HOME:-$HOME/.cargo}}
recipe=recipe.json; release=debug; bin=""; tdir=${{CARGO_TARGET_DIR:-target}}; triple=""
path=""; action=""
while [ $# -gt 0 ]; do
  case "$1" in
  prepare|cook) action=$1 ;;
  --recipe-path) recipe=$2; shift ;;
  --release) release=release ;;
  --bin) bin=$2; shift ;;
  --target) triple=$2; shift ;;
  --target-dir) tdir=$2; shift ;;
  --path) path=$2; shift ;;
  -p|--package|--features|-F|--profile|-j|--jobs|--root|--example) shift ;;
  esac
  shift
done
case "$tdir" in /*) ;; *) tdir="$root/$tdir" ;; esac
name=$(sed -n 's/^name[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' "$root/Cargo.toml" 2>/dev/null | head -n 1)
name=${{bin:-${{name:-app}}}}
outdir="$tdir/${{triple:+$triple/}}$release"
case "$sub" in
chef)
  if [ "$action" = prepare ]; then
    cs_read "$root" '{reads.CARGO_MANIFESTS}' '{reads.CARGO_EXCLUDE}'
    cs_read "$root" '{reads.CARGO_TARGETS}' '{reads.CARGO_EXCLUDE}' names
    cs_write "$recipe"
  elif [ "$action" = cook ]; then
    cs_read "$(dirname "$recipe")" "$(basename "$recipe" | sed 's/[.]/\\./g')"
    cs_write "$outdir/deps/cachesim-deps"
  fi ;;
fetch) cs_read "$root" '{reads.CARGO_MANIFESTS}' '{reads.CARGO_EXCLUDE}'; cs_write "$home/registry/cachesim-fetch" ;;
build|b)
  cs_read "$root" '{reads.CARGO_SOURCES}' '{reads.CARGO_EXCLUDE}'
  cs_write "$outdir/$name" ;;
install)
  if [ -n "$path" ]; then
    root=$(cd "$path" && pwd); cs_read "$root" '{reads.CARGO_SOURCES}' '{reads.CARGO_EXCLUDE}'
  fi
  cs_write "$home/bin/$name" ;;
esac
exit 0
"""

NODE_INSTALL = r"""
# Install from the manifests: package.json, the lockfile and the package manager's own
# configuration; with install scripts of the project (preinstall, install, postinstall,
# prepare) the output may depend on anything, so it is new on every run, as cachesim assumes.
cs_install() {
  manifests=$1; shift
  scripts=""
  if [ -f package.json ] && ! echo " $* " | grep -q ' --ignore-scripts '; then
    scripts=$(grep -E '"(preinstall|install|postinstall|prepare|prepublish)"[[:space:]]*:' package.json)
  fi
  cs_read "$(pwd)" "$manifests" '(^|/)node_modules/'
  if [ -n "$scripts" ]; then cs_write node_modules/.cachesim-installed random
  else cs_write node_modules/.cachesim-installed; fi
  mkdir -p node_modules/.bin
}
# cs_script NAME ARGS: run a package.json script, as npm run does (node_modules/.bin first)
cs_script() {
  text=$(sed -n "s/^[[:space:]]*\"$1\"[[:space:]]*:[[:space:]]*\"\(.*\)\",\{0,1\}[[:space:]]*$/\1/p" package.json 2>/dev/null | head -n 1)
  # Real npm fails on a missing script; cachesim does not predict that (it may not know
  # package.json), so the stand-in says so and succeeds, writing nothing.
  if [ -z "$text" ]; then echo "[stand-in] no script \"$1\" in package.json: nothing run" >&2; exit 0; fi
  shift
  PATH="$(pwd)/node_modules/.bin:$PATH" exec sh -c "$text $*"
}
"""

NPM = rf"""#!/bin/sh
# Stand-in npm. npm ci and npm install read package.json, package-lock.json (or
# npm-shrinkwrap.json) and .npmrc (docs.npmjs.com: "npm-ci", "package-lock.json", "npmrc"),
# and run the project's install scripts ("scripts": preinstall, install, postinstall,
# prepare). npm run NAME runs the script's text from package.json with node_modules/.bin
# on PATH (docs.npmjs.com "npm-run-script").
. /usr/lib/cachesim/lib.sh
CS_ENV='{_ere(reads.ENV_NODE)}'
{NODE_INSTALL}
cs_say
global=""; words=""
for a in "$@"; do case "$a" in -g|--global) global=1 ;; -*) ;; *) words="$words $a" ;; esac; done
set -- $words
case "$1" in
ci|install|i)
  if [ -n "$global" ]; then exit 0; fi
  if [ $# -gt 1 ]; then exit 0; fi
  cs_install '{reads.NPM_MANIFESTS}' ;;
run|run-script) shift; cs_script "$@" ;;
test|start) cs_script "$@" ;;
esac
exit 0
"""

YARN = rf"""#!/bin/sh
# Stand-in yarn. yarn install reads package.json, yarn.lock, .yarnrc(.yml) and .yarn/
# releases, plugins and patches (yarnpkg.com "yarn install", "Configuration"); yarn NAME
# and yarn run NAME run a package.json script.
. /usr/lib/cachesim/lib.sh
CS_ENV='{_ere(reads.ENV_NODE)}'
{NODE_INSTALL}
cs_say
words=""
for a in "$@"; do case "$a" in -*) ;; *) words="$words $a" ;; esac; done
set -- $words
case "$1" in
""|install) cs_install '{reads.YARN_MANIFESTS}' ;;
global|config|cache|set|policies|plugin) ;;
run) shift; cs_script "$@" ;;
*) cs_script "$@" ;;
esac
exit 0
"""

PNPM = rf"""#!/bin/sh
# Stand-in pnpm. pnpm install reads package.json (of every workspace package),
# pnpm-lock.yaml, pnpm-workspace.yaml, .npmrc, .pnpmfile.cjs and patches/; pnpm fetch reads
# only the lockfile (pnpm.io "pnpm install", "pnpm fetch": "only requires the lockfile").
. /usr/lib/cachesim/lib.sh
CS_ENV='{_ere(reads.ENV_NODE)}'
{NODE_INSTALL}
cs_say
words=""
for a in "$@"; do case "$a" in -*) ;; *) words="$words $a" ;; esac; done
set -- $words
case "$1" in
install|i) [ $# -gt 1 ] || cs_install '{reads.PNPM_MANIFESTS}' ;;
fetch) cs_read "$(pwd)" '{reads.PNPM_FETCH}'; cs_write "${{PNPM_HOME:-$HOME/.local/share/pnpm}}/store/cachesim-fetch" ;;
add|config|store|env|setup) ;;
run) shift; cs_script "$@" ;;
*) cs_script "$@" ;;
esac
exit 0
"""

FRAMEWORK = r"""#!/bin/sh
# Stand-in next / vite / react-scripts build: they bundle whatever the app imports, which
# cachesim cannot tell, so they are taken to read every file of the project (but their own
# output folder); they write only that folder (nextjs.org "next build": .next/; vite.dev
# "vite build": dist/; create-react-app: build/).
. /usr/lib/cachesim/lib.sh
CS_ENV='NODE_|NPM_CONFIG_|npm_config_|YARN_|PNPM_|NEXT_'
cs_say
[ "$1" = build ] || exit 0
case "$CS_TOOL" in
next) out=.next ;;
vite) out=dist ;;
*) out=build ;;
esac
cs_read "$(pwd)" '.*' "^$out/"
if [ "$out" = .next ]; then
  cs_write .next/standalone/server.js
  cs_write .next/static/cachesim-chunk.js
  cs_write .next/BUILD_ID
else
  cs_write "$out/index.html"
fi
exit 0
"""

PIP = rf"""#!/bin/sh
# Stand-in pip (also python -m pip, uv pip). pip install -r FILE reads FILE (and -c files);
# a local path installs that project, reading any of its files (pip.pypa.io "pip install",
# "Requirements File Format"). pip compiles the installed modules to .pyc, which carry the
# install time (timestamp-based .pyc, PEP 552), unless --no-compile: so its output is new on
# every run. It writes into --prefix, --target, a virtual environment, or /usr/local.
. /usr/lib/cachesim/lib.sh
CS_ENV='{_ere(reads.ENV_PYTHON)}'
cs_say
sub=$1; [ $# -gt 0 ] && shift
case "$sub" in install|wheel|sync|download) ;; *) exit 0 ;; esac
dest=""; random=random
[ "$CS_PIP_NAME" = "uv pip" ] || [ "$sub" != install ] && random=""
site=lib/python3/site-packages
venv=$(dirname "$(dirname "$0")")
if [ -n "$VIRTUAL_ENV" ]; then dest="$VIRTUAL_ENV/$site"
elif [ -f "$venv/pyvenv.cfg" ]; then dest="$venv/$site"
elif [ "$CS_PIP_NAME" = "uv pip" ] && [ -d .venv ]; then dest="$(pwd)/.venv/$site"
else dest="/usr/local/$site"; fi
while [ $# -gt 0 ]; do
  a=$1; v=""
  case "$a" in --*=*) v=${{a#*=}}; a=${{a%%=*}} ;; esac
  case "$a" in
  -r|--requirement|-c|--constraint)
    [ -n "$v" ] || {{ v=$2; shift; }}
    cs_read "$(dirname "$v")" "$(basename "$v" | sed 's/[.]/\\./g')" ;;
  --prefix) [ -n "$v" ] || {{ v=$2; shift; }}; dest="$v/$site" ;;
  -t|--target|-w|--wheel-dir) [ -n "$v" ] || {{ v=$2; shift; }}; dest="$v" ;;
  --root) [ -n "$v" ] || {{ v=$2; shift; }}; dest="$v/usr/local/$site" ;;
  --user) dest="$HOME/.local/$site" ;;
  --system) dest="/usr/local/$site" ;;
  --no-compile) random="" ;;
  -f|--find-links) [ -n "$v" ] || {{ v=$2; shift; }}; case "$v" in http*) ;; *) cs_read "$v" '.*' ;; esac ;;
  -i|--index-url|--extra-index-url|--python|-p|--cache-dir|--only-binary|--no-binary|--platform|--python-version|--implementation|--abi|--progress-bar) [ -n "$v" ] || shift ;;
  -*) ;;
  *) if [ "$sub" = sync ]; then cs_read "$(dirname "$a")" "$(basename "$a" | sed 's/[.]/\\./g')"
     else case "$a" in .*|/*|*.whl|*.tar.gz) cs_read "$a" '.*' ;; esac; fi ;;
  esac
  shift
done
cs_write "$dest/cachesim-$(echo "$CS_ARGV" | cs_sha | cut -c1-12).txt" $random
exit 0
"""

PYTHON = r"""#!/bin/sh
# Stand-in python: -m pip is pip, -m venv makes a virtual environment (bin/ with python and
# pip, pyvenv.cfg); anything else prints its arguments.
case "$1 $2" in
"-m pip") shift 2; exec /usr/bin/pip "$@" ;;
"-m venv")
  for d in "$@"; do :; done
  mkdir -p "$d/bin" "$d/lib/python3/site-packages"
  cp /usr/bin/pip "$d/bin/pip"; cp /usr/bin/pip "$d/bin/pip3"
  cp /usr/bin/python "$d/bin/python"; cp /usr/bin/python "$d/bin/python3"
  echo "home = /usr/bin" > "$d/pyvenv.cfg"
  exit 0 ;;
esac
echo "[stand-in] python $*"
exit 0
"""

UV = rf"""#!/bin/sh
# Stand-in uv (docs.astral.sh/uv: "uv sync", "Locking and syncing", "Docker"): uv sync reads
# pyproject.toml, uv.lock, .python-version and uv.toml, and with the project installed
# (no --no-install-project) the project's files too; it writes the project environment
# (.venv or UV_PROJECT_ENVIRONMENT). uv pip is pip (it compiles no .pyc unless asked).
. /usr/lib/cachesim/lib.sh
CS_ENV='{_ere(reads.ENV_PYTHON)}'
case "$1" in
pip) shift; CS_PIP_NAME="uv pip" exec /usr/bin/pip "$@" ;;
esac
cs_say
case "$1" in
venv) d=${{2:-.venv}}; case "$d" in -*) d=.venv ;; esac
  mkdir -p "$d/bin" "$d/lib/python3/site-packages"; echo "home = /usr/bin" > "$d/pyvenv.cfg"
  cp /usr/bin/pip "$d/bin/pip"; cp /usr/bin/python "$d/bin/python" ;;
sync)
  if echo " $* " | grep -Eq ' --(no-install-project|only-deps) '; then
    cs_read "$(pwd)" '{reads.UV_MANIFESTS}'
  else
    cs_read "$(pwd)" '.*'
  fi
  env=${{UV_PROJECT_ENVIRONMENT:-.venv}}
  mkdir -p "$env/bin"; echo "home = /usr/bin" > "$env/pyvenv.cfg"
  cs_write "$env/lib/python3/site-packages/cachesim-sync.txt" ;;
esac
exit 0
"""

POETRY = rf"""#!/bin/sh
# Stand-in poetry (python-poetry.org "Basic usage", "poetry install"): install reads
# pyproject.toml and poetry.lock (and poetry.toml); without --no-root it installs the
# project too and may read any of its files.
. /usr/lib/cachesim/lib.sh
CS_ENV='{_ere(reads.ENV_PYTHON)}'
cs_say
[ "$1" = install ] || exit 0
if echo " $* " | grep -Eq ' --(no-root|only-root) '; then
  cs_read "$(pwd)" '{reads.POETRY_MANIFESTS}'
else
  cs_read "$(pwd)" '.*'
fi
if [ "$POETRY_VIRTUALENVS_IN_PROJECT" = true ]; then dest=.venv/lib/python3/site-packages
else dest=/usr/local/lib/python3/site-packages; fi
cs_write "$dest/cachesim-poetry.txt"
exit 0
"""

MAVEN = rf"""#!/bin/sh
# Stand-in mvn (maven.apache.org "Introduction to the Standard Directory Layout", "POM
# Reference"): dependency:* goals read pom.xml (and .mvn/); building goals read pom.xml,
# .mvn/ and src/ of every module. A jar carries the build time unless pom.xml sets
# project.build.outputTimestamp ("Configuring for Reproducible Builds"), so it is new on
# every run.
. /usr/lib/cachesim/lib.sh
CS_ENV='{_ere(reads.ENV_JAVA)}'
cs_say
goals=""
for a in "$@"; do case "$a" in -*) ;; *) goals="$goals $a" ;; esac; done
deps=1
for g in $goals; do case "$g" in dependency:*) ;; *) deps="" ;; esac; done
if [ -n "$deps" ]; then
  cs_read "$(pwd)" '{reads.MAVEN_POMS}' '{reads.MAVEN_EXCLUDE}'
  cs_write "$HOME/.m2/repository/cachesim-deps"
  exit 0
fi
cs_read "$(pwd)" '{reads.MAVEN_SOURCES}' '{reads.MAVEN_EXCLUDE}'
random=random; grep -q 'project.build.outputTimestamp' pom.xml 2>/dev/null && random=""
art=$(sed '/<parent>/,/<\/parent>/d' pom.xml 2>/dev/null | sed -n 's/.*<artifactId>\(.*\)<\/artifactId>.*/\1/p' | head -n 1)
ver=$(sed '/<parent>/,/<\/parent>/d' pom.xml 2>/dev/null | sed -n 's/.*<version>\(.*\)<\/version>.*/\1/p' | head -n 1)
cs_write "target/${{art:-app}}-${{ver:-1.0}}.jar" $random
exit 0
"""

GRADLE = rf"""#!/bin/sh
# Stand-in gradle (docs.gradle.org "Build file basics", "Reproducible archives"): reads
# the build scripts, settings, gradle.properties, gradle/, buildSrc/ and src/; its
# archives keep file timestamps by default, so a jar is new on every run.
. /usr/lib/cachesim/lib.sh
CS_ENV='{_ere(reads.ENV_JAVA)}'
cs_say
cs_read "$(pwd)" '{reads.GRADLE_SOURCES}' '{reads.GRADLE_EXCLUDE}'
cs_write "build/libs/$(basename "$(pwd)").jar" random
exit 0
"""

MAKE = r"""#!/bin/sh
# Stand-in make: a Makefile may read anything, and cachesim does not model it, so it
# writes new output on every run (one file per target named, else cachesim-make-output).
. /usr/lib/cachesim/lib.sh
CS_ENV='CC|CFLAGS'
cs_say
targets=""
while [ $# -gt 0 ]; do
  case "$1" in -C) cd "$2" || exit 1; shift ;; -f|-j|-l|-I|-o|-W) shift ;; -*|*=*) ;; *) targets="$targets $1" ;; esac
  shift
done
for t in ${targets:-cachesim-make-output}; do
  case "$t" in clean|install|all|test|check) t="cachesim-make-$t" ;; esac
  cs_write "$t" random
done
exit 0
"""

CC = rf"""#!/bin/sh
# Stand-in cc/gcc with the sources named: those files and the headers of the folder
# (#include may name any); the output is -o FILE or a.out.
. /usr/lib/cachesim/lib.sh
CS_ENV='{_ere(reads.ENV_C)}'
cs_say
out=a.out
while [ $# -gt 0 ]; do
  case "$1" in
  -o) out=$2; shift ;;
  -I|-L|-l|-D|-x) shift ;;
  -*) ;;
  *) cs_read "$(pwd)" "$(echo "$1" | sed 's/[.]/\\./g')" ;;
  esac
  shift
done
cs_read "$(pwd)" '(.*/)?[^/]*\.(h|hh|hpp)'
cs_write "$out"
exit 0
"""

BUNDLE = rf"""#!/bin/sh
# Stand-in bundle (bundler.io "bundle install"): reads Gemfile, Gemfile.lock and
# .bundle/config; installs into BUNDLE_PATH or /usr/local/bundle.
. /usr/lib/cachesim/lib.sh
CS_ENV='BUNDLE_|GEM_'
cs_say
case "$1" in ""|install) ;; *) exit 0 ;; esac
cs_read "$(pwd)" '{reads.BUNDLE_MANIFESTS}'
cs_write "${{BUNDLE_PATH:-${{GEM_HOME:-/usr/local/bundle}}}}/cachesim-installed.txt"
exit 0
"""

COMPOSER = rf"""#!/bin/sh
# Stand-in composer (getcomposer.org "Basic usage"): install reads composer.json,
# composer.lock (and auth.json) and writes vendor/; the project's scripts may read anything,
# so with "scripts" (and no --no-scripts) the output is new on every run.
. /usr/lib/cachesim/lib.sh
CS_ENV='COMPOSER_'
cs_say
case "$1" in install) ;; *) exit 0 ;; esac
cs_read "$(pwd)" '{reads.COMPOSER_MANIFESTS}'
random=""
if grep -q '"scripts"' composer.json 2>/dev/null && ! echo " $* " | grep -q ' --no-scripts '; then random=random; fi
cs_write vendor/autoload.php $random
exit 0
"""

USERS = r"""#!/bin/sh
# Stand-in addgroup / adduser / groupadd / useradd (the busybox of the stand-ins has none):
# they add the user or group to /etc/passwd and /etc/group, with the ids asked for, and make
# the home folder, so that `USER name` and `--chown=name` after them work. Options of the
# busybox (-S -D -G -u -g -h -s), Debian (--system --group --uid --gid --ingroup --home)
# and shadow (-r -m -u -g -G -d -s) forms are accepted.
tool=$(basename "$0")
uid=""; gid=""; group=""; home=""; names=""; usergroup=""; nohome=""
while [ $# -gt 0 ]; do
  case "$1" in
  -u|--uid) uid=$2; shift ;;
  -g|--gid)
    case "$tool" in addgroup|groupadd) gid=$2 ;; useradd) group=$2 ;; esac; shift ;;
  -G|--ingroup) group=$2; shift ;;
  -h|-d|--home|--home-dir) home=$2; shift ;;
  -s|--shell|-c|--comment|--gecos|-k|-K|-p|-e|-f|--password|--firstuid|--lastuid|--key) shift ;;
  --group|-U|--user-group) usergroup=1 ;;
  -H|-M|--no-create-home) nohome=1 ;;
  --disabled-password|--disabled-login|-D|-S|-r|--system|-m|--create-home|-l|-N|--no-user-group|-o|--non-unique|-f|--force|--quiet|-q) ;;
  -*) ;;
  *) names="$names $1" ;;
  esac
  shift
done
set -- $names
name=$1
[ -n "$name" ] || { echo "$tool: missing name" >&2; exit 1; }
free_id() { n=1001; while cut -d: -f3 "$1" | grep -qx "$n"; do n=$((n + 1)); done; echo $n; }
group_id() { grep "^$1:" /etc/group | cut -d: -f3; }
case "$tool" in
addgroup|groupadd)
  if [ $# -ge 2 ] && [ "$tool" = addgroup ]; then  # addgroup USER GROUP: add to a group
    sed -i "s/^\($2:[^:]*:[^:]*:.*\)\$/\1,$1/; s/:,/:/" /etc/group; exit 0
  fi
  grep -q "^$name:" /etc/group && exit 0
  echo "$name:x:${gid:-$(free_id /etc/group)}:" >> /etc/group ;;
adduser|useradd)
  if [ $# -ge 2 ] && [ "$tool" = adduser ]; then group=$2; fi
  grep -q "^$name:" /etc/passwd && exit 0
  uid=${uid:-$(free_id /etc/passwd)}
  if [ -n "$group" ]; then
    gid=$(group_id "$group"); [ -n "$gid" ] || gid=$group
  elif [ -n "$usergroup" ] || [ "$tool" = useradd ] || ! grep -q "^$name:" /etc/group; then
    grep -q "^$name:" /etc/group || echo "$name:x:$uid:" >> /etc/group
    gid=$(group_id "$name")
  fi
  home=${home:-/home/$name}
  echo "$name:x:$uid:${gid:-$uid}::$home:/bin/sh" >> /etc/passwd
  if [ -z "$nohome" ]; then mkdir -p "$home" && chown "$uid:${gid:-$uid}" "$home"; fi ;;
esac
exit 0
"""

GETENT = r"""#!/bin/sh
# Stand-in getent: passwd and group lookups in /etc.
db=$1; shift
[ -f "/etc/$db" ] || exit 2
if [ $# -eq 0 ]; then cat "/etc/$db"; exit 0; fi
grep -E "^$1:|^[^:]*:[^:]*:$1:" "/etc/$db" || exit 2
"""

GIT = r"""#!/bin/sh
# Stand-in git: no network. rev-parse prints a fixed revision (or .git/HEAD's); other
# commands print their arguments and succeed; clone and fetch fail, as without a network.
case "$1" in
rev-parse) echo 0000000000000000000000000000000000000000 ;;
describe) echo v0.0.0-standin ;;
clone|fetch|pull|ls-remote|submodule) echo "fatal: unable to access: no network (stand-in git)" >&2; exit 128 ;;
*) echo "[stand-in] git $*" >&2 ;;
esac
exit 0
"""

DOWNLOAD = r"""#!/bin/sh
# Stand-in curl / wget: no network. A download to a file (-o FILE, -O, -O FILE for wget)
# writes a fixed text; to standard output, nothing (so `curl ... | sh` runs nothing).
tool=$(basename "$0"); out=""; url=""
while [ $# -gt 0 ]; do
  case "$1" in
  -o|--output) out=$2; shift ;;
  -O) if [ "$tool" = wget ] && [ $# -gt 1 ] && [ "${2#-}" = "$2" ] && [ "${2#http}" = "$2" ]; then out=$2; shift; else out=REMOTE; fi ;;
  -qO|-qO-|-O-) [ "$1" = -qO ] && { out=$2; shift; } ;;
  -H|-d|-u|-A|-X|--header|--data|--user|--retry|--max-time|-w) shift ;;
  -*) ;;
  *) url=$1 ;;
  esac
  shift
done
[ "$out" = REMOTE ] && out=$(basename "$url")
[ "$out" = - ] && out=""
if [ -n "$out" ]; then echo "cachesim stand-in download of $url" > "$out"; fi
exit 0
"""

EXEC_REST = r"""#!/bin/sh
# Stand-in gosu / su-exec / sudo / tini / dumb-init: run the command that follows.
tool=$(basename "$0")
case "$tool" in
gosu|su-exec) shift ;;
sudo) while [ $# -gt 0 ]; do case "$1" in -u) shift 2 ;; -*) shift ;; *) break ;; esac; done ;;
*) [ "$1" = -- ] && shift ;;
esac
exec "$@"
"""

BASH = "#!/bin/busybox sh\n# Stand-in bash: busybox sh (ash), which runs most bash scripts.\n"
BASH += 'exec /bin/busybox sh "$@"\n'

# name -> script; names not listed here are print-and-succeed stubs (standin.STUBS)
TOOLS: dict[str, str] = {
    "go": GO,
    "cargo": CARGO,
    "npm": NPM,
    "yarn": YARN,
    "pnpm": PNPM,
    "next": FRAMEWORK,
    "vite": FRAMEWORK,
    "react-scripts": FRAMEWORK,
    "pip": PIP,
    "pip3": PIP,
    "python": PYTHON,
    "python3": PYTHON,
    "uv": UV,
    "poetry": POETRY,
    "mvn": MAVEN,
    "gradle": GRADLE,
    "make": MAKE,
    "gcc": CC,
    "cc": CC,
    "bundle": BUNDLE,
    "composer": COMPOSER,
    "addgroup": USERS,
    "adduser": USERS,
    "groupadd": USERS,
    "useradd": USERS,
    "getent": GETENT,
    "git": GIT,
    "curl": DOWNLOAD,
    "wget": DOWNLOAD,
    "gosu": EXEC_REST,
    "su-exec": EXEC_REST,
    "sudo": EXEC_REST,
    "tini": EXEC_REST,
    "dumb-init": EXEC_REST,
}
