"""Image references, compared the way Docker compares them.

Several layers need to know whether two references name the same image (a scenario's
``base_image`` change, the planner's list of external images, the cost model's pull
times), so the rule lives here, at the bottom, once.
"""

from __future__ import annotations

_IMPLIED_PREFIXES = ("docker.io/library/", "library/", "docker.io/")


def image_key(ref: str) -> str:
    """Image references compared as Docker compares them: `python` is `python:latest`."""
    ref = ref.strip()
    for prefix in _IMPLIED_PREFIXES:
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        ref += ":latest"
    return ref
