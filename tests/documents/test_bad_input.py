"""Every bad input the issue lists gets a DocumentError of its kind with a message that says what to do."""

from __future__ import annotations

import os

import pytest

from app.documents import DocumentError, extract
from app.documents.reading import BLOCK_BYTES, MIB
from fixtures.documents import (
    prose_lines,
    write_png,
    write_random_bytes,
    write_sparse_file,
    write_text,
)


def error_of(path, **kwargs) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        extract(path, **kwargs)
    return caught.value


@pytest.mark.parametrize("name", ["data.txt", "script.py", "table.csv", "notes.md"])
def test_binary_file_with_a_text_extension(tmp_path, name):
    error = error_of(write_random_bytes(tmp_path / name))
    assert error.kind == "binary"
    assert "binary" in error.message


def test_image_with_a_text_extension_is_named_in_the_message(tmp_path):
    error = error_of(write_png(tmp_path / "photo.txt"))
    assert error.kind == "binary"
    assert "PNG image" in error.message


def test_unsupported_type(tmp_path):
    error = error_of(write_png(tmp_path / "photo.png"))
    assert error.kind == "unsupported"
    assert "PNG image" in error.message
    assert "Supported:" in error.message


def test_unknown_binary_type(tmp_path):
    error = error_of(write_random_bytes(tmp_path / "blob.dat"))
    assert error.kind == "unsupported"
    assert ".dat" in error.message


def test_old_word_format_is_unsupported_with_what_to_do(tmp_path):
    path = tmp_path / "old.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    error = error_of(path)
    assert error.kind == "unsupported"
    assert ".docx" in error.message


def test_two_gigabyte_text_file(tmp_path):
    path = write_sparse_file(tmp_path / "huge.log", 2 * 1024 * MIB)
    reports = []
    error = error_of(path, progress=reports.append)
    assert error.kind == "too_large"
    assert "2 GiB" in error.message and "64 MiB" in error.message and "because" in error.message
    assert reports == []


def test_empty_file(tmp_path):
    error = error_of(write_text(tmp_path / "empty.txt", ""))
    assert error.kind == "empty"


def test_whitespace_only_file(tmp_path):
    error = error_of(write_text(tmp_path / "blank.md", " \n\n\t\n"))
    assert error.kind == "empty"


def test_folder(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    error = error_of(folder)
    assert error.kind == "unsupported"
    assert "folder" in error.message


def test_missing_file(tmp_path):
    error = error_of(tmp_path / "gone.pdf")
    assert error.kind == "vanished"
    assert "Attach it again" in error.message


def _multi_block_text(tmp_path):
    """A text file of three read blocks, so the progress callback runs while it is half read."""
    path = tmp_path / "moving.txt"
    lines = prose_lines(1000, seed=9)
    text = "\n".join(lines)
    path.write_text(text * (3 * BLOCK_BYTES // len(text) + 1))
    return path


def test_file_deleted_while_being_read(tmp_path):
    path = _multi_block_text(tmp_path)

    def delete_after_first_block(report):
        if report.stage == "reading" and report.done == BLOCK_BYTES and path.exists():
            path.unlink()

    error = error_of(path, progress=delete_after_first_block)
    assert error.kind == "vanished"


def test_file_changed_while_being_read(tmp_path):
    path = _multi_block_text(tmp_path)

    def append_after_first_block(report):
        if report.stage == "reading" and report.done == BLOCK_BYTES:
            with path.open("a") as handle:
                handle.write("a line written meanwhile\n")

    error = error_of(path, progress=append_after_first_block)
    assert error.kind == "vanished"
    assert "changed" in error.message


def test_file_replaced_while_being_read(tmp_path):
    path = _multi_block_text(tmp_path)
    other = write_text(tmp_path / "other.txt", path.read_text())

    def replace_after_first_block(report):
        if report.stage == "reading" and report.done == BLOCK_BYTES:
            os.replace(other, path)

    error = error_of(path, progress=replace_after_first_block)
    assert error.kind == "vanished"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_file_without_read_permission(tmp_path):
    path = write_text(tmp_path / "private.txt", "secret")
    path.chmod(0)
    error = error_of(path)
    assert error.kind == "unreadable"
    assert "permission" in error.message.lower()


def test_errors_are_one_line_for_the_chip(tmp_path):
    errors = [
        error_of(write_random_bytes(tmp_path / "a.txt")),
        error_of(write_png(tmp_path / "b.png")),
        error_of(write_sparse_file(tmp_path / "c.txt", 3 * 1024 * MIB)),
        error_of(tmp_path / "missing.txt"),
    ]
    for error in errors:
        assert "\n" not in error.message
        assert error.message.endswith(".")
        assert str(error) == error.message
