"""A real project folder as a scenario: the Dockerfile, the .dockerignore and the context.

``docker build DIR`` reads ``DIR/Dockerfile`` unless ``-f PATH`` names another (a path
relative to the current folder, like the CLI's). The ignore file is ``DIR/.dockerignore``,
except that a Dockerfile-specific one, ``PATH.dockerignore`` beside the Dockerfile, takes
precedence when it exists (Docker's documented rule for BuildKit:
https://docs.docker.com/build/concepts/context/#filename-and-location). Nothing in the
folder is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cachesim.context.changes import Change, Edit
from cachesim.context.folder import FolderReader, Snapshot
from cachesim.context.workspace import ContextFile
from cachesim.core.errors import InputError
from cachesim.sources.scenario import Build, Scenario


@dataclass(frozen=True, slots=True)
class Project:
    """What a build of the folder starts from."""

    folder: Path
    dockerfile_path: Path
    dockerfile: str
    snapshot: Snapshot
    ignore_file: str | None  # which ignore file applies, for the report

    @property
    def files(self) -> dict[str, ContextFile]:
        """Context files as the simulator takes them; ignored ones (outside pruned
        folders) as empty stand-ins, so a folder whose files are all ignored still exists."""
        files = self.snapshot.context_files()
        for path in self.snapshot.ignored:
            if not path.endswith("/"):
                files.setdefault(path, ContextFile(b""))
        return files


def read_project(folder: str | Path, dockerfile: str | None = None) -> Project:
    """Read ``folder`` as ``docker build [-f dockerfile] folder`` would see it."""
    root = Path(folder)
    if not root.exists():
        raise InputError("no such folder", str(folder))
    if not root.is_dir():
        raise InputError("not a folder (give the build context's folder)", str(folder))
    path = Path(dockerfile) if dockerfile else root / "Dockerfile"
    if not path.is_file():
        hint = "" if dockerfile else " (give --dockerfile PATH)"
        raise InputError(f"no Dockerfile{hint}", str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the Dockerfile: {err}", str(path)) from None
    specific = path.with_name(path.name + ".dockerignore")
    ignore = specific if specific.is_file() else None
    snapshot = FolderReader(root, keep_content=True, ignore_file=ignore).snapshot()
    shown = str(ignore) if ignore else (".dockerignore" if snapshot.dockerignore else None)
    return Project(root, path, text, snapshot, shown)


def scenario_of(
    project: Project,
    builds: tuple[Build, ...],
    build_args: dict[str, str | None] | None = None,
    target: str | None = None,
    engine: str = "buildkit",
) -> Scenario:
    """A scenario whose context is the folder as it is, with the given builds."""
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in project.folder.resolve().name)
    return Scenario(
        name=name or "project",
        description=f"the folder {project.folder}",
        builders=(engine,),
        dockerfile=project.dockerfile,
        dockerignore=project.snapshot.dockerignore,
        files=project.files,
        build_args=dict(build_args or {}),
        target=target,
        builds=builds,
        source=str(project.folder),
    )


EDIT_MARK = "\n# an edit (cachesim what-if)\n"


def edit_changes(project: Project, path: str) -> tuple[Change, ...]:
    """An edit of ``path``: every kept file at it or below it gets a line appended."""
    path = path.strip("/")
    files = project.snapshot.entries
    found = [p for p in files if p == path or p.startswith(path + "/") or path in ("", ".")]
    if not found:
        if any(p == path or p.startswith(path.rstrip("/") + "/") for p in project.snapshot.ignored):
            raise InputError(
                f"'{path}' is kept out by .dockerignore: an edit rebuilds nothing",
                str(project.folder),
            )
        raise InputError(f"no file '{path}' in the context", str(project.folder))
    return tuple(Edit(p, append=EDIT_MARK) for p in found)
