"""The documents room's public surface, and the house rule on what it may import."""

from __future__ import annotations

import ast
from pathlib import Path

import app.documents

ROOM = Path(app.documents.__file__).parent


def test_public_names_are_pinned():
    # Other rooms (chat, tools, ui) build on these; changing the list is a deliberate act.
    assert sorted(app.documents.__all__) == sorted([
        "DEFAULT_LIMITS", "DEFAULT_RESERVE_TOKENS", "SEARCH_MODE_TOKENS", "AttachmentCost", "CancelCheck",
        "Choice", "Chunk", "Citation", "ContextBudget", "CountTokens", "DocumentError", "DocumentErrorKind",
        "DocumentIndex", "DocumentKind", "ExtractedDocument", "ExtractionCancelled", "ExtractionProgress",
        "FindMatch", "FindResult", "IndexedDocument", "Line", "PageSpan", "ProgressCallback", "RaiseContext",
        "SearchError", "SearchHit", "SizeLimits", "TokenCount", "UseSearchMode", "Window", "chunk_document",
        "count_attachment_tokens", "count_texts", "document_lines", "estimate_tokens", "extract",
        "format_attachments", "format_for_prompt", "plan_context", "render_find",
        "render_search", "render_window",
    ])
    for name in app.documents.__all__:
        assert hasattr(app.documents, name), name


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0] if node.module.split(".")[0] != "app" else node.module)
    return names


def test_the_room_imports_only_stdlib_pypdf_python_docx_itself_and_leaves():
    import sys

    # app.units, app.errors: standard-library-only leaves every room may use
    allowed = {"pypdf", "docx", "app.documents", "app.units", "app.errors"} | set(sys.stdlib_module_names)
    for path in ROOM.glob("*.py"):
        for name in imported_modules(path):
            top = name if name.startswith("app.") else name.split(".")[0]
            assert top in allowed or top.startswith("app.documents"), f"{path.name} imports {name}"
