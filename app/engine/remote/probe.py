"""What a server is, found by asking it: its kind, the tier Ossian can use, its models and their context.

Each kind answers an endpoint the others do not (each checked against the server's own documentation or
source, named below), so the probe asks them in turn, cheapest first:

- llama-server: `GET /props` (tools/server/README.md: `default_generation_settings.n_ctx`, `model_path`).
- Ollama: `GET /api/version`, and `POST /api/show` for a model's `model_info["<arch>.context_length"]`
  (docs/api.md).
- LM Studio: `GET /api/v0/models` (its REST API: `max_context_length`, `loaded_context_length`, `state`).
- vLLM: `GET /version`, and `/v1/models` entries carrying `max_model_len` (vllm/entrypoints/openai/
  protocol.py `ModelCard`); `POST /tokenize` (serving_tokenization.py).
- llama-cpp-python's server: `/v1/models` entries `owned_by: "me"` and `POST /extras/tokenize`.
- anything else that lists `/v1/models`: a generic OpenAI-compatible server.

Two tiers: "harmony" (Ossian renders the prompt and parses the tokens itself, byte for byte as with the
local worker: llama-server and vLLM, which take token ids and stream them back) and "chat" (the server
renders with its own template and parses the reply: Ollama, LM Studio, the rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from app.engine.interface import EngineError
from app.engine.remote.wire import ServerClient, ServerFailure

ServerKind = Literal["llama-server", "vllm", "ollama", "lm-studio", "llama-cpp-python", "openai"]
Tier = Literal["harmony", "chat"]

KIND_NAMES: dict[str, str] = {
    "llama-server": "llama-server", "vllm": "vLLM", "ollama": "Ollama", "lm-studio": "LM Studio",
    "llama-cpp-python": "llama-cpp-python's server", "openai": "an OpenAI-compatible server",
}

# What each tier costs, said where the user picks a server.
TIER_NOTES: dict[str, str] = {
    "harmony": "Ossian writes the prompt and reads the model's tokens itself, as with a model on this "
               "computer: reasoning, tool calls and prefix reuse work the same.",
    "chat": "The server writes the prompt with its own template and parses the reply: Ossian shows the "
            "reasoning and tool calls it reports. The python tool and the document browser are not "
            "offered to the model, and token counts are the server's (or estimated).",
}


@dataclass(frozen=True)
class ServerModel:
    name: str
    n_ctx: int | None = None  # the context it is served with, where the server says
    n_ctx_train: int | None = None  # the model's own maximum, where the server says
    loaded: bool = True
    n_vocab: int | None = None  # the vocabulary's size, where the server says (llama-server)


@dataclass(frozen=True)
class ServerInfo:
    kind: ServerKind
    tier: Tier
    models: tuple[ServerModel, ...]
    version: str = ""

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    def pick(self, wanted: str | None) -> ServerModel:
        """The model to use: `wanted` by name, else the first loaded, else the first. Raises a
        `ServerFailure` of kind "model" naming what there is when `wanted` is not among them."""
        if wanted:
            for model in self.models:
                if model.name == wanted or model.name.split("/")[-1] == wanted:
                    return model
            listed = ", ".join(m.name for m in self.models[:8]) or "none"
            raise ServerFailure(EngineError("model", f"The server has no model named {wanted!r}. It lists: "
                                                     f"{listed}."))
        if not self.models:
            raise ServerFailure(EngineError("model", "The server lists no model. Load one there first."))
        return next((m for m in self.models if m.loaded), self.models[0])


def probe(client: ServerClient) -> ServerInfo:
    """Ask the server what it is. Raises `ServerFailure` (connection, auth, protocol) when it cannot say."""
    props = client.get_json("/props", quiet=True)
    if isinstance(props, dict) and "default_generation_settings" in props:
        return _llama_server(client, props)
    ollama = client.get_json("/api/version", quiet=True)
    if isinstance(ollama, dict) and "version" in ollama and "/" not in str(ollama.get("version")):
        return _ollama(client, str(ollama["version"]))
    lm_studio = client.get_json("/api/v0/models", quiet=True)
    if isinstance(lm_studio, dict) and isinstance(lm_studio.get("data"), list):
        return _lm_studio(lm_studio["data"])
    listed = client.get_json("/v1/models")
    entries = listed.get("data", []) if isinstance(listed, dict) else []
    if not isinstance(entries, list):
        raise ServerFailure(EngineError("protocol", "The server's /v1/models is not a list of models."))
    if any(isinstance(e, dict) and "max_model_len" in e for e in entries):
        version = client.get_json("/version", quiet=True)
        return ServerInfo("vllm", "harmony", _openai_models(entries),
                          str(version.get("version", "")) if isinstance(version, dict) else "")
    if any(isinstance(e, dict) and e.get("owned_by") == "me" for e in entries) and \
            client.post_json("/extras/tokenize", {"input": "probe"}, quiet=True) is not None:
        return ServerInfo("llama-cpp-python", "chat", _openai_models(entries))
    return ServerInfo("openai", "chat", _openai_models(entries))


def _llama_server(client: ServerClient, props: dict[str, Any]) -> ServerInfo:
    settings = props.get("default_generation_settings") or {}
    n_ctx = _int(settings.get("n_ctx")) or _int(props.get("n_ctx"))
    path = str(props.get("model_alias") or props.get("model_path") or "")
    models: tuple[ServerModel, ...] = ()
    listed = client.get_json("/v1/models", quiet=True)
    if isinstance(listed, dict):
        models = tuple(ServerModel(str(e.get("id")), n_ctx, _int((e.get("meta") or {}).get("n_ctx_train")),
                                   n_vocab=_int((e.get("meta") or {}).get("n_vocab")))
                       for e in listed.get("data", []) if isinstance(e, dict) and e.get("id"))
    if not models:
        models = (ServerModel(path.rsplit("/", 1)[-1] or "model", n_ctx),)
    return ServerInfo("llama-server", "harmony", models, str(props.get("build_info", "")))


def _ollama(client: ServerClient, version: str) -> ServerInfo:
    tags = client.get_json("/api/tags", quiet=True) or {}
    running = client.get_json("/api/ps", quiet=True) or {}
    loaded = {str(m.get("name")): _int(m.get("context_length")) for m in running.get("models", [])
              if isinstance(m, dict)}
    models = []
    for entry in tags.get("models", []):
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        name = str(entry["name"])
        trained = None
        shown = client.post_json("/api/show", {"model": name}, quiet=True)
        if isinstance(shown, dict):
            info = shown.get("model_info") or {}
            trained = next((_int(v) for k, v in info.items() if k.endswith(".context_length")), None)
        models.append(ServerModel(name, loaded.get(name), trained, name in loaded))
    return ServerInfo("ollama", "chat", tuple(models), version)


def _lm_studio(entries: list[Any]) -> ServerInfo:
    models = tuple(
        ServerModel(str(e.get("id")), _int(e.get("loaded_context_length")), _int(e.get("max_context_length")),
                    e.get("state") == "loaded")
        for e in entries if isinstance(e, dict) and e.get("id") and e.get("type", "llm") in ("llm", "vlm"))
    return ServerInfo("lm-studio", "chat", models)


def _openai_models(entries: list[Any]) -> tuple[ServerModel, ...]:
    return tuple(ServerModel(str(e.get("id")), _int(e.get("max_model_len")))
                 for e in entries if isinstance(e, dict) and e.get("id"))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
