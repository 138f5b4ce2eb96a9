"""Loading scenarios: the spec's keys, and one clear error naming file and line for bad input."""

import textwrap

import pytest

from cachesim.core.errors import InputError
from cachesim.sources.scenario import image_key, loads, replay

GOOD = textwrap.dedent(
    """\
    name: copy-before-install
    dockerfile: |
      FROM python:3.12-slim
      COPY . .
    files:
      app.py: "print('hello')\\n"
      run.sh: {content: "#!/bin/sh\\n", mode: "0755"}
      assets/video.bin: {size: 5000}
    build_args: {PY_VERSION: 3.12}
    builds:
      - name: cold
      - name: edit
        changes:
          - {edit: app.py, append: "print('more')\\n"}
          - {chmod: run.sh, mode: "0644"}
          - {rename: assets, to: media}
          - {touch: app.py}
    """
)


def _error(text: str) -> str:
    with pytest.raises(InputError) as caught:
        replay(loads(textwrap.dedent(text), "s.yaml"))
    return caught.value.one_line()


def test_the_spec_example_loads():
    """Every form of file and change in the spec's example is accepted."""
    scenario = loads(GOOD, "s.yaml")
    assert scenario.engine == "buildkit"  # the default
    assert scenario.files["run.sh"].mode == 0o755
    assert len(scenario.files["assets/video.bin"].content) == 5000
    assert scenario.build_args == {"PY_VERSION": "3.12"}


def test_replay_applies_changes_in_order():
    """Changes apply in order: append, chmod, rename of a folder, touch (mtime only)."""
    first, second = replay(loads(GOOD, "s.yaml"))
    before, after = first.request.files, second.request.files
    assert after["app.py"].content == b"print('hello')\nprint('more')\n"
    assert after["run.sh"].mode == 0o644 and after["run.sh"].content == before["run.sh"].content
    assert "media/video.bin" in after and "assets/video.bin" not in after
    assert after["app.py"].mtime > before["app.py"].mtime


def test_generated_content_is_deterministic():
    """`size:` content depends only on path and size, so two loads agree byte for byte."""
    one, two = loads(GOOD, "a.yaml"), loads(GOOD, "b.yaml")
    assert one.files["assets/video.bin"] == two.files["assets/video.bin"]


def test_unknown_top_level_key():
    """An unknown key is named with its line."""
    message = _error("name: x\ndockerfile: FROM a\nbuilds: [{name: a}]\nfilez: {}\n")
    assert message.startswith("s.yaml:4: unknown key 'filez' in the scenario (known: ")


def test_change_to_missing_file():
    """A change naming a file that is not there names the build and the change."""
    message = _error(
        """\
        name: x
        dockerfile: FROM a
        files: {a.txt: "1"}
        builds:
          - name: cold
          - name: second
            changes:
              - {edit: b.txt, content: "2"}
        """
    )
    assert message == (
        "s.yaml:8: build 'second', change 1 (edit b.txt): no file 'b.txt' in the context"
    )


def test_bad_mode():
    """A mode that is not octal permission bits is refused with its value."""
    message = _error(
        'name: x\ndockerfile: FROM a\nfiles: {a: {content: "", mode: "rwx"}}\nbuilds: [{}]\n'
    )
    assert message == "s.yaml:3: bad mode 'rwx': give permission bits in octal, such as \"0644\""


def test_broken_yaml():
    """Broken YAML is reported with the line the parser stopped at."""
    message = _error("name: x\ndockerfile: [unclosed\nbuilds: []\n")
    assert message.startswith("s.yaml:3: broken YAML:")


def test_unknown_change_kind():
    """A change kind not in the spec's table is refused, listing the known ones."""
    message = _error("name: x\ndockerfile: FROM a\nbuilds:\n  - changes:\n      - {move: a}\n")
    assert message.startswith("s.yaml:5: build 'build 1', change 1: unknown change 'move'")


def test_missing_dockerfile():
    """The Dockerfile text is required."""
    assert _error("name: x\nbuilds: [{}]\n") == "s.yaml:1: the scenario needs 'dockerfile'"


def test_unquoted_octal_mode_keeps_its_digits():
    """YAML 1.1 would read 0755 as the number 493; the loader keeps the octal digits."""
    scenario = loads(
        "name: x\ndockerfile: FROM a\nfiles: {a: {content: '', mode: 0755}}\nbuilds: [{}]\n",
        "s.yaml",
    )
    assert scenario.files["a"].mode == 0o755


def test_image_key_matches_docker_normalisation():
    """`python` is `python:latest` and `docker.io/library/python:3` is `python:3` in Docker."""
    assert image_key("python") == "python:latest"
    assert image_key("docker.io/library/python:3.12") == "python:3.12"
    assert image_key("ghcr.io/org/tool") == "ghcr.io/org/tool:latest"
