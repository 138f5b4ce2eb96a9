"""What one ``docker build`` sees on disk: the hand-off between the simulator and a real engine.

A scenario is a sequence of builds with changes in between. ``BuildRequest`` is one of
those builds after its changes were applied: the Dockerfile text, the .dockerignore text,
every context file with its bytes, mode and modification time, the build arguments and
the flags. The real-engine runner (``cachesim.engine``) writes it to a temporary folder
and builds it; the simulator predicts the same build from the same value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cachesim.context.downloads import url_content


@dataclass(frozen=True, slots=True)
class ContextFile:
    """One regular file of the build context."""

    content: bytes
    mode: int = 0o644
    mtime: float = 1_700_000_000.0  # seconds since the epoch; `touch` moves it forward


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """The inputs of one build, exactly as the builder would get them."""

    name: str
    dockerfile: str
    files: Mapping[str, ContextFile]
    dockerignore: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    prune_before: bool = False  # `docker builder prune -af` runs just before this build
    # External images the Dockerfile names (FROM and COPY --from), each with its version:
    # 0 at first, +1 each time a `base_image` change says upstream published a new digest.
    images: Mapping[str, int] = field(default_factory=dict)
    # What each URL an `ADD https://...` names serves at this build (the scenario's `urls:`
    # and `{url: ..., content: ...}` changes); a URL not listed serves ``url_content(url)``.
    urls: Mapping[str, bytes] = field(default_factory=dict)

    def download(self, url: str) -> bytes:
        """The bytes ``url`` serves at this build."""
        return self.urls.get(url, url_content(url))

    # The scenario's `runs:` declarations (cachesim.builders.reads.DeclaredRun): what RUNs read,
    # write, and in which builds they fail. The engine never sees them.
    runs: tuple = ()
