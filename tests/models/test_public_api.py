"""The room's public surface, pinned; and the house rules it keeps."""

import ast
import subprocess
import sys
from pathlib import Path

import app.models

ROOM = Path(app.models.__file__).parent

PUBLIC = {
    "Catalog", "CatalogEntry", "CatalogError", "Download", "DownloadManager", "DownloadProgress",
    "DownloadRequest", "DownloadState", "FileSelectionError", "Fit", "HubAccess", "HubAccessDenied",
    "HubNotFound", "HubUnreachable", "InstalledModel", "IntegrityError", "Library", "ModelsError",
    "NetworkDisabled", "NetworkPolicy", "NotEnoughDisk", "NotUsable", "TokenError", "TokenSaveResult",
    "TokenStore", "UnknownModel", "assess_fit", "import_model", "load_catalog", "network_policy", "recommend",
    "FoundModel", "STORE_NAMES", "Store", "import_found", "removal_warning", "scan_found", "store_locations",
}


def test_the_public_surface_is_pinned() -> None:
    assert set(app.models.__all__) == PUBLIC
    assert all(hasattr(app.models, name) for name in PUBLIC)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0] if not node.module.startswith("app.") else node.module)
    return names


def test_only_the_hub_module_imports_huggingface_hub_and_nothing_imports_qt_or_llama() -> None:
    for path in ROOM.glob("*.py"):
        found = imports_of(path)
        assert "PySide6" not in found and "llama_cpp" not in found, path.name
        if path.name != "hub.py":
            assert "huggingface_hub" not in found, path.name
        assert not any(name.startswith(("app.ui", "app.engine", "app.chat")) for name in found), path.name


def test_importing_the_room_loads_neither_huggingface_hub_nor_qt() -> None:
    code = ("import sys, app.models\n"
            "print(sorted(m for m in ('huggingface_hub', 'PySide6') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
