"""The two kinds of trouble cachesim tells apart.

``InputError`` is *bad input*: a malformed scenario, a missing file, an unknown option.
The CLI prints it as one line and exits 2. A Dockerfile that the builder itself would
reject is *not* bad input: it is a prediction (a failed build) and travels as
``BuildFailure`` inside the simulation results.
"""

from __future__ import annotations

from dataclasses import dataclass


class InputError(Exception):
    """Bad input named by file and, where known, line: ``error: FILE:LINE: why``."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        return f"{where}{self.message}"


@dataclass(frozen=True, slots=True)
class BuildFailure(Exception):
    """The builder would stop: ``reason`` in the engine's words, at Dockerfile ``line``."""

    reason: str
    line: int | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason
