import logging
from pathlib import Path

from app.logsetup import configure_logging, redact


def test_tokens_are_masked() -> None:
    assert "hf_***" in redact("using token hf_AbCdEfGhIjKlMnOp for the download")
    assert "AbCdEf" not in redact("Authorization: Bearer hf_AbCdEfGhIjKlMnOp")


def test_log_file_is_written_and_redacted(tmp_path: Path, capsys) -> None:
    log_file = tmp_path / "logs" / "ossian.log"
    configure_logging(log_file, verbose=True)
    try:
        logging.getLogger("app.test").warning("token is %s", "hf_SECRETSECRETSECRET")
    finally:
        configure_logging(None)
    text = log_file.read_text()
    assert "token is hf_***" in text
    assert "SECRET" not in text
    assert "token is hf_***" in capsys.readouterr().err
