"""Errors with one root: every error Ossian raises on purpose is an `OssianError`, whose text is shown as is.

The classes are found by importing every module of `app/`, so a new room's error cannot slip past the
rule. The few exceptions that stay outside the tree are listed here with the reason each one does.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import app
import app.errors
from app import cli
from app.errors import OssianError
from app.models import HubUnreachable

# Exceptions that are deliberately not Ossian's errors: catching OssianError must never catch them.
OUTSIDE_THE_TREE = {
    # Stopping is not failing: a cancelled extraction or decode is not an error to show.
    "app.documents.errors.ExtractionCancelled": "a cancel: the chip simply disappears",
    "app.engine.worker_session.Cancelled": "a cancel inside the worker: the stream ends with Done",
    "app.tools.mcp.connection.McpCancelled": "a stop while an MCP call waits: a 'cancelled' tool result",
    # Internal signals that carry half a sentence to the one caller in their room, which words them
    # into the room's own error (as it does with sqlite3's or expat's exceptions).
    "app.documents.xml_stream.XmlLimitError": "becomes DocumentError('too_large') in docx_text",
    "app.models.found_verdict.HeaderUnreadable": "becomes a found model's 'not_gguf' reason in its verdict",
    "app.store.migrations.SchemaMismatch": "becomes IncompatibleDatabase when the store opens",
    # The sandbox child imports nothing of the app: it runs locked down, in a process of its own.
    "app.tools.sandbox_child.SandboxViolation": "the child's audit hook, a PermissionError for the code",
    "app.tools.sandbox_child.SetupFailed": "the child's own set-up, reported over its pipe",
}


def app_modules() -> list[str]:
    return [info.name for info in pkgutil.walk_packages(app.__path__, "app.") if info.name != "app.__main__"]


def error_classes() -> dict[str, type[BaseException]]:
    found = {}
    for name in app_modules():
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name
                    and not attribute.startswith("_")):
                found[f"{name}.{attribute}"] = value
    return found


def test_every_public_error_in_app_derives_from_ossian_error() -> None:
    classes = error_classes()
    outside = sorted(name for name, cls in classes.items() if not issubclass(cls, OssianError))
    new = [name for name in outside if name not in OUTSIDE_THE_TREE]
    assert not new, ("exceptions outside the OssianError tree: derive each from its room's error, or, for a "
                     "signal that never leaves its module, name it with a leading underscore or list it in "
                     f"OUTSIDE_THE_TREE with the reason: {new}")
    assert sorted(OUTSIDE_THE_TREE) == [name for name in outside if name in OUTSIDE_THE_TREE]
    assert not [name for name in OUTSIDE_THE_TREE if issubclass(classes[name], OssianError)]


def test_each_rooms_root_is_an_ossian_error() -> None:
    from app.chat.errors import ChatBusy, ChatError, NothingToDo
    from app.commands import CommandError, UsageError
    from app.documents import DocumentError, SearchError
    from app.engine.backend_packs import PackError
    from app.engine.interface import EngineError, EngineFailure
    from app.gguf import ModelFileError
    from app.harmony import HarmonyError
    from app.models import ModelsError
    from app.planner import LoadFailed
    from app.store import StoreError

    for root in (ChatError, CommandError, UsageError, DocumentError, SearchError, PackError, EngineFailure,
                 ModelFileError, HarmonyError, ModelsError, LoadFailed, StoreError):
        assert issubclass(root, OssianError), root
    # The chat room's refusals share a base, so a window catches one class for both.
    assert issubclass(ChatBusy, ChatError) and issubclass(NothingToDo, ChatError)
    # The engine's error is data (it travels the worker's pipe); its exception says its sentence.
    failure = EngineFailure(EngineError("memory", "Not enough memory. Choose a smaller context."))
    assert str(failure) == "Not enough memory. Choose a smaller context."


def test_the_root_is_a_leaf() -> None:
    source = Path(app.errors.__file__).read_text(encoding="utf-8")
    assert "import app" not in source and "from app" not in source


def test_the_command_line_prints_a_rooms_error_as_its_sentence(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A room's error that no command words itself reaches `ossian` as it is: the sentence, exit 1."""
    from app.commands import plan

    sentence = "huggingface.co could not be reached. Check the connection and try again."

    def unreachable(path: str) -> None:
        raise HubUnreachable(sentence)

    monkeypatch.setattr(plan, "read_profile", unreachable)
    assert cli.main(["plan", "model.gguf"]) == 1
    assert capsys.readouterr().err == f"ossian: {sentence}\n"


def test_the_command_line_prints_a_model_file_error_without_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "gone.gguf"
    assert cli.main(["plan", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ossian: ") and "gone.gguf" in err and "Traceback" not in err
