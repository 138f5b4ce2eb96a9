"""``ADD https://...``: what the builder downloads, and which of it its cache key sees.

Seen on Docker 20.10 and 28.5, both builders (scenarios add-url, add-url-legacy): the
builder fetches the URL at every build and keys the step by the *content* it got and the
file's name (the last part of the URL's path), not by the URL: a mirror serving the same
bytes under another address keeps the step cached, a new ``Last-Modified`` with the same
bytes keeps it cached, and a return to earlier bytes finds the earlier result.
(BuildKit's ``source/http``: the download's digest goes into the key; the COPY that puts
it in place is keyed by its content checksum.)
"""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit


def is_url(text: str) -> bool:
    """An ``ADD`` source the builder downloads (BuildKit's ``isURL``: an http(s) prefix)."""
    return text.startswith(("http://", "https://"))


def download_name(url: str) -> str:
    """The name the downloaded file gets: the URL path's last part, or ``download``
    (BuildKit's ``getFileName`` without a Content-Disposition header)."""
    base = posixpath.basename(urlsplit(url).path.rstrip("/")) if urlsplit(url).path else ""
    return base if base not in ("", ".", "/") else "download"


def url_content(url: str) -> bytes:
    """What a URL the scenario does not list serves: the same bytes at every build (so
    cachesim assumes an unlisted download never changes; verify serves exactly these)."""
    return f"content of {url}\n".encode()
