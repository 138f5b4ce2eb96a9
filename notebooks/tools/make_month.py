"""Generate "a month of edits" for lesson 3: ``python3 notebooks/tools/make_month.py``.

Writes ``notebooks/scenarios/month-{python,node,go}.yaml``: one app each, and 40 builds
over 20 working days (two a day), drawn with a fixed seed so the files never change
unless this script does. The mix is what a small team's repository sees (an assumption,
stated here so a teacher can change it): most builds follow a source edit (80%), some a
dependency change (8%), a documentation edit (8%) or a new source file (4%), and the base
image is updated by its maintainers every Monday. The lesson keeps the builds and swaps
the Dockerfile, so both orders face exactly the same month.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import yaml

SEED = 2026
DAYS = 20
BUILDS_PER_DAY = 2
OUT = Path(__file__).resolve().parents[1] / "scenarios"

APPS = {
    "python": {
        "base": "python:3.12-slim",
        "deps": "requirements.txt",
        "files": {
            "requirements.txt": "flask==3.0.3\n",
            "app.py": "from flask import Flask\napp = Flask(__name__)\n",
            "views.py": "def index():\n    return 'hi'\n",
            "README.md": "# shop\n",
        },
        "sources": ["app.py", "views.py"],
        "new": "models_{n}.py",
        "dep_line": "package-{n}==1.{n}.0\n",
        "dockerfile": (
            "FROM python:3.12-slim\n"
            "WORKDIR /app\n"
            "COPY . .\n"
            "RUN pip install -r requirements.txt\n"
            'CMD ["python", "app.py"]\n'
        ),
        "timing": {"RUN pip install -r requirements.txt": 45},
    },
    "node": {
        "base": "node:20-alpine",
        "deps": "package.json",
        "files": {
            "package.json": '{"name": "web", "dependencies": {"express": "4.19.2"}}\n',
            "package-lock.json": '{"lockfileVersion": 3}\n',
            "src/index.js": "console.log('hi')\n",
            "src/routes.js": "module.exports = []\n",
            "README.md": "# web\n",
        },
        "sources": ["src/index.js", "src/routes.js"],
        "new": "src/feature_{n}.js",
        "dep_line": None,  # package.json is rewritten whole (JSON)
        "dockerfile": (
            "FROM node:20-alpine\n"
            "WORKDIR /usr/src/app\n"
            "COPY . .\n"
            "RUN npm ci\n"
            "RUN npm run build\n"
            'CMD ["node", "dist/index.js"]\n'
        ),
        "timing": {"RUN npm ci": 60, "RUN npm run build": 8},
    },
    "go": {
        "base": "golang:1.22",
        "deps": "go.mod",
        "files": {
            "go.mod": "module example.com/server\n\ngo 1.22\n",
            "go.sum": "",
            "main.go": "package main\n\nfunc main() {}\n",
            "handlers.go": "package main\n",
            "README.md": "# server\n",
        },
        "sources": ["main.go", "handlers.go"],
        "new": "feature_{n}.go",
        "dep_line": "\nrequire example.com/lib{n} v1.{n}.0\n",
        "dockerfile": (
            "FROM golang:1.22\n"
            "WORKDIR /src\n"
            "COPY . .\n"
            "RUN go mod download\n"
            "RUN go build -o /bin/server .\n"
            'CMD ["/bin/server"]\n'
        ),
        "timing": {"RUN go mod download": 40, "RUN go build -o /bin/server .": 20},
    },
}


def month(app: str, rng: random.Random) -> dict:
    spec = APPS[app]
    sources = list(spec["sources"])
    builds: list[dict] = [{"name": "day 1: cold build"}]
    number = 0
    for day in range(1, DAYS + 1):
        for slot in range(BUILDS_PER_DAY):
            if day == 1 and slot == 0:
                continue  # the cold build
            number += 1
            changes: list[dict] = []
            if slot == 0 and day % 5 == 1:  # Mondays
                changes.append({"base_image": spec["base"]})
                label = "base image update"
            roll = rng.random()
            if roll < 0.80:
                path = rng.choice(sources)
                comment = "#" if path.endswith(".py") else "//"
                changes.append({"edit": path, "append": f"{comment} edit {number}\n"})
                label = f"edit {path}"
            elif roll < 0.88:
                if spec["dep_line"]:
                    line = spec["dep_line"].format(n=number)
                    changes.append({"edit": spec["deps"], "append": line})
                else:
                    manifest = (
                        '{"name": "web", "dependencies": {"express": "4.19.2", '
                        f'"lib{number}": "1.{number}.0"}}}}\n'
                    )
                    changes.append({"edit": spec["deps"], "content": manifest})
                label = f"new dependency in {spec['deps']}"
            elif roll < 0.96:
                changes.append({"edit": "README.md", "append": f"Note {number}.\n"})
                label = "edit README.md"
            else:
                path = spec["new"].format(n=number)
                changes.append({"add": path, "content": "\n"})
                sources.append(path)
                label = f"add {path}"
            if changes and "base_image" in changes[0] and len(changes) > 1:
                label = f"base image update + {label}"
            builds.append({"name": f"day {day}: {label}", "changes": changes})
    return {
        "name": f"month-{app}",
        "description": (
            f"A month of edits to a small {app} app (generated by notebooks/tools/make_month.py, "
            f"seed {SEED}): {len(builds)} builds. The Dockerfile copies the whole project "
            "before installing the dependencies: lesson 3 swaps in better ones."
        ),
        "engine": "buildkit",
        "dockerfile": spec["dockerfile"],
        "dockerignore": ".git\n",
        "files": spec["files"],
        "timing": {"steps": spec["timing"]},
        "builds": builds,
    }


def main() -> int:
    """Write each app's month, and the same month with the reference Dockerfile
    (``scenarios/solutions/APP.Dockerfile``) so ``cachesim verify`` can run both orders."""
    OUT.mkdir(exist_ok=True)
    header = f"# Generated by notebooks/tools/make_month.py (seed {SEED}); do not edit.\n"
    for app in APPS:
        scenario = month(app, random.Random(f"{SEED}-{app}"))
        better = dict(scenario, name=f"month-{app}-deps-first")
        better["dockerfile"] = (OUT / "solutions" / f"{app}.Dockerfile").read_text()
        better["description"] = scenario["description"].replace(
            "The Dockerfile copies the whole project before installing the dependencies: "
            "lesson 3 swaps in better ones.",
            "The Dockerfile copies the dependency manifest, installs, then copies the rest.",
        )
        for data in (scenario, better):
            path = OUT / f"{data['name']}.yaml"
            path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=100))
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
