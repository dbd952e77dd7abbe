"""Loading a model as a `LoadPlan` says: llama.cpp's model and context, set up through its C API.

llama-cpp-python's `Llama` class cannot apply a plan faithfully: it does not pass
`tensor_buft_overrides` (expert tensors kept in host memory), knows flash attention only as on/off (not
llama.cpp's "auto"), and its prefix reuse is wrong for gpt-oss (see `worker_cache`). So the worker builds
the model and context from llama-cpp-python's thin wrappers and the C API, with every plan field applied:
n_ctx, n_batch/n_ubatch, n_gpu_layers, expert overrides, KV type, flash attention, threads, mmap,
swa_full; then a one-token warm-up decode, so that a compute buffer that does not fit fails now.

Before llama.cpp sees the file, the GGUF profile reader (`app.gguf`) checks it (missing, not GGUF, cut short,
another architecture) and says what is wrong in words; what llama.cpp still refuses is explained from
its log. On Linux a CPU-only load runs under a data-size limit of the machine's memory, so a plan that
asks for more fails as an allocation error instead of waking the out-of-memory killer.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from llama_cpp import _internals as llama_wrappers
from llama_cpp import llama_cpp as llama_c

from app.engine import llama_log
from app.engine.interface import EngineError, EngineFailure, LoadPlan, ModelInfo
from app.engine.worker_backends import load_backends
from app.engine.worker_batch import TokenBatch
from app.engine.worker_log import ERROR, LlamaLog
from app.engine.worker_tokens import PromptTokenizer
from app.gguf import ContextSettings, GgufProfile, ModelFileError, kv_bytes, read_profile
from app.harmony.parser import REQUIRED_SPECIALS
from app.units import format_gib

KV_TYPES = {"f16": llama_c.GGML_TYPE_F16, "q8_0": llama_c.GGML_TYPE_Q8_0}
FLASH_ATTN = {None: llama_c.LLAMA_FLASH_ATTN_TYPE_AUTO, True: llama_c.LLAMA_FLASH_ATTN_TYPE_ENABLED,
              False: llama_c.LLAMA_FLASH_ATTN_TYPE_DISABLED}
ARCHITECTURE_KEY = b"general.architecture"


class TensorBuftOverride(ctypes.Structure):
    """llama.h's `struct llama_model_tensor_buft_override` (llama-cpp-python does not declare it)."""

    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


def expert_override_patterns(blocks: tuple[int, ...]) -> list[str]:
    """One pattern per block whose expert weights stay in host memory. `\\.weight` keeps the tiny expert
    biases with the rest of the block (the planner counts them there)."""
    return [rf"blk\.{block}\.ffn_(up|down|gate)_exps\.weight" for block in sorted(set(blocks))]


@dataclass
class LoadedModel:
    """One model and its context. Close it to free both (the context first, as llama.cpp requires)."""

    plan: LoadPlan
    model: llama_wrappers.LlamaModel
    context: llama_wrappers.LlamaContext
    batch: TokenBatch
    tokenizer: PromptTokenizer
    info: ModelInfo
    n_ctx: int
    n_swa: int
    # ctypes memory llama.cpp points into while the model lives (the override array and its strings)
    keepalive: list[object] = field(default_factory=list)

    @property
    def ctx(self) -> llama_c.llama_context_p:
        return self.context.ctx

    @property
    def memory(self) -> llama_c.llama_memory_t:
        return self.context.memory

    def close(self) -> None:
        self.batch.close()
        self.context.close()
        self.model.close()
        self.keepalive.clear()


def load_model(plan: LoadPlan, log: LlamaLog) -> LoadedModel:
    """Load per `plan`; raises EngineFailure with a message that names the file and the problem."""
    started = time.perf_counter()
    backends = load_backends()  # once per process; the worker has done it already at start
    if backends.error:
        raise EngineFailure(EngineError("internal", backends.error))
    path = _preflight(plan)
    _limit_memory(plan)
    keepalive: list[object] = []
    with log.capture() as lines:
        model = _load_weights(plan, path, keepalive, lines)
        try:
            architecture = _metadata(model, ARCHITECTURE_KEY)
            tokenizer = PromptTokenizer(model.vocab)
            _require_gpt_oss(path, architecture, tokenizer)
            context = _create_context(plan, path, model, lines)
        except BaseException:
            model.close()
            raise
        try:
            batch = TokenBatch(plan.n_batch)
            if plan.warmup:
                _warm_up(context, batch, tokenizer, path, lines)
        except BaseException:
            context.close()
            model.close()
            raise
    n_ctx = llama_c.llama_n_ctx(context.ctx)
    info = ModelInfo(
        model_path=str(path),
        plan=plan,
        n_ctx=n_ctx,
        n_ctx_train=model.n_ctx_train(),
        n_vocab=tokenizer.n_vocab,
        architecture=architecture,
        special_ids=dict(tokenizer.special_ids),
        buffers=llama_log.buffer_sizes(line for _, line in lines),
        load_seconds=time.perf_counter() - started,
        description=model.desc(),
    )
    return LoadedModel(plan=plan, model=model, context=context, batch=batch, tokenizer=tokenizer, info=info,
                       n_ctx=n_ctx, n_swa=llama_c.llama_model_n_swa(model.model), keepalive=keepalive)


@dataclass
class LoadedVocabulary:
    """A model file's vocabulary alone (`LoadPlan.vocab_only`): tokenizing and counting, nothing else."""

    plan: LoadPlan
    model: llama_wrappers.LlamaModel
    tokenizer: PromptTokenizer
    info: ModelInfo

    def close(self) -> None:
        self.model.close()


def load_vocabulary(plan: LoadPlan, log: LlamaLog) -> LoadedVocabulary:
    """The vocabulary of `plan.model_path`, without its weights: the file is checked as for a full load,
    and must be a gpt-oss model, so what it counts is what that model would be sent."""
    started = time.perf_counter()
    backends = load_backends()
    if backends.error:
        raise EngineFailure(EngineError("internal", backends.error))
    path = _checked_path(plan)
    with log.capture() as lines:
        params = llama_c.llama_model_default_params()
        params.vocab_only = True
        params.n_gpu_layers = 0
        try:
            model = llama_wrappers.LlamaModel(path_model=str(path), params=params, verbose=True)
        except ValueError:
            raise _load_failure(path, lines, "read the vocabulary") from None
        try:
            architecture = _metadata(model, ARCHITECTURE_KEY)
            tokenizer = PromptTokenizer(model.vocab)
            _require_gpt_oss(path, architecture, tokenizer)
        except BaseException:
            model.close()
            raise
    info = ModelInfo(
        model_path=str(path), plan=plan, n_ctx=0, n_ctx_train=model.n_ctx_train(), n_vocab=tokenizer.n_vocab,
        architecture=architecture, special_ids=dict(tokenizer.special_ids), buffers=(),
        load_seconds=time.perf_counter() - started, description=model.desc())
    return LoadedVocabulary(plan=plan, model=model, tokenizer=tokenizer, info=info)


def _require_gpt_oss(path: Path, architecture: str, tokenizer: PromptTokenizer) -> None:
    missing = [text for text in REQUIRED_SPECIALS if text not in tokenizer.special_ids]
    if architecture != "gpt-oss" or missing:
        raise EngineFailure(EngineError(
            "model", f"{path.name} is not a gpt-oss model (architecture {architecture or 'unknown'}"
                     + (f", no {', '.join(missing)} in its vocabulary" if missing else "")
                     + "). Ossian runs gpt-oss-20b and gpt-oss-120b."))


def physical_cores() -> int:
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def _preflight(plan: LoadPlan) -> Path:
    """Check the file from the outside, and that a CPU plan's KV cache (and the weights, when not
    mapped) fit in the memory that is free: llama.cpp would otherwise touch gigabytes before failing."""
    profile = _profile(plan)
    if plan.n_gpu_layers != 0:
        return profile.path  # the planner sized the GPU side; llama.cpp reports what does not fit
    settings = ContextSettings(n_ctx=plan.n_ctx, kv_type=plan.kv_type,
                               n_ubatch=min(plan.n_ubatch, plan.n_batch), swa_full=plan.swa_full)
    cache = kv_bytes(profile, settings)
    weights = 0 if plan.use_mmap else profile.file_bytes
    free = _free_memory()
    if cache + weights > free:
        parts = f"{format_gib(cache)} for the KV cache of {plan.n_ctx:,} tokens"
        if weights:
            parts += f" and {format_gib(weights)} for the weights (loaded without memory mapping)"
        raise EngineFailure(EngineError(
            "memory", f"Not enough memory for {profile.path.name} with this plan: it needs {parts}, and "
                      f"{format_gib(free)} is free. Choose a smaller context, close other programs, or let "
                      "the planner pick a plan that fits.",
            detail=f"needed {cache + weights} bytes, free {free}"))
    return profile.path


def _checked_path(plan: LoadPlan) -> Path:
    return _profile(plan).path


def _profile(plan: LoadPlan) -> GgufProfile:
    try:
        return read_profile(plan.model_path)
    except ModelFileError as exc:
        raise EngineFailure(EngineError("model", exc.message, detail=f"{exc.problem}: {exc.path}")) from None


def _free_memory() -> int:
    return psutil.virtual_memory().available + psutil.swap_memory().free


def _limit_memory(plan: LoadPlan) -> None:
    """CPU-only plans: cap private memory at what is free now (Linux counts malloc and anonymous mmap,
    not the read-only mapping of the model file), so whatever the estimate missed fails to allocate
    instead of swapping the machine to a halt or waking the OOM killer. GPU drivers reserve large
    private address ranges, so GPU plans run without the cap."""
    if not sys.platform.startswith("linux"):
        return
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if plan.n_gpu_layers != 0:
        resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))
        return
    free = _free_memory()
    cap = free if hard == resource.RLIM_INFINITY else min(free, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))


def _load_weights(plan: LoadPlan, path: Path, keepalive: list[object],
                  lines: list[tuple[int, str]]) -> llama_wrappers.LlamaModel:
    params = llama_c.llama_model_default_params()
    params.n_gpu_layers = plan.n_gpu_layers  # negative: all layers
    params.load_mode = llama_c.LLAMA_LOAD_MODE_MMAP if plan.use_mmap else llama_c.LLAMA_LOAD_MODE_NONE
    if plan.cpu_expert_blocks:
        params.tensor_buft_overrides = _expert_overrides(plan.cpu_expert_blocks, keepalive)
    if plan.devices is not None:
        params.devices = _device_list(plan.devices, keepalive)
    if plan.tensor_split:
        split = (ctypes.c_float * llama_c.llama_max_devices())(*plan.tensor_split)
        keepalive.append(split)
        params.tensor_split = split
    try:
        # verbose=True: the wrapper would otherwise point fds 1 and 2 at /dev/null during the load
        return llama_wrappers.LlamaModel(path_model=str(path), params=params, verbose=True)
    except ValueError:
        raise _load_failure(path, lines, "load the model") from None


def _device_list(names: tuple[str, ...], keepalive: list[object]) -> int:
    """A NULL-terminated array of the named ggml devices (empty: the CPU alone)."""
    library = llama_c._lib
    library.ggml_backend_dev_by_name.argtypes = [ctypes.c_char_p]
    library.ggml_backend_dev_by_name.restype = ctypes.c_void_p
    devices = (ctypes.c_void_p * (len(names) + 1))()
    for slot, name in enumerate(names):
        device = library.ggml_backend_dev_by_name(name.encode())
        if not device:
            raise EngineFailure(EngineError(
                "model", f"The plan uses the device {name}, which llama.cpp does not see now (a driver "
                         "update or a GPU removed?). Plan the load again."))
        devices[slot] = device
    keepalive.append(devices)
    return ctypes.addressof(devices)


def cpu_buffer_type() -> int:
    """The CPU's buffer type, asked of the CPU device: with backend modules, libggml itself does not
    export ggml_backend_cpu_buffer_type (it lives in whichever ggml-cpu variant was loaded)."""
    library = llama_c._lib
    library.ggml_backend_dev_by_type.argtypes = [ctypes.c_int]
    library.ggml_backend_dev_by_type.restype = ctypes.c_void_p
    library.ggml_backend_dev_buffer_type.argtypes = [ctypes.c_void_p]
    library.ggml_backend_dev_buffer_type.restype = ctypes.c_void_p
    cpu_device = library.ggml_backend_dev_by_type(0)  # GGML_BACKEND_DEVICE_TYPE_CPU
    if not cpu_device:
        raise EngineFailure(EngineError("internal", "llama.cpp has no CPU backend loaded."))
    return library.ggml_backend_dev_buffer_type(cpu_device)


def _expert_overrides(blocks: tuple[int, ...], keepalive: list[object]) -> int:
    cpu = cpu_buffer_type()
    patterns = [pattern.encode() for pattern in expert_override_patterns(blocks)]
    if len(patterns) > llama_c.llama_max_tensor_buft_overrides():
        raise EngineFailure(EngineError("internal", f"The plan keeps {len(patterns)} blocks' experts in "
                                                    "host memory, more than llama.cpp accepts."))
    overrides = (TensorBuftOverride * (len(patterns) + 1))()  # zero-filled: the last is the terminator
    for slot, pattern in zip(overrides, patterns, strict=False):
        slot.pattern = pattern
        slot.buft = cpu
    keepalive.extend([overrides, patterns])
    return ctypes.addressof(overrides)


def _create_context(plan: LoadPlan, path: Path, model: llama_wrappers.LlamaModel,
                    lines: list[tuple[int, str]]) -> llama_wrappers.LlamaContext:
    threads = plan.n_threads or physical_cores()
    params = llama_c.llama_context_default_params()
    params.n_ctx = plan.n_ctx
    params.n_batch = plan.n_batch
    params.n_ubatch = min(plan.n_ubatch, plan.n_batch)
    params.n_seq_max = 1
    params.n_outputs_max = plan.n_outputs_max
    params.n_threads = threads
    params.n_threads_batch = threads
    params.flash_attn_type = FLASH_ATTN[plan.flash_attn]
    params.swa_full = plan.swa_full
    params.type_k = KV_TYPES[plan.kv_type]
    params.type_v = KV_TYPES[plan.kv_type]
    params.no_perf = True
    # a plan without a GPU keeps every operation on the CPU: llama.cpp would otherwise still send large
    # batches to any device it sees, however slow
    params.op_offload = plan.n_gpu_layers != 0 and plan.devices != ()
    try:
        return llama_wrappers.LlamaContext(model=model, params=params, verbose=True)
    except ValueError:
        raise _load_failure(path, lines, f"set up a context of {plan.n_ctx:,} tokens") from None


def _warm_up(context: llama_wrappers.LlamaContext, batch: TokenBatch, tokenizer: PromptTokenizer,
             path: Path, lines: list[tuple[int, str]]) -> None:
    batch.fill([tokenizer.special_id("<|start|>")], 0)
    status = llama_c.llama_decode(context.ctx, batch.batch)
    llama_c.llama_memory_clear(context.memory, True)
    if status != 0:
        raise _load_failure(path, lines, f"run a first decode (status {status})")


def _load_failure(path: Path, lines: list[tuple[int, str]], what: str) -> EngineFailure:
    errors = [line for level, line in lines if level >= ERROR] or [line for _, line in lines[-3:]]
    said = llama_log.explanation(errors)
    detail = "\n".join(errors)  # all of it: the planner reads failed allocation sizes from here
    if llama_log.mentions(errors, llama_log.MEMORY_FAILURE_PHRASES):
        return EngineFailure(EngineError(
            "memory", f"Not enough memory to {what} for {path.name} (llama.cpp: {said}). Choose a smaller "
                      "context or let the planner pick a plan that fits.", detail=detail))
    if llama_log.mentions(errors, llama_log.DAMAGED_FILE_PHRASES):
        return EngineFailure(EngineError(
            "model", f"{path.name} is damaged or incomplete (llama.cpp: {said}). Download it again.",
            detail=detail))
    return EngineFailure(EngineError(
        "model", f"llama.cpp could not {what} for {path.name}: {said or 'no reason given'}.", detail=detail))


def _metadata(model: llama_wrappers.LlamaModel, key: bytes) -> str:
    buffer = ctypes.create_string_buffer(256)
    size = llama_c.llama_model_meta_val_str(model.model, key, buffer, len(buffer))
    return buffer.value.decode("utf-8", errors="replace") if size >= 0 else ""
