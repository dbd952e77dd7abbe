"""A real keyring backend for tests: passwords in a JSON file named by OSSIAN_TEST_KEYRING_FILE.

keyring ships no backend that works everywhere without a desktop session, and the real one on a
developer's Mac must never see test tokens. This is a full `KeyringBackend` (set, get, delete), so the
app talks to it through keyring's own API exactly as to the Keychain; a subprocess selects it with
`PYTHON_KEYRING_BACKEND=tests.models.keyring_backend.FileKeyring`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from jaraco.classes import properties
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV = "OSSIAN_TEST_KEYRING_FILE"


class FileKeyring(KeyringBackend):
    @properties.classproperty
    def priority(cls) -> float:
        # Viable only where a test named its file: keyring's own search never picks it otherwise.
        if ENV not in os.environ:
            raise RuntimeError(f"the test keyring needs {ENV}")
        return 1

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()
        self.path = Path(path or os.environ[ENV])

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\0{username}"] = password
        self.path.write_text(json.dumps(data), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}\0{username}", None) is None:
            raise PasswordDeleteError("no such password")
        self.path.write_text(json.dumps(data), encoding="utf-8")
