"""Inference: llama.cpp in a child process, behind one `Engine` interface.

Parent side (never imports llama_cpp): `interface` (the Engine contract, its capabilities, requests,
events, errors), `client` (WorkerEngine, the proxy that starts and talks to the worker), `testing` (the
scripted engine that replays token streams, for UI tests and benchmarks), `protocol` (the versioned
messages on the pipe), `spawn` (how a child starts, frozen or not), `probe` (the device probe child),
`llama_log` (reading llama.cpp's log: buffer sizes, failures).

Child side, the only modules that import llama_cpp: `worker` (the process: pipes, threads, dispatch),
`worker_session` (one loaded model: generate, cancel, tokenize), `worker_load` (applying a LoadPlan),
`worker_cache` (prefix reuse with sliding-window checkpoints), `worker_tokens` (segments to ids, no text
becomes a special), `worker_sampling`, `worker_batch`, `worker_log`, and `worker_probe`.
"""
