"""The one `Engine` interface: typed requests in, typed events out.

Every engine implements it: the local worker client (llama.cpp in a child process), a remote
OpenAI-compatible server later, and the scripted engine of `app.engine.testing`. Callers never block on
the engine by calling it: `load`, `count_tokens`, `tokenize` return futures and `generate` returns a
`Generation` at once; waiting happens only where the caller chooses to (iterate the generation in a worker
thread, or `future.result()`).

What an engine can do beyond the core (load, generate, cancel, count tokens, close) it declares in
`Engine.capabilities`; callers ask there, never by probing the object for methods, and an engine asked
for what it lacks answers with an error of kind "unsupported". tests/engine/contract.py holds the checks
every engine passes.
"""

from __future__ import annotations

import abc
import concurrent.futures
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from app.errors import OssianError
from app.gguf.kv import KvType
from app.harmony.messages import Message
from app.harmony.segments import Segment
from app.units import SHORT_CONTEXT

DoneReason = Literal["return", "call", "eog", "length", "cancelled"]
StreamKind = Literal["token_ids", "text"]
ErrorKind = Literal[
    "model",      # the file is missing, broken, or not a gpt-oss model
    "memory",     # not enough RAM or VRAM for this plan
    "crashed",    # the worker process died; the next request restarts it
    "busy",       # a request came while another was running
    "not_loaded",  # generate/count before a model was loaded
    "grammar",    # the GBNF grammar did not parse
    "too_long",   # the prompt does not fit the context the model was loaded with
    "protocol",   # the two sides disagree about messages (a bug)
    "unsupported",  # the request needs what this engine lacks (see `Engine.capabilities`)
    "connection",  # a remote server refused the connection, timed out or cut the stream off
    "auth",       # a remote server refused the key (401, 403)
    "internal",   # anything else
]


@dataclass(frozen=True)
class LoadPlan:
    """How to load a model: what the planner decided, applied by the worker as is."""

    model_path: str
    n_ctx: int = SHORT_CONTEXT
    n_gpu_layers: int = 0  # -1: all layers
    # llama.cpp's device names (Vulkan0, CUDA1, ...) the model may use, in order. None: llama.cpp's own
    # choice (every GPU it sees); (): none, and no operation is sent to a device either (a weak GPU would
    # otherwise still get every large batch: measured 60 s against 0.006 s for a 66-token prompt).
    devices: tuple[str, ...] | None = None
    tensor_split: tuple[float, ...] = ()  # share of the layers per device in `devices` (by free memory)
    cpu_expert_blocks: tuple[int, ...] = ()  # blocks whose expert tensors stay in host memory
    kv_type: KvType = "f16"
    flash_attn: bool | None = None  # None: let llama.cpp decide (auto)
    n_threads: int | None = None  # None: the worker picks physical cores
    n_batch: int = 512
    n_ubatch: int = 512
    # Logit rows llama.cpp reserves per batch (0: one per token of the batch, its default). A chat only
    # samples the prompt's last position, and 1 row instead of 512 saves about 390 MiB of compute buffer
    # for gpt-oss's 201K vocabulary.
    n_outputs_max: int = 1
    use_mmap: bool = True
    swa_full: bool = False  # False: the small sliding-window cache gpt-oss needs (see docs)
    warmup: bool = True  # one-token decode at load, so compute-buffer failures show now
    # Only the vocabulary (`ossian count`): enough to tokenize and count, in about a second whatever the
    # model's size. No weights are read and no context is made, so such a load cannot generate.
    vocab_only: bool = False


@dataclass(frozen=True)
class SamplingSettings:
    """gpt-oss's recommended defaults: temperature 1.0, top_p 1.0, nothing else shaping the logits."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    repeat_penalty: float = 1.0
    seed: int | None = None
    max_tokens: int | None = None  # None: until a stop token or the context is full
    # Special tokens (by text) never to sample, e.g. ("<|return|>", "<|endoftext|>") so that a grammar
    # that ends in a tool call can only be closed by <|call|>.
    suppress_specials: tuple[str, ...] = ()


@dataclass(frozen=True)
class GenerateRequest:
    segments: tuple[Segment, ...]
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    grammar: str | None = None  # GBNF; may name special tokens like <|channel|>
    # The Harmony messages `segments` were rendered from (system and developer first), for an engine that
    # renders the prompt itself (`EngineCapabilities.renders == "server"`: a chat-completions server).
    # None where the prompt cannot be told as messages (the continuation of a cut-off message).
    conversation: tuple[Message, ...] | None = None


@dataclass(frozen=True)
class BufferSize:
    """One buffer llama.cpp allocated, as its log reported it (to 0.01 MiB).

    kind is 'model', 'kv', 'compute' or 'output'; device is llama.cpp's buffer name, e.g. 'CPU',
    'CPU_Mapped' (the mmapped file), 'CPU_REPACK', 'CUDA0', 'CUDA_Host'; label tells apart buffers of
    one kind and device, e.g. 'non-SWA' and 'SWA' for the two KV caches of gpt-oss.
    """

    kind: str
    device: str
    bytes: int
    label: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """What a successful load reports."""

    model_path: str
    plan: LoadPlan
    n_ctx: int
    n_ctx_train: int
    n_vocab: int
    architecture: str
    special_ids: dict[str, int]  # Harmony special token text -> id in this vocabulary
    buffers: tuple[BufferSize, ...] = ()
    load_seconds: float = 0.0
    description: str = ""


@dataclass(frozen=True)
class TokenEvent:
    id: int
    piece: bytes  # raw bytes: a UTF-8 character may be split across tokens


@dataclass(frozen=True)
class Done:
    reason: DoneReason
    prompt_tokens: int = 0  # tokens in the prompt
    reused_tokens: int = 0  # of those, taken from the cache
    evaluated_tokens: int = 0  # of those, computed now
    generated_tokens: int = 0
    time_to_first_token_s: float = 0.0
    prompt_seconds: float = 0.0
    tokens_per_second: float = 0.0


@dataclass(frozen=True)
class EngineError:
    kind: ErrorKind
    message: str  # a sentence a person can act on
    detail: str = ""  # for the log


GenerationEvent = TokenEvent | Done | EngineError


@dataclass(frozen=True)
class EngineCapabilities:
    """What an engine can do beyond the core every engine has. Each engine states every field."""

    # `Engine.tokenize(segments)`: a rendered prompt's token ids exactly as a generation evaluates them
    tokenize: bool
    # `GenerateRequest.grammar` (GBNF, which may name special tokens) constrains what is sampled
    grammar: bool
    # What a `TokenEvent` carries. "token_ids": ids of the model's vocabulary, the specials at the ids
    # `ModelInfo.special_ids` names, so Harmony's token-level parser reads the stream. "text": pieces of
    # text whose ids mean nothing (a server that streams text), for Harmony's text-level parser.
    stream: StreamKind
    # `LoadPlan`'s placement (GPU layers, devices, split, experts in host memory, KV type, threads, batch
    # sizes) is applied as given; without it only `model_path` and `n_ctx` mean anything.
    load_plans: bool
    # Who turns the conversation into the model's prompt: "harmony", this app's renderer (the segments are
    # what the model reads, byte for byte); "server", a chat-completions server's own template (the
    # engine sends `GenerateRequest.conversation` as chat messages and streams what comes back as
    # Harmony). A "server" engine's `TokenEvent` ids are its own numbering of the Harmony specials
    # (`ModelInfo.special_ids`), its text pieces carry no id that means anything.
    renders: Literal["harmony", "server"] = "harmony"

    def refusal(self, request: GenerateRequest) -> EngineError | None:
        """The error that answers `request` when it needs what the engine lacks; None when it does not."""
        if request.grammar is not None and not self.grammar:
            return unsupported("constrain a reply with a grammar")
        if self.renders == "server" and request.conversation is None:
            return unsupported("continue a cut-off message (the server renders the prompt itself)")
        return None


def unsupported(what: str) -> EngineError:
    """The error for a request this engine cannot serve: `what` completes "This engine cannot ..."."""
    return EngineError("unsupported", f"This engine cannot {what}.")


class EngineFailure(OssianError):
    """Raised by futures of a failed request; carries the EngineError."""

    def __init__(self, error: EngineError) -> None:
        super().__init__(error.message)
        self.error = error


class Generation(abc.ABC):
    """A running generation. Iterate for events: tokens, then exactly one Done or EngineError."""

    @abc.abstractmethod
    def __iter__(self) -> Iterator[GenerationEvent]: ...

    @abc.abstractmethod
    def cancel(self) -> None:
        """Ask the engine to stop; the stream then ends with Done(reason='cancelled')."""


class Engine(abc.ABC):
    """One model at a time, one generation at a time."""

    @abc.abstractmethod
    def load(self, plan: LoadPlan) -> concurrent.futures.Future[ModelInfo]: ...

    @abc.abstractmethod
    def unload(self) -> concurrent.futures.Future[None]: ...

    @abc.abstractmethod
    def generate(self, request: GenerateRequest) -> Generation: ...

    @abc.abstractmethod
    def count_tokens(self, texts: Sequence[str]) -> concurrent.futures.Future[list[int]]:
        """Token counts of plain texts in the loaded model's vocabulary."""

    def tokenize(self, segments: Sequence[Segment]) -> concurrent.futures.Future[list[int]]:
        """A rendered prompt's token ids exactly as a generation would evaluate them (specials by id).

        Only where `capabilities.tokenize`; an engine without it keeps this default, whose future fails
        with an `EngineFailure` of kind "unsupported"."""
        future: concurrent.futures.Future[list[int]] = concurrent.futures.Future()
        future.set_exception(EngineFailure(unsupported("tokenize a prompt")))
        return future

    @property
    @abc.abstractmethod
    def capabilities(self) -> EngineCapabilities:
        """What this engine can do beyond the core; the same for the engine's whole life."""

    @property
    @abc.abstractmethod
    def model(self) -> ModelInfo | None:
        """The loaded model, or None."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop everything and free the memory (the worker process exits)."""
