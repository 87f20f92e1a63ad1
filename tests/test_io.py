"""Validated reading and atomic writing."""

from __future__ import annotations

import pytest

from bmc.io import PAIR_FIELDS, RecordError, atomic_dir, read_jsonl, write_jsonl, write_text


def test_bad_rows_name_file_row_and_field(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"problem": "x", "y_w": "a", "y_l": "b", "answer": "1"}\n'
                    '{"problem": "x", "y_w": "a", "answer": "1"}\n')
    with pytest.raises(RecordError, match=r"pairs.jsonl, row 2, field 'y_l': missing"):
        read_jsonl(path, PAIR_FIELDS)
    path.write_text('{"problem": "x", "y_w": "a", "y_l": 3, "answer": "1"}\n')
    with pytest.raises(RecordError, match="row 1, field 'y_l': expected str, got int"):
        read_jsonl(path, PAIR_FIELDS)
    path.write_text('{"problem": "x", "y_w": "a", "y_l": "  ", "answer": "1"}\n')
    with pytest.raises(RecordError, match="row 1, field 'y_l': empty"):
        read_jsonl(path, PAIR_FIELDS, nonempty=("y_l",))
    path.write_text('{"problem": "x"\n')
    with pytest.raises(RecordError, match="row 1: not valid JSON"):
        read_jsonl(path)


def test_failed_write_leaves_nothing(tmp_path):
    def rows():
        yield {"a": 1}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_jsonl(tmp_path / "out.jsonl", rows())
    assert list(tmp_path.iterdir()) == []
    write_text(tmp_path / "ok.txt", "hi")
    assert [p.name for p in tmp_path.iterdir()] == ["ok.txt"]


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "weights").write_text("v1")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "weights").write_text("half")
            raise RuntimeError("killed")
    assert (target / "weights").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_outputs_get_the_mode_open_would_give_not_mkstemps(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        write_text(tmp_path / "t.md", "x")
        with atomic_dir(tmp_path / "model") as d:
            (d / "w.bin").write_bytes(b"0")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "t.md").stat().st_mode) == 0o644  # readable by colleagues on a shared cluster
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == 0o755
