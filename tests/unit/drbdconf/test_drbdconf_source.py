"""Include expansion through an injected reader, and the real file reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.adapters.drbd_files import LocalFileReader
from hapair.config.drbd import MemoryReader, load_resources
from hapair.config.drbd.source import MAX_INCLUDE_DEPTH, read_configuration
from hapair.errors import ConfigErrors

RES = (
    "resource {name} {{ device minor {minor}; disk /dev/sd{name}; meta-disk internal;\n"
    " on a {{ address 10.0.0.1:{port}; }} on b {{ address 10.0.0.2:{port}; }} }}\n"
)


def res(name: str, minor: int) -> str:
    return RES.format(name=name, minor=minor, port=7000 + minor)


def test_relative_includes_follow_the_including_file_in_sorted_order() -> None:
    reader = MemoryReader(
        {
            "/etc/drbd.conf": 'include "drbd.d/global_common.conf";\ninclude "drbd.d/*.res";\n',
            "/etc/drbd.d/global_common.conf": "global { usage-count no; }\n",
            "/etc/drbd.d/zz.res": res("zz", 2),
            "/etc/drbd.d/aa.res": res("aa", 1),
            "/etc/other.res": res("other", 3),
        }
    )
    config = load_resources("/etc/drbd.conf", reader)
    assert config.names() == ["aa", "zz"]
    assert config.files == (
        "/etc/drbd.conf",
        "/etc/drbd.d/global_common.conf",
        "/etc/drbd.d/aa.res",
        "/etc/drbd.d/zz.res",
    )


def test_a_file_is_read_once_even_if_included_twice_or_in_a_cycle() -> None:
    reader = MemoryReader({"/c/main.conf": 'include "*.conf";\ninclude "r.res";\n', "/c/r.res": res("r", 1)})
    config = load_resources("/c/main.conf", reader)
    assert config.files == ("/c/main.conf", "/c/r.res")


def test_a_missing_literal_include_is_an_error_a_wildcard_matching_nothing_is_not() -> None:
    reader = MemoryReader({"/c/main.conf": 'include "none/*.res";\ninclude "gone.res";\n'})
    source = read_configuration("/c/main.conf", reader)
    assert [(e.line, e.message) for e in source.errors] == [
        (2, "Failed to open include file 'gone.res': FileNotFoundError")
    ]


def test_include_needs_one_pattern_at_top_level() -> None:
    reader = MemoryReader({"/c/main.conf": "include a b;\ninclude { x; }\n"})
    source = read_configuration("/c/main.conf", reader)
    assert [e.line for e in source.errors] == [1, 2]


def test_include_depth_is_bounded() -> None:
    files = {f"/c/{i}.conf": f'include "{i + 1}.conf";\n' for i in range(MAX_INCLUDE_DEPTH + 3)}
    source = read_configuration("/c/0.conf", MemoryReader(files))
    assert any("nested" in e.message for e in source.errors)


def test_an_unreadable_main_file_is_reported_at_line_zero() -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_resources("/nope.conf", MemoryReader({}))
    assert caught.value.errors[0].file == "/nope.conf" and caught.value.errors[0].line == 0


def test_local_reader_reads_globs_and_survives_non_utf8_comments(tmp_path: Path) -> None:
    (tmp_path / "drbd.d").mkdir()
    (tmp_path / "drbd.conf").write_text('include "drbd.d/*.res";\n')
    (tmp_path / "drbd.d" / "r.res").write_bytes(b"# \xb3\xeb\xb5\xe5 (EUC-KR)\n" + res("r", 1).encode())
    config = load_resources(str(tmp_path / "drbd.conf"), LocalFileReader())
    assert config.names() == ["r"]
    assert LocalFileReader().glob(str(tmp_path / "drbd.d" / "*.none")) == []


def test_local_reader_reports_non_utf8_outside_comments(tmp_path: Path) -> None:
    (tmp_path / "r.res").write_bytes(res("r", 1).encode().replace(b"/dev/sdr", b"/dev/sd\xff"))
    with pytest.raises(ConfigErrors) as caught:
        load_resources(str(tmp_path / "r.res"), LocalFileReader())
    assert "unexpected character" in str(caught.value)
