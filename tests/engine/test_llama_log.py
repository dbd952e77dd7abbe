"""Reading llama.cpp's log: buffer sizes and failure explanations.

The lines are llama.cpp's own wording (from loads of the tiny model here, and the CUDA lines as a CUDA
build prints them); the real load's figures are checked in test_worker_load.
"""

from __future__ import annotations

from app.engine.interface import BufferSize
from app.engine.llama_log import (
    DAMAGED_FILE_PHRASES,
    MEMORY_FAILURE_PHRASES,
    buffer_sizes,
    explanation,
    mentions,
)

CPU_LOAD = """\
load_tensors: loading model tensors, this can take a while... (load_mode = mmap)
load_tensors:   CPU_Mapped model buffer size =     0.29 MiB
load_tensors:   CPU_REPACK model buffer size =     0.05 MiB
llama_context:        CPU  output buffer size =     0.77 MiB
llama_kv_cache_iswa: creating non-SWA KV cache, size = 4096 cells
llama_kv_cache:        CPU KV buffer size =     0.50 MiB
llama_kv_cache: size =    0.50 MiB (  4096 cells,   1 layers,  1/1 seqs), K (f16):    0.25 MiB
llama_kv_cache_iswa: creating     SWA KV cache, size = 768 cells
llama_kv_cache:        CPU KV buffer size =     0.09 MiB
sched_reserve:        CPU compute buffer size =     5.40 MiB
~llama_context:        CPU compute buffer size is   5.3965 MiB, matches expectation of   5.3965 MiB
"""
GPU_LOAD = """\
load_tensors:        CUDA0 model buffer size =  1242.00 MiB
load_tensors:   CPU_Mapped model buffer size =  10900.10 MiB
llama_kv_cache_iswa: creating non-SWA KV cache, size = 131072 cells
llama_kv_cache:      CUDA0 KV buffer size =  3072.00 MiB
llama_kv_cache_iswa: creating     SWA KV cache, size = 768 cells
llama_kv_cache:      CUDA0 KV buffer size =    18.00 MiB
sched_reserve:      CUDA0 compute buffer size =   457.00 MiB
sched_reserve:  CUDA_Host compute buffer size =   263.01 MiB
"""


def mib(value: float) -> int:
    return round(value * 2**20)


def test_cpu_load_buffers_in_order_with_kv_caches_told_apart() -> None:
    assert buffer_sizes(CPU_LOAD.splitlines()) == (
        BufferSize("model", "CPU_Mapped", mib(0.29)),
        BufferSize("model", "CPU_REPACK", mib(0.05)),
        BufferSize("output", "CPU", mib(0.77)),
        BufferSize("kv", "CPU", mib(0.50), "non-SWA"),
        BufferSize("kv", "CPU", mib(0.09), "SWA"),
        BufferSize("compute", "CPU", mib(5.40)),
    )


def test_gpu_load_buffers_per_device() -> None:
    sizes = buffer_sizes(GPU_LOAD.splitlines())
    assert [(b.kind, b.device, b.label) for b in sizes] == [
        ("model", "CUDA0", ""), ("model", "CPU_Mapped", ""), ("kv", "CUDA0", "non-SWA"),
        ("kv", "CUDA0", "SWA"), ("compute", "CUDA0", ""), ("compute", "CUDA_Host", "")]
    assert sizes[-1].bytes == mib(263.01)


def test_failures_are_recognised_and_explained_without_function_prefixes() -> None:
    memory = ["llama_init_from_model: failed to initialize the context: std::bad_alloc"]
    damaged = ["llama_model_load: error loading model: tensor 'blk.0.attn_output.weight' data is not within "
               "the file bounds, model is corrupted or incomplete",
               "llama_model_load_from_file_impl: failed to load model"]
    assert mentions(memory, MEMORY_FAILURE_PHRASES) and not mentions(memory, DAMAGED_FILE_PHRASES)
    assert mentions(damaged, DAMAGED_FILE_PHRASES) and not mentions(damaged, MEMORY_FAILURE_PHRASES)
    said = explanation(damaged)
    assert said.startswith("error loading model: tensor 'blk.0.attn_output.weight'")
    assert said.endswith("; failed to load model")
    assert explanation(["a: x", "b: x", "c: y"]) == "x; y"
