"""``read_folder``: a scenario's ``context:`` folder and ``suggest``'s project, read as is.

What is expected comes from the folder itself (its bytes, ``lstat`` modes, ``os.walk``'s
order), never from the reader: it shares FolderReader's walk, so these pin that sharing
changed nothing for its callers (cachesim/sources/scenario.py, cachesim/whatif/suggest_inputs.py).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cachesim.context.snapshot import read_folder
from cachesim.core.errors import InputError


def _folder(root: Path) -> Path:
    for path, data in {
        "z.txt": b"z",
        "a/x.py": b"x",
        "a-b/y.py": b"y",
        "a/sub/deep.bin": b"\0" * 5000,
        ".git/objects/pack/p.pack": b"pack",
    }.items():
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_bytes(data)
    (root / "a/x.py").chmod(0o755)
    (root / "link").symlink_to("z.txt")
    return root


def _walked(root: Path) -> list[str]:
    out = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            full = Path(folder, name)
            if stat.S_ISREG(full.lstat().st_mode):
                out.append(full.relative_to(root).as_posix())
    return out


def test_every_regular_file_in_walk_order_with_bytes_and_modes(tmp_path):
    root = _folder(tmp_path)
    files = read_folder(root)
    assert list(files) == _walked(root)  # symlinks left out, os.walk's order kept
    assert files["a/x.py"].content == b"x" and files["a/x.py"].mode == 0o755
    assert files["a/sub/deep.bin"].mtime == (root / "a/sub/deep.bin").stat().st_mtime


def test_files_known_by_stat_are_not_read(tmp_path):
    root = _folder(tmp_path)
    files = read_folder(root, lambda rel, info: rel.startswith(".git/") or info.st_size > 1000)
    info = (root / "a/sub/deep.bin").lstat()
    assert files["a/sub/deep.bin"].content == f"size 5000 mtime {info.st_mtime_ns}".encode()
    assert files[".git/objects/pack/p.pack"].content.startswith(b"size 4 mtime ")
    assert files["z.txt"].content == b"z"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_one_clear_error(tmp_path):
    root = _folder(tmp_path)
    (root / "z.txt").chmod(0)
    with pytest.raises(InputError, match="cannot read"):
        read_folder(root)
