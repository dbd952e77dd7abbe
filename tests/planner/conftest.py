"""Shared inputs of the planner tests: the shape twins and their profiles, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.planner import GgufProfile, read_profile
from tests.fixtures.shape_twins import shape_twin_20b, shape_twin_120b
from tests.fixtures.tiny_models import tiny_gpt_oss_model


@pytest.fixture(scope="session")
def twin_20b() -> Path:
    return shape_twin_20b()


@pytest.fixture(scope="session")
def twin_120b() -> Path:
    return shape_twin_120b()


@pytest.fixture(scope="session")
def profile_20b(twin_20b: Path) -> GgufProfile:
    return read_profile(twin_20b)


@pytest.fixture(scope="session")
def profile_120b(twin_120b: Path) -> GgufProfile:
    return read_profile(twin_120b)


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    return tiny_gpt_oss_model()
