"""Keys and explanations made from maps kept edit by edit equal those made from scratch.

Issue 9 made a build cost what changed: a COPY's selected digests, a stage's files and the
build context are ``DigestMap``/``TrackedMap`` values derived from the previous build's.
The cache keys must stay what they were, byte for byte: ``canonical_json`` is checked here
against ``json.dumps`` (the encoding the keys were made with before, ``sort_keys=True``,
compact separators, tuples as lists), on plain values and on maps derived through long
random edit sequences, so two keys are equal exactly when they were equal before.
"""

from __future__ import annotations

import json
import random

import pytest

from cachesim.builders.definitions import (
    CopyDefinition,
    SortedItems,
    canonical_digest,
    canonical_json,
)
from cachesim.builders.fs import FileSystem
from cachesim.context.digestmap import DigestMap, TrackedMap, track
from cachesim.simulation.explain import differences


def _reference(value: object) -> str:
    """The keys' encoding before issue 9: JSON values, keys sorted, no whitespace."""

    def plain(v: object) -> object:
        if isinstance(v, dict | DigestMap | CopyDefinition):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        return v

    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -7,
        1.5,
        "plain",
        'é ünïcode \u2603 and "quotes" \\ and \n newline',
        ("a", 1, None, False),
        {"b": 1, "a": [1, 2, {"z": None, "y": "x"}]},
        {"files": {"src/é.py": "d:0644", "a b": "e:0755"}, "keyword": "COPY"},
        [[], {}, ""],
    ],
)
def test_canonical_json_is_what_json_dumps_gave(value):
    """Each kind of JSON value is encoded exactly as before."""
    assert canonical_json(value) == _reference(value)


def test_a_key_still_refuses_what_is_not_json():
    """No silent str(): an object that is not JSON cannot be part of a key."""
    with pytest.raises(TypeError, match="not part of a cache key"):
        canonical_digest({"x": object()})


def _random_edits(seed: int, steps: int = 300):
    """A random walk of edits (change, add, remove) over a map; yields (map, dict) pairs."""
    rnd = random.Random(seed)
    plain = {f"p{i:03d}/é{i}": f"{i:032x}:0644" for i in range(200)}
    current = DigestMap(plain)
    for _ in range(steps):
        changes: dict[str, str | None] = {}
        for _ in range(rnd.randint(0, 4)):
            path = f"p{rnd.randint(0, 260):03d}/é{rnd.randint(0, 3)}"
            changes[path] = None if rnd.random() < 0.3 else f"{rnd.getrandbits(64):032x}:0755"
        before, plain_before = current, dict(plain)
        current = current.updated(changes)
        for path, value in changes.items():
            if value is None:
                plain.pop(path, None)
            else:
                plain[path] = value
        yield current, dict(plain), before, plain_before


def test_a_derived_map_encodes_as_a_dict_made_from_scratch():
    """Along 300 random edits the map equals the dict and encodes to the same JSON, as an
    object (a COPY's files) and as sorted items (a stage's files)."""
    for current, plain, _before, _plain_before in _random_edits(1):
        assert current == plain and dict(current) == plain
        assert canonical_json(current) == _reference(plain)
        assert canonical_json(SortedItems(current)) == _reference(sorted(plain.items()))


def test_an_older_map_asked_again_still_encodes_its_own_entries():
    """A map whose encoding a newer map took over encodes anew, and still right."""
    kept = list(_random_edits(4, steps=80))
    for current, plain, _before, _plain_before in kept:
        assert canonical_json(current) == _reference(plain)
    for current, plain, _before, _plain_before in reversed(kept):
        assert canonical_json(current) == _reference(plain)
        assert canonical_json(SortedItems(current)) == _reference(sorted(plain.items()))


def test_keys_from_derived_maps_are_equal_exactly_when_the_files_are():
    """A COPY key made over a derived map is the key made over the plain dict, so keys
    are equal exactly when they were equal before (a revert finds its old key again)."""
    seen: dict[str, str] = {}
    for current, plain, _before, _plain_before in _random_edits(2, steps=150):
        made = CopyDefinition(
            keyword="COPY",
            sources=(".",),
            dest=".",
            origin="context",
            chown="",
            chmod="",
            files=current,
        )
        same = CopyDefinition(
            keyword="COPY",
            sources=(".",),
            dest=".",
            origin="context",
            chown="",
            chmod="",
            files=plain,
        )
        assert made.key() == same.key()
        text = _reference(sorted(plain.items()))
        assert seen.setdefault(text, made.key()) == made.key()
    assert len(set(seen.values())) == len(seen)


def test_differing_paths_follow_the_lineage_or_compare_every_entry():
    """The paths two maps differ at are the same whether found from the deltas (one map
    derived from the other), from a plain dict, or by the explanation of a miss."""
    for current, plain, before, plain_before in _random_edits(3, steps=120):
        expected = {
            p for p in plain.keys() | plain_before.keys() if plain.get(p) != plain_before.get(p)
        }
        assert current.differing(before) == expected
        assert before.differing(current) == expected
        assert current.differing(plain_before) == expected
        old = {"keyword": "COPY", "files": plain_before}
        assert differences({"keyword": "COPY", "files": current}, old) == differences(
            {"keyword": "COPY", "files": plain}, old
        )


def test_merging_files_keeps_the_dict_order_and_content():
    """A stage's files after a COPY are ``{**before, **copied}``, whichever side is big."""
    big = DigestMap({f"/app/f{i}": f"{i}" for i in range(50)})
    small = DigestMap({"/app/f3": "new", "/other": "o"})
    for below, above in ((small, big), (big, small), ({"/x": "1"}, big), (big, {"/x": "1"})):
        after = FileSystem(base="b", files=below).with_files(above)
        assert list(after.files.items()) == list({**below, **above}.items())
        assert after.summary() == FileSystem(base="b", files={**below, **above}).summary()


def test_tracked_files_name_the_replaced_objects():
    """A build's files derived from the last build's: the delta is every path whose file
    is not the same object, and a path added or gone."""
    a, b, c = object(), object(), object()
    first = track({"x": a, "y": b}, None)
    second = track({"x": a, "y": c}, first)
    third = track({"x": a, "z": c}, second)
    assert second.touched_since(first) == {"y"}
    assert third.touched_since(first) == {"y", "z"}
    assert second.same_paths_as(first) and not third.same_paths_as(first)
    assert isinstance(third, TrackedMap) and dict(third) == {"x": a, "z": c}


def test_a_lineage_does_not_keep_old_maps_alive():
    """Origins are weak: a map no one else holds is freed, and comparing with a map of
    another lineage falls back to comparing every entry."""
    current = DigestMap({"a": "1"})
    for i in range(5):
        current = current.updated({"a": str(i + 2)})
    other = DigestMap({"a": "1", "b": "2"})
    assert current.touched_since(other) is None
    assert current.differing(other) == {"a", "b"}
