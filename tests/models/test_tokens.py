"""The Hub token: in the OS keyring when there is one, for the session only when there is none."""

from pathlib import Path

import keyring
import pytest

from app.models import TokenError, TokenStore
from app.models.tokens import KEYRING_SERVICE, KEYRING_USER
from tests.models.keyring_backend import FileKeyring

TOKEN = "hf_abcdefghijklmnopqrstuvwx"


def test_without_a_keyring_the_token_is_kept_for_the_session_and_the_user_is_told() -> None:
    store = TokenStore(environ={})
    result = store.set(f"  {TOKEN}\n")

    assert not result.saved and "not saved" in result.message and "next time" in result.message
    assert store.lookup() == (TOKEN, "session")
    assert TokenStore(environ={}).get() is None  # the next start has nothing


def test_with_a_keyring_the_token_is_saved_there_and_found_at_the_next_start(tmp_path: Path) -> None:
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)

    result = TokenStore(environ={}).set(TOKEN)

    assert result.saved and "keyring" in result.message
    assert backend.get_password(KEYRING_SERVICE, KEYRING_USER) == TOKEN
    assert TokenStore(environ={}).lookup() == (TOKEN, "keyring")
    TokenStore(environ={}).clear()
    assert TokenStore(environ={}).get() is None
    assert backend.get_password(KEYRING_SERVICE, KEYRING_USER) is None


def test_hf_token_in_the_environment_is_the_last_resort() -> None:
    assert TokenStore(environ={"HF_TOKEN": TOKEN}).lookup() == (TOKEN, "environment")
    store = TokenStore(environ={"HF_TOKEN": TOKEN})
    store.set("hf_sessiontoken12345")
    assert store.lookup() == ("hf_sessiontoken12345", "session")


@pytest.mark.parametrize("bad", ["", "   ", "hf_abc def", "hf_äöü1234"])
def test_what_cannot_be_a_token_is_refused(bad: str) -> None:
    with pytest.raises(TokenError):
        TokenStore(environ={}).set(bad)


def test_keyring_failures_never_show_the_token(caplog: pytest.LogCaptureFixture) -> None:
    TokenStore(environ={}).set(TOKEN)
    assert TOKEN not in caplog.text
