"""A damaged conversation database at start-up: the window says what was salvaged, where the damaged
file is kept, and opens its folder from the notice (issue 14, item 8)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from app.paths import app_paths
from app.store import open_store
from app.store.opening import CHECK_MARKER_SUFFIX

PAGE = 4096


def damage_an_index_page(path: Path) -> None:
    conn = sqlite3.connect(path)
    page = conn.execute("SELECT pageno FROM dbstat WHERE name = 'conversations_sidebar'").fetchone()[0]
    conn.close()
    with path.open("r+b") as handle:
        handle.seek((page - 1) * PAGE)
        handle.write(b"\xff" * PAGE)


def test_the_notice_says_what_was_salvaged_and_opens_the_kept_files_folder(qtbot, make_window,
                                                                          monkeypatch) -> None:
    database = app_paths().ensure().database_file
    with open_store(database) as store:
        for index in range(3):
            store.create_conversation(title=f"Kept {index}")
    damage_an_index_page(database)
    database.with_name(database.name + CHECK_MARKER_SUFFIX).write_text("a read met damage\n")
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)

    window = make_window(load=False)
    kept = window.workspace.store.report.kept_file
    assert kept is not None and kept.exists() and kept.parent == database.parent
    text = window.banner.text()
    assert window.banner.isVisible()
    assert "Everything in it was recovered into a new database: 3 conversations" in text
    assert f"The damaged file is kept as {kept}." in text
    assert sorted(row.title for row in window.sidebar.model.rows()) == ["Kept 0", "Kept 1", "Kept 2"]

    link = QUrl.fromLocalFile(str(kept.parent)).toString()
    assert f'<a href="{link}">Open the folder</a>' in text
    window.banner.linkActivated.emit(link)
    assert [url.toLocalFile() for url in opened] == [str(kept.parent)]
