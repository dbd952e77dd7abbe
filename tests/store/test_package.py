"""The store's public surface is pinned, and the room imports nothing but the standard library."""

import ast
import sys
from pathlib import Path

import app.store

STORE_DIR = Path(app.store.__file__).parent


def test_public_names_are_pinned() -> None:
    assert sorted(app.store.__all__) == sorted([
        "FORMAT_NAME", "FORMAT_VERSION", "UNCHANGED", "Attachment", "AttachmentMode", "Conversation",
        "ConversationFileError", "ConversationSummary", "DamagedDatabase", "DatabaseBusy", "DatabaseCorrupt",
        "DatabaseUnavailable", "DiskFull", "Highlighted", "IncompatibleDatabase", "InvalidInput",
        "MessageRecord", "MessageStatus", "MessageStream", "NewAttachment", "NewMessage", "NotFound",
        "OpenReport", "ReasoningEffort", "Role", "SearchHit", "Store", "StoreEnvironmentError", "StoreError",
        "StoreInternalError", "ToolCallRecord", "ToolCallState", "Transcript", "Turn", "TurnFigures",
        "UserTurn", "open_store",
    ])
    for name in app.store.__all__:
        assert hasattr(app.store, name)


def test_the_store_imports_only_the_standard_library_itself_and_leaves() -> None:
    outside = []
    for path in sorted(STORE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                # leaves every room may use (standard library only, like the library itself), and the
                # format's vocabulary (ReasoningEffort) from harmony, the lowest room
                ours = (name == "app.store" or name.startswith("app.store.")
                        or name in ("app.text_safety", "app.units", "app.errors", "app.harmony.messages"))
                if not (top in sys.stdlib_module_names or ours):
                    outside.append(f"{path.name}: {name}")
    assert outside == []
