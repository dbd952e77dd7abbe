"""Which weights a device takes: the largest weight of each kind that a backend accepts, asked of ggml.

When llama.cpp places a weight on a device it first asks the device's backend whether it supports the
operation that uses the weight (`weight_buft_supported` in llama-model-loader.cpp: a dummy tensor in a
zero-size buffer of the device, then `ggml_backend_dev_supports_op`). Where the answer is no, the weight
silently goes to host memory, whatever the layer count or the overrides say. Backends say no by type
(a Vulkan device without enough shared memory runs no `MUL_MAT_ID`, so gpt-oss's experts stay on the
CPU) and by size (Vulkan rejects a tensor larger than the device's storage-buffer range: lavapipe keeps
gpt-oss's 587 MiB output matrix on the CPU). Without knowing this the planner predicts gigabytes on a
device that never get there.

So the probe asks the same question here, for the weight kinds gpt-oss has (matrix products of f32,
f16, q8_0, mxfp4 weights; expert products of the same), each with a binary search over the number of
rows: the answer is the largest weight in bytes the device accepts for that kind (0: none at all). The
planner compares every tensor of the model with it.
"""

from __future__ import annotations

import ctypes

# ggml_type values (ggml.h) of the weight types gpt-oss files use
GGML_TYPES = {"f32": 0, "f16": 1, "q8_0": 8, "mxfp4": 39}
BATCH = 512  # tokens of the probe operation, as llama.cpp's own check uses
EXPERTS, EXPERTS_USED = 32, 4  # the probe's expert tensor: gpt-oss-20b's expert count
ROW = 2880  # values per row: gpt-oss's embedding size (a multiple of every block size)
MAX_ROWS = 1 << 24  # 2880 x 16M rows of f32: far beyond any device's single-buffer limit
# struct ggml_tensor { enum ggml_type type; struct ggml_backend_buffer * buffer; ... }
_TENSOR_BUFFER_OFFSET = 8


class _InitParams(ctypes.Structure):
    _fields_ = [("mem_size", ctypes.c_size_t), ("mem_buffer", ctypes.c_void_p), ("no_alloc", ctypes.c_bool)]


def weight_kinds() -> list[str]:
    """The kinds measured, as 'op/type' (op: mul_mat for dense weights, mul_mat_id for expert weights)."""
    return [f"{op}/{name}" for op in ("mul_mat", "mul_mat_id") for name in GGML_TYPES]


def weight_limits(ggml: ctypes.CDLL, device: int) -> dict[str, int]:
    """For one device (a ggml_backend_dev_t): per weight kind, the largest weight it accepts, in bytes."""
    _declare(ggml)
    limits = {}
    for kind in weight_kinds():
        op, type_name = kind.split("/")
        limits[kind] = _largest(ggml, device, op, GGML_TYPES[type_name])
    return limits


def _largest(ggml: ctypes.CDLL, device: int, op: str, ggml_type: int) -> int:
    row_bytes = int(ggml.ggml_row_size(ggml_type, ROW))
    per_row = row_bytes * (EXPERTS if op == "mul_mat_id" else 1)
    if not _supported(ggml, device, op, ggml_type, 1):
        return 0
    low, high = 1, 2
    while high <= MAX_ROWS and _supported(ggml, device, op, ggml_type, high):
        low, high = high, high * 2
    if high > MAX_ROWS:
        return low * per_row
    while high - low > 1:  # low is accepted, high is not
        middle = (low + high) // 2
        if _supported(ggml, device, op, ggml_type, middle):
            low = middle
        else:
            high = middle
    return low * per_row


def _supported(ggml: ctypes.CDLL, device: int, op: str, ggml_type: int, rows: int) -> bool:
    """llama.cpp's weight_buft_supported for a weight of `rows` rows of ROW values."""
    context = ggml.ggml_init(_InitParams(ggml.ggml_tensor_overhead() * 8, None, True))
    if not context:
        return False
    buffer = None
    try:
        if op == "mul_mat_id":
            weight = ggml.ggml_new_tensor_3d(context, ggml_type, ROW, rows, EXPERTS)
            inputs = ggml.ggml_new_tensor_3d(context, GGML_TYPES["f32"], ROW, EXPERTS_USED, BATCH)
            ids = ggml.ggml_new_tensor_2d(context, 26, EXPERTS_USED, BATCH)  # 26: GGML_TYPE_I32
            operation = ggml.ggml_mul_mat_id(context, weight, inputs, ids)
        else:
            weight = ggml.ggml_new_tensor_2d(context, ggml_type, ROW, rows)
            inputs = ggml.ggml_new_tensor_2d(context, GGML_TYPES["f32"], ROW, BATCH)
            operation = ggml.ggml_mul_mat(context, weight, inputs)
        # a zero-size buffer of the device's type under the weight, so the backend sees where it would live
        buffer = ggml.ggml_backend_buft_alloc_buffer(ggml.ggml_backend_dev_buffer_type(device), 0)
        ctypes.c_void_p.from_address(weight + _TENSOR_BUFFER_OFFSET).value = buffer
        return bool(ggml.ggml_backend_dev_supports_op(device, operation))
    finally:
        if buffer:
            ctypes.c_void_p.from_address(weight + _TENSOR_BUFFER_OFFSET).value = None
            ggml.ggml_backend_buffer_free(buffer)
        ggml.ggml_free(context)


_declared: set[int] = set()


def _declare(ggml: ctypes.CDLL) -> None:
    if id(ggml) in _declared:
        return
    p, i64, size = ctypes.c_void_p, ctypes.c_int64, ctypes.c_size_t
    for name, argtypes, restype in (
        ("ggml_init", [_InitParams], p),
        ("ggml_free", [p], None),
        ("ggml_tensor_overhead", [], size),
        ("ggml_row_size", [ctypes.c_int, i64], size),
        ("ggml_new_tensor_2d", [p, ctypes.c_int, i64, i64], p),
        ("ggml_new_tensor_3d", [p, ctypes.c_int, i64, i64, i64], p),
        ("ggml_mul_mat", [p, p, p], p),
        ("ggml_mul_mat_id", [p, p, p, p], p),
        ("ggml_backend_dev_buffer_type", [p], p),
        ("ggml_backend_buft_alloc_buffer", [p, size], p),
        ("ggml_backend_buffer_free", [p], None),
        ("ggml_backend_dev_supports_op", [p, p], ctypes.c_bool),
    ):
        function = getattr(ggml, name)
        function.argtypes = argtypes
        function.restype = restype
    _declared.add(id(ggml))
