"""Count assertions per test function at two git revisions; list tests that lost some.

Usage: python3 scripts/count-asserts.py OLD_REV NEW_REV (run in the repository). A refactor
that keeps behaviour must not lower any test function's count (issue 6)."""

import ast
import subprocess
import sys


def counts(rev):
    files = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, "tests", "benchmarks"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    out = {}
    for f in files:
        if not f.endswith(".py"):
            continue
        src = subprocess.run(["git", "show", f"{rev}:{f}"], capture_output=True, text=True).stdout
        tree = ast.parse(src)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = sum(isinstance(x, ast.Assert) for x in ast.walk(node))
                n += sum(
                    isinstance(x, ast.Call) and getattr(x.func, "attr", "") in ("raises", "fail")
                    for x in ast.walk(node)
                )
                out[f"{f.split('/')[-1]}::{node.name}"] = n
    return out


a, b = counts(sys.argv[1]), counts(sys.argv[2])
lost = [(k, a[k], b.get(k)) for k in a if b.get(k, -1) < a[k]]
print(
    f"{sys.argv[1]}: {len(a)} functions, {sum(a.values())} assertions; "
    f"{sys.argv[2]}: {len(b)} functions, {sum(b.values())} assertions"
)
for k, x, y in sorted(lost):
    print(f"  fewer: {k}: {x} -> {y}")
