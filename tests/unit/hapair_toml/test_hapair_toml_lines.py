"""TomlLineMap: the line of every key, whatever TOML's syntax does around it."""

from __future__ import annotations

import tomllib

from hypothesis import given
from hypothesis import strategies as st

from hapair.config.hapair_toml import TomlLineMap
from hapair.config.hapair_toml.importer import toml_string

TRICKY = """\
# a comment with key = "value" and [table]
title = "x = [not a table]"   # trailing
[node]
name = 'literal # not a comment'
[[group]]
name = "a"
vips = [
  "10.0.0.1",   # first
  "10.0.0.2",
]
service = { start = "s", stop = "t" }
description = \"\"\"
line = 1
[fake]
\"\"\"
[group.timeouts]
mount = 5
"quoted.key" = 1
dotted.inner = 2
[[group]]
name = "b"
[group.notify]
master = "x"
"""


def test_keys_in_tricky_places() -> None:
    tomllib.loads(TRICKY)  # the fixture is valid TOML
    lines = TomlLineMap.scan(TRICKY)
    expect = {
        ("title",): 2,
        ("node", "name"): 4,
        ("group", 0): 5,
        ("group", 0, "name"): 6,
        ("group", 0, "vips"): 7,
        ("group", 0, "vips", 0): 8,
        ("group", 0, "vips", 1): 9,
        ("group", 0, "service", "stop"): 11,
        ("group", 0, "description"): 12,
        ("group", 0, "timeouts", "mount"): 17,
        ("group", 0, "timeouts", "quoted.key"): 18,
        ("group", 0, "timeouts", "dotted", "inner"): 19,
        ("group", 1, "name"): 21,
        ("group", 1, "notify", "master"): 23,
    }
    assert {path: lines.line_of(path) for path in expect} == expect
    assert ("fake",) not in lines, "a header inside a multi-line string is not a header"


def test_unknown_paths_fall_back_to_the_nearest_known_key() -> None:
    lines = TomlLineMap.scan(TRICKY)
    assert lines.line_of(("group", 1, "notify", "nothing")) == 22
    assert lines.line_of(("nowhere",)) == 1


keys = st.text("abcdefghij_", min_size=1, max_size=6)
scalars = st.one_of(st.integers(-5, 5), st.booleans(), st.text("ab #=[]{}'\"\\\n", max_size=8))


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[tuple[str | int, ...], int]]:
    """Random tables with scalars, arrays and inline tables, written line by line; the expected
    line of each key is where it was written."""
    out: list[str] = []
    expected: dict[tuple[str | int, ...], int] = {}
    for table in draw(st.lists(keys, unique=True, max_size=4)):
        out.append(f"[{table}]")
        expected[(table,)] = len(out)
        for key in draw(st.lists(keys, unique=True, max_size=4)):
            kind = draw(st.sampled_from(["scalar", "array", "inline"]))
            path = (table, key)
            expected[path] = len(out) + 1
            if kind == "scalar":
                value = draw(scalars)
                text = toml_string(value) if isinstance(value, str) else str(value).lower()
                out.append(f"{key} = {text}")
            elif kind == "array":
                items = draw(st.lists(st.text("xy,]", max_size=3), max_size=3))
                out.append(f"{key} = [")
                for index, item in enumerate(items):
                    out.append(f"  {toml_string(item)},")
                    expected[(*path, index)] = len(out)
                out.append("]")
            else:
                inner = draw(st.lists(keys, unique=True, min_size=1, max_size=3))
                body = ", ".join(f"{k} = 1" for k in inner)
                out.append(f"{key} = {{ {body} }}")
                for k in inner:
                    expected[(*path, k)] = len(out)
    return "\n".join(out) + "\n", expected


@given(documents())
def test_every_written_key_is_found_on_its_line(
    document: tuple[str, dict[tuple[str | int, ...], int]],
) -> None:
    text, expected = document
    tomllib.loads(text)
    lines = TomlLineMap.scan(text)
    assert {path: lines.line_of(path) for path in expected} == expected
