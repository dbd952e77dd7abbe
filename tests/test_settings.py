import json
import logging
from pathlib import Path

import pytest

from app.settings import Settings, load_settings, looks_secret, option_docs, save_settings


def test_defaults_when_file_missing(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "settings.json") == Settings()


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = Settings(offline_only=True, reasoning_effort="high", context_tokens=65536, theme="dark")
    save_settings(settings, path)
    assert load_settings(path) == settings


def test_invalid_values_fall_back_to_defaults_and_are_logged(tmp_path: Path, caplog) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"reasoning_effort": "extreme", "offline_only": "yes", "context_tokens": True,
                                "theme": "dark"}))
    with caplog.at_level(logging.WARNING):
        settings = load_settings(path)
    assert settings.reasoning_effort == "medium"
    assert settings.offline_only is False
    assert settings.context_tokens is None
    assert settings.theme == "dark"
    assert "reasoning_effort" in caplog.text


def test_corrupt_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    assert load_settings(path) == Settings()


def test_unknown_keys_from_newer_versions_survive_a_save(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"future_option": [1, 2], "theme": "light"}))
    settings = load_settings(path)
    settings.offline_only = True
    save_settings(settings, path)
    saved = json.loads(path.read_text())
    assert saved["future_option"] == [1, 2]
    assert saved["offline_only"] is True


def test_secrets_are_refused(tmp_path: Path) -> None:
    settings = Settings(extra={"hf_token": "hf_abcdefghijkl"})
    with pytest.raises(ValueError, match="keyring"):
        save_settings(settings, tmp_path / "settings.json")
    assert not (tmp_path / "settings.json").exists()


def test_secret_keys_in_the_file_are_dropped_on_load(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"hf_token": "hf_abcdefghijkl"}))
    assert load_settings(path).extra == {}


@pytest.mark.parametrize("key", ["hf_token", "api_key", "apiKey", "password", "client-secret"])
def test_secret_detection(key: str) -> None:
    assert looks_secret(key)


@pytest.mark.parametrize("key", ["context_tokens", "max_tokens", "theme", "keyboard"])
def test_ordinary_keys_are_not_secrets(key: str) -> None:
    assert not looks_secret(key)


def test_wrong_type_is_refused_on_save(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reasoning_effort"):
        save_settings(Settings(reasoning_effort="extreme"), tmp_path / "s.json")  # type: ignore[arg-type]


def test_every_option_is_documented() -> None:
    docs = option_docs()
    assert docs and all(docs.values())
