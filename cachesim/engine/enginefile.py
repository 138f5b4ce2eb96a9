"""The Dockerfile the real engine is given: the scenario's, with two rewrites that keep lines.

No registry is reachable from a verification run, and two things in real Dockerfiles would
send the engine to one:

- a ``# syntax=docker/dockerfile:1`` parser directive makes BuildKit fetch that frontend
  image before it reads anything else. The line is replaced by a line that directs nothing
  new: ``# escape=`` with the escape character the file already uses (so any directive
  after it, e.g. ``# check=``, still counts, since BuildKit stops reading directives at the
  first plain comment); when an escape directive follows later, the two lines swap roles;
  when one came before, the line becomes a plain comment. The builders' built-in frontend
  then reads the file. The line count stays, so every line number (in the logs, in error
  messages, in build checks) is the one the scenario's author sees.
- ``FROM image@sha256:<digest>`` (and ``COPY --from=image@sha256:...``) name an image by
  content. A local stand-in cannot have a given digest (its digest is that of what cachesim
  imported), and ``docker import`` cannot tag by digest. So each distinct pinned reference
  becomes one local tag (``cachesim-pinned/python:3.12-slim-<12 digest hex>``), the same
  tag wherever and whenever it appears in the run, and the stand-in is imported under it.
  That keeps the cache behaviour: neither builder keys a step on the *name* of its base,
  only on the image it resolves to (BuildKit: the image config digest; the classic
  builder: the parent image id), and one pinned reference still means one image for the
  whole run, as a digest does upstream.

The simulator predicts from the scenario's Dockerfile (honouring a syntax directive, as a
user's engine would); ``cachesim verify`` predicts from the text without the directive, as
the engine here reads it, and the runner maps the local tags back to the scenario's
references in what it observed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

PIN_REPOSITORY = "cachesim-pinned"
_DIRECTIVE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*?)\s*$")
_KNOWN_DIRECTIVES = {"syntax", "escape", "check"}
_DIGEST = re.compile(r"@sha256:([0-9a-f]{64})$")
_REF_EDGE = r"[\w./:@-]"


@dataclass(frozen=True, slots=True)
class EngineDockerfile:
    """The text to build and the local tag given to each digest-pinned reference."""

    text: str
    pinned: Mapping[str, str] = field(default_factory=dict)  # scenario ref -> local tag
    syntax_line: int | None = None  # 1-based line of the removed `# syntax=` directive

    def local_ref(self, ref: str) -> str:
        """The reference the engine knows the image ``ref`` by."""
        return self.pinned.get(ref, ref)

    def scenario_text(self, text: str) -> str:
        """``text`` printed by the engine, with each local tag named as in the scenario."""
        for ref, tag in self.pinned.items():
            text = re.sub(rf"(?:docker\.io/)?{re.escape(tag)}", lambda _m, r=ref: r, text)
        return text


def is_pinned(ref: str) -> bool:
    """True for a reference that names its image by digest (``name@sha256:<64 hex>``)."""
    return _DIGEST.search(ref) is not None


def pinned_tag(ref: str) -> str:
    """The local tag that stands for the digest-pinned ``ref`` (valid as a Docker reference).

    ``python:3.12-slim@sha256:abc...`` -> ``cachesim-pinned/python:3.12-slim-abc...``
    (12 digest characters); ``ghcr.io/o/app@sha256:...`` -> ``cachesim-pinned/ghcr.io-o-app:
    latest-...``. Distinct digests give distinct tags.
    """
    match = _DIGEST.search(ref)
    if match is None:
        raise ValueError(f"{ref!r} is not pinned by a sha256 digest")
    name = ref[: match.start()]
    last = name.rsplit("/", 1)[-1]
    tag = "latest"
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/"):
        name = name.removeprefix(prefix)
    repo = re.sub(r"[^a-z0-9._-]+", "-", name.lower().replace("/", "-")).strip("-._")
    return f"{PIN_REPOSITORY}/{repo or 'image'}:{tag[:100]}-{match.group(1)[:12]}"


def _without_syntax(lines: list[str]) -> tuple[list[str], int | None]:
    """The lines with a leading ``# syntax=`` directive neutralised (see the module doc)."""
    directives: dict[str, int] = {}
    for number, line in enumerate(lines):
        match = _DIRECTIVE.match(line.strip())
        if not match or match.group(1).lower() not in _KNOWN_DIRECTIVES:
            break
        directives.setdefault(match.group(1).lower(), number)
    at = directives.get("syntax")
    if at is None:
        return lines, None
    out = list(lines)
    escape_at = directives.get("escape")
    if escape_at is None:
        out[at] = "# escape=\\"
    elif escape_at > at:
        out[at] = lines[escape_at].strip()
        out[escape_at] = f"# (cachesim: this line's escape directive moved to line {at + 1})"
    else:
        out[at] = "# (cachesim: a syntax directive was here; the built-in frontend reads this)"
    return out, at + 1


def without_syntax(dockerfile: str) -> str:
    """The Dockerfile with its ``# syntax=`` directive neutralised, as the engine reads it.

    ``cachesim verify`` predicts from this text too: the engine's built-in frontend reads
    the file, so the prediction must use that frontend's syntax (heredocs on 20.10 are a
    parse error there), not the one the directive would have pulled.
    """
    keep_newline = dockerfile.endswith("\n")
    lines, _ = _without_syntax(dockerfile.splitlines())
    return "\n".join(lines) + ("\n" if keep_newline else "")


def for_engine(dockerfile: str, images: Iterable[str]) -> EngineDockerfile:
    """The Dockerfile the engine builds, for a Dockerfile and the external images it names."""
    _, syntax_line = _without_syntax(dockerfile.splitlines())
    text = without_syntax(dockerfile)
    pinned = {ref: pinned_tag(ref) for ref in sorted(set(images)) if is_pinned(ref)}
    for ref, tag in pinned.items():
        pattern = rf"(?<!{_REF_EDGE}){re.escape(ref)}(?!{_REF_EDGE})"
        text = re.sub(pattern, lambda _m, t=tag: t, text)
    return EngineDockerfile(text, pinned, syntax_line)
