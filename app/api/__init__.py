"""Ossian's own OpenAI-compatible API: the loaded model for other apps (Codex CLI, the `openai` SDK, ...).

Off by default; `ossian serve` or the window's switch turns it on. It listens on loopback with a random
key unless the user says otherwise, checks the `Host` header, sends no CORS headers, and offers the model
function tools only: nothing it receives can run code on this machine. Every reply is one stateless
completion (`app.chat.completion`), the same the window and `ossian chat` use.

Modules: `server` (routes, uvicorn), `security` (key, `Host`), `runner` (one completion at a time, each
on its own thread), `chat_completions` and `responses` (the two wire formats), `reading` (what both read
the same way), `errors` (OpenAI's error shape).
"""

from app.api.errors import ApiError
from app.api.security import LOOPBACK_NAMES, allowed_hosts_for, is_loopback, new_api_key
from app.api.server import ApiServer, ApiSettings, ServerError, create_app, model_id

__all__ = [
    "LOOPBACK_NAMES",
    "ApiError",
    "ApiServer",
    "ApiSettings",
    "ServerError",
    "allowed_hosts_for",
    "create_app",
    "is_loopback",
    "model_id",
    "new_api_key",
]
