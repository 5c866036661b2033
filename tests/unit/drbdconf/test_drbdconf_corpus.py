"""The corpus without drbdadm: good files load and survive a dump round trip, bad files fail at
the line tests/data/drbd/corpus.toml records (the interop test checks drbdadm's side)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from hapair.adapters.drbd_files import LocalFileReader
from hapair.config.drbd import MemoryReader, dump_config, load_resources, normalized_form
from hapair.errors import ConfigErrors

DATA = Path(__file__).resolve().parents[2] / "data" / "drbd"
CORPUS: dict[str, Any] = tomllib.loads((DATA / "corpus.toml").read_text(encoding="utf-8"))
GOOD = [entry["path"] for entry in CORPUS["good"]]
BAD = CORPUS["bad"]


def test_corpus_is_big_enough() -> None:
    assert len(GOOD) + len(BAD) >= 15 and len(GOOD) >= 15


@pytest.mark.parametrize("path", GOOD)
def test_good_config_dumps_to_an_equivalent_config(path: str) -> None:
    config = load_resources(str(DATA / path), LocalFileReader())
    text = dump_config(config)
    again = load_resources("dumped.conf", MemoryReader({"dumped.conf": text}))
    assert normalized_form(again) == normalized_form(config)

    def body(dump: str) -> list[str]:
        return [line for line in dump.splitlines() if not line.startswith("#")]  # comments name files

    assert body(dump_config(again)) == body(text)


@pytest.mark.parametrize("entry", BAD, ids=[e["path"] for e in BAD])
def test_bad_config_fails_at_the_recorded_line(entry: dict[str, Any]) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_resources(str(DATA / entry["path"]), LocalFileReader())
    first = caught.value.errors[0]
    assert first.line == entry["line"], str(caught.value)
    assert str(first) == f"{first.file}:{first.line}: {first.message}" == first.drbd_style()
    assert first.file.endswith(entry["path"].rsplit("/", 1)[-1]) or first.file.endswith(".conf")
