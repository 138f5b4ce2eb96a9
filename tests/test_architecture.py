"""The package's shape, checked from its source (issue 6).

Three rules a newcomer can rely on when reading cachesim/ top to bottom:

- the import order: each subpackage imports only its own and earlier layers, so the folder
  listing is the pipeline (the public facade ``cachesim`` itself only from ``whatif/`` and ``app/``);
- no block of library code grades D or worse under radon's cyclomatic complexity;
- no function parameter is annotated ``Any`` (a reader should see what a function takes).

Each test lists every violation in its failure message, so one run says all that is left.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

# The what-if tools and the command line are programs on top of the library: like the
# lessons, they may use the public facade (issue 6: "the lessons and the what-if tools use
# only it").
FACADE_USERS = ("whatif", "app")

PACKAGE = Path(__file__).resolve().parent.parent / "cachesim"

# The pipeline, first to last: a module may import its own layer and the layers before it.
LAYERS = (
    "core",
    "logs",
    "parsing",
    "context",
    "planning",
    "builders",
    "sources",
    "simulation",
    "cost",
    "output",
    "engine",
    "whatif",
    "app",
)

# The facade modules sit outside the order: they gather the public names of every layer.
FACADE = ("__init__.py", "__main__.py")


def _library_files() -> list[Path]:
    """Every Python module of the package, sorted so failure messages read the same each run."""
    return sorted(PACKAGE.rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def _module_name(path: Path) -> str:
    """``cachesim/output/plot.py`` -> ``cachesim.output.plot`` (a package is its __init__)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer_of(module: str) -> str | None:
    """The layer a dotted cachesim module belongs to, or None for the facade itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _imported(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module) for every cachesim import anywhere in the tree.

    ``ast.walk`` visits function bodies too, so an import deferred into a function (often
    done to dodge an import cycle) counts like one at the top of the file.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            # `from cachesim import output` names a subpackage, not a facade attribute.
            if target == "cachesim":
                for alias in node.names:
                    if (PACKAGE / alias.name).is_dir():
                        yield node.lineno, f"cachesim.{alias.name}"


def _import_violations() -> list[str]:
    found = []
    for path in _library_files():
        if path.parent == PACKAGE and path.name in FACADE:
            continue
        module = _module_name(path)
        own = _layer_of(module)
        assert own in LAYERS, f"{_relative(path)}: subpackage {own!r} is not in LAYERS"
        rank = LAYERS.index(own)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, target in _imported(tree, module, path.name == "__init__.py"):
            if target != "cachesim" and not target.startswith("cachesim."):
                continue
            layer = _layer_of(target)
            if layer is None:
                allowed = own in FACADE_USERS
            else:
                allowed = layer in LAYERS and LAYERS.index(layer) <= rank
            if not allowed:
                found.append(f"{_relative(path)}:{line} ({own}) imports {target}")
    return found


def test_each_layer_imports_only_itself_and_earlier_layers() -> None:
    violations = _import_violations()
    assert not violations, "imports against the layer order:\n" + "\n".join(violations)


def test_no_block_of_the_library_grades_d_or_worse() -> None:
    from radon import complexity  # the dev extra: a missing radon fails, never skips

    poor = []
    for path in _library_files():
        for block in complexity.cc_visit(path.read_text(encoding="utf-8")):
            grade = complexity.cc_rank(block.complexity)
            if grade >= "D":
                poor.append(f"{_relative(path)}:{block.lineno} {block.fullname} {grade} "
                            f"({block.complexity})")
    assert not poor, "radon cc grades these blocks D or worse:\n" + "\n".join(poor)


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.arg]:
    arguments = function.args
    yield from arguments.posonlyargs
    yield from arguments.args
    yield from arguments.kwonlyargs
    if arguments.vararg:
        yield arguments.vararg
    if arguments.kwarg:
        yield arguments.kwarg


def _is_any(annotation: ast.expr | None) -> bool:
    """True when the annotation says ``Any``: bare, quoted, or as one arm of a union.

    A container of Any (``Sequence[Any]``) still tells the reader the shape, so it passes.
    """
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return False
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _is_any(annotation.left) or _is_any(annotation.right)
    if isinstance(annotation, ast.Subscript) and _name(annotation.value) == "Optional":
        return _is_any(annotation.slice)
    return _name(annotation) == "Any"


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def test_no_function_parameter_is_typed_any() -> None:
    typed_any = []
    for path in _library_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for parameter in _parameters(node):
                    if _is_any(parameter.annotation):
                        typed_any.append(
                            f"{_relative(path)}:{parameter.lineno} {node.name}({parameter.arg})"
                        )
    assert not typed_any, "parameters annotated Any:\n" + "\n".join(typed_any)


def test_the_checks_see_a_violation() -> None:
    """The walkers must find relative and function-level imports and quoted Any, or they prove
    nothing."""
    tree = ast.parse("def f():\n    from ..engine import runner\nfrom . import plot\n")
    found = set(_imported(tree, "cachesim.output.report", False))
    assert found == {(2, "cachesim.engine"), (3, "cachesim.output")}

    def annotation(text: str) -> ast.expr:
        return ast.parse(f"x: {text}").body[0].annotation

    assert _is_any(annotation("'Any'"))
    assert _is_any(annotation("str | typing.Any"))
    assert not _is_any(annotation("Sequence[Any]"))
