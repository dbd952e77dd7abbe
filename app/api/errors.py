"""The API's errors, in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.

`ApiError` is what a handler raises for a request it cannot serve; the server turns it into the JSON
body and status (the `openai` SDK maps 400 to `BadRequestError`, 401 to `AuthenticationError`, 429 to
`RateLimitError`, and honours `Retry-After`). `from_engine` words an engine's error the way OpenAI's
clients read it: a prompt longer than the context is `context_length_exceeded` (Codex and others react to
that code), an engine busy with the window's own turn is a 429 to retry.
"""

from __future__ import annotations

from typing import Any

from app.engine.interface import EngineError
from app.errors import OssianError

RETRY_AFTER_S = 5  # how long a client is asked to wait while the window's own turn runs


class ApiError(OssianError):
    """A request the API answers with an error; `str()` is the message the client sees."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def busy(message: str, retry_after_s: int = RETRY_AFTER_S) -> ApiError:
    # Codex reads a wait out of "try again in Ns"; every client reads Retry-After.
    return ApiError(429, f"{message} Please try again in {retry_after_s}s.", type="rate_limit_error",
                    code="rate_limit_exceeded", headers={"Retry-After": str(retry_after_s)})


def from_engine(error: EngineError, prompt_param: str = "messages") -> ApiError:
    """The API's answer to an engine error that came before any output."""
    if error.kind == "busy":
        return busy("The model is busy writing a reply in the Ossian window.")
    if error.kind == "too_long":
        return ApiError(400, error.message, param=prompt_param, code="context_length_exceeded")
    if error.kind == "not_loaded":
        return ApiError(503, "No model is loaded in Ossian. Load one in the window, then try again.",
                        type="server_error", code="model_not_loaded")
    if error.kind == "grammar":
        return ApiError(400, error.message, param="grammar", code="invalid_grammar")
    if error.kind == "unsupported":
        return ApiError(400, error.message, code="unsupported")
    return ApiError(500, error.message, type="server_error", code=f"engine_{error.kind}")
