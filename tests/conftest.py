"""Test-wide set-up: a private OSSIAN_HOME per test and Qt on the offscreen platform.

No test may touch the real user folders or need a display.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings as hypothesis_settings

if TYPE_CHECKING:
    from app.gguf import GgufProfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Property tests draw the same examples on every run, so a run of the test command (CI's included) is
# repeatable: a rare input that fails shows up in `explore` runs (`pytest --hypothesis-profile explore`:
# fresh random examples each run), gets a pinned example or a corpus entry, and is fixed before it lands,
# rather than failing one run in a hundred.
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile("repeatable")


SLOW_ENV = "OSSIAN_SLOW_TESTS"
VULKAN_ENV = "OSSIAN_VULKAN_TESTS"  # set by `bootstrap.py test --vulkan`, with the module build


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`vulkan` tests run only in the Vulkan run (they need the module build and a Vulkan device), where
    every one runs, slow ones included; elsewhere they are deselected, not skipped. `slow` tests (the
    20b/120b shape twins: gigabytes of page cache) run only when asked for."""
    vulkan_run = os.environ.get(VULKAN_ENV) == "1"
    if not vulkan_run:
        kept = [item for item in items if "vulkan" not in item.keywords]
        if len(kept) != len(items):
            config.hook.pytest_deselected(items=[item for item in items if "vulkan" in item.keywords])
            items[:] = kept
    if os.environ.get(SLOW_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"slow: set {SLOW_ENV}=1 to run")
    for item in items:
        if "slow" in item.keywords and not (vulkan_run and "vulkan" in item.keywords):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def no_real_keyring(monkeypatch: pytest.MonkeyPatch):
    """No test reads or writes the machine's keyring: keyring's "no backend" here and in subprocesses, so
    secrets (server keys, MCP tokens, the Hub token) live in the test's session only."""
    import keyring
    import keyring.backends.fail

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    yield
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def ossian_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets an empty app home; nothing leaks into ~/.local or between tests. Other apps' model
    stores (the Hugging Face cache, LM Studio, Ollama) are looked for in an empty home of its own, never
    the user's; tests of the scan build those stores there or pass their own `Environment`."""
    from app.models.stores import Environment

    home = tmp_path_factory.mktemp("ossian-home")
    monkeypatch.setenv("OSSIAN_HOME", str(home))
    monkeypatch.delenv("OSSIAN_MODELS_DIR", raising=False)
    user_home = home / "user-home"
    monkeypatch.setattr(Environment, "current", classmethod(
        lambda cls: cls(home=user_home, env={}, platform=sys.platform, system_root=user_home / "system")))
    return home


@pytest.fixture(scope="session")
def tiny_model_path() -> Path:
    """The tiny gpt-oss GGUF (real llama.cpp, random weights, Harmony specials at made-up ids)."""
    from fixtures.tiny_models import tiny_gpt_oss_model

    return tiny_gpt_oss_model()


@pytest.fixture(scope="session")
def real_vocabulary_model_path() -> Path:
    """The tiny gpt-oss GGUF with gpt-oss's real tokenizer (o200k_harmony, specials at their real ids):
    for every test that counts tokens or touches special tokens. Written once, about 10 s, then cached."""
    from fixtures.tiny_models import tiny_gpt_oss_real_vocabulary_model

    return tiny_gpt_oss_real_vocabulary_model()


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path: Path) -> Path:
    """The tiny gpt-oss GGUF, by the name the gguf and planner tests use."""
    return tiny_model_path


# The shape twins of the published 20b and 120b files and their profiles, shared by the gguf and planner
# tests (headers only: reading them is quick; loading them is what the slow tests do).


@pytest.fixture(scope="session")
def twin_20b() -> Path:
    from fixtures.shape_twins import shape_twin_20b

    return shape_twin_20b()


@pytest.fixture(scope="session")
def twin_120b() -> Path:
    from fixtures.shape_twins import shape_twin_120b

    return shape_twin_120b()


@pytest.fixture(scope="session")
def profile_20b(twin_20b: Path) -> GgufProfile:
    from app.gguf import read_profile

    return read_profile(twin_20b)


@pytest.fixture(scope="session")
def profile_120b(twin_120b: Path) -> GgufProfile:
    from app.gguf import read_profile

    return read_profile(twin_120b)


@pytest.fixture(scope="session")
def other_architecture_model_path() -> Path:
    """A tiny GGUF of the llama architecture: valid, loadable, and not a gpt-oss model."""
    from fixtures.tiny_models import tiny_llama_model

    return tiny_llama_model()
