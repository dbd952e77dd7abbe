"""GPU check: the planner and the engine against llama.cpp on a real NVIDIA GPU, in one command.

IT PROVES NOTHING UNTIL IT RUNS ON A MACHINE WITH AN NVIDIA GPU. It was written, and smoke-run only through
Vulkan on lavapipe (Mesa's Vulkan on the CPU), on a machine with neither a GPU nor cuBLAS; the CUDA path,
the offline CUDA build and every figure for a real card stay unverified until someone runs it on one and
reads what it prints.

    python3 bench/gpu_check.py --prepare DIR          # on a connected machine: the offline bundle (<= 64 MiB)
    python bench/gpu_check.py [--offline DIR]         # on the GPU machine (several minutes, see below)
    GGML_VK_VISIBLE_DEVICES=0 GGML_VK_DISABLE_F16=1 GGML_VK_DISABLE_COOPMAT=1 OSSIAN_ALLOW_SOFTWARE_GPU=1 \\
        .venv-vulkan/bin/python bench/gpu_check.py --backend vulkan --quick   # smoke run on any Vulkan device

0. The build. An installed llama-cpp-python whose probe (`python -m app --worker-probe`) shows a CUDA
   device is used as it is. Otherwise, with an NVIDIA driver and a CUDA toolkit (nvcc on PATH, CUDA_HOME)
   at hand, it builds llama-cpp-python with the CUDA module offline from the bundle `--prepare` made
   (bench/gpu_check_prepare.py: trimmed sources, the build's wheels, SHA-256 sums), for the card's own
   architecture, into `--build-dir` (kept, so a second run skips the build), and runs the rest again with
   that build first on PYTHONPATH.
1. Placement: plans the tiny model and the 20b and 120b shape twins for the card's real free memory
   (the probe) with `make_plan`, loads each plan in a child (tests/planner/placement_probe.py, the
   worker's own loader) and prints llama.cpp's buffers against the prediction per device (model, KV,
   compute, ratio), and whether every layer and expert landed where the plan put it. Goal: the device's
   total within 5%.
2. The fallback ladder against a real out-of-memory: the 20b twin at its trained context with a machine
   description that claims four times the card's memory (`dataclasses.replace` on the Gpu). Where the
   card could really hold that first plan (a big card), a ballast child first takes all but half of what
   the plan needs, through ggml's own allocator, so the failure is real either way. Prints each attempt.
3. Speed: tokens per second generating on the GPU (the plan) against the CPU (`devices=()`), 20b twin.
   Also the GPU memory the load took beyond llama.cpp's reported buffers (the 1 GiB margin is for it).
4. Sweep: the number of blocks whose experts stay in RAM, k-2..k+2 around the plan's k, tokens per
   second each; prints how far the plan is from the fastest split that fits (goal: within 5%). On a card
   that holds the whole model the sweep plans for less free memory (about a third of the experts in
   RAM; `--sweep-gib`), and "fits" means llama.cpp's buffers plus the measured memory beyond them fit in
   it; otherwise "fits" means that the load and its warm-up succeeded.
5. A summary with the ratios and verdicts; the exit status is 1 when a goal was missed or a step failed.

On an H100 with 16 cores the check (without the build) is expected to take about five minutes: loads of
the 20b twin are seconds there, of the 120b about a minute (61 GB of page cache). The build with nvcc for
one architecture is expected to take five to eight minutes. Neither figure has been measured.

`--quick`: the tiny model and the 20b twin only, 4K context, 16 tokens once, the sweep at k-1..k+1; on
lavapipe with 2 cores it took 100 s. On a software renderer steps 3 and 4 use the tiny model (the 20b twin
generates at minutes per token there) and the ladder meets no out-of-memory (lavapipe allocates past the
size it reports), so those verdicts are left open. The 120b twin is skipped, with the reason, where RAM
cannot hold its plan. `--steps` runs part of the check.

It uses the app's own folders (OSSIAN_HOME if set), so a CUDA pack installed with `ossian backends
install` counts as an installed CUDA build; the plans the ladder remembers go to a temporary file.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gpu_check_prepare as prep

if TYPE_CHECKING:
    from app.engine.client import WorkerEngine
    from app.engine.interface import EngineError, LoadPlan, ModelInfo
    from app.engine.probe import ProbeDevice, ProbeReport
    from app.gguf import GgufProfile
    from app.planner import Gpu, Machine, Plan

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
GIB, MIB = 2**30, 2**20
BACKENDS = {"cuda": "CUDA", "vulkan": "Vulkan"}
SITE_VARIABLE = "OSSIAN_GPU_CHECK_SITE"  # set when this run uses the offline build (the re-executed check)
DEFAULT_BUNDLE = REPO_ROOT / ".cache" / "gpu-check-bundle"
DEFAULT_BUILD_DIR = REPO_ROOT / ".cache" / "gpu-check-build"
STEPS = ("placement", "ladder", "speed", "sweep")
PLACEMENT_GOAL = 0.05  # the device's total within 5% of the prediction
JUDGED_FROM = 256 * 2**20  # smaller device totals (the tiny model) get no placement verdict
SWEEP_GOAL = 0.05  # the plan within 5% of the fastest split that fits
SPEED_CTX = 4096
NO_STOPS = ("<|return|>", "<|call|>", "<|endoftext|>")  # zero weights: never stop before the count
BALLAST_FLAG = "--ballast-child"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.ballast_child:
        return ballast_child(args.ballast_child[0], int(args.ballast_child[1]))
    if args.prepare:
        return prep.prepare(args.prepare, args.sdist, tuple(args.runtime_python), tools=not args.no_tools,
                            runtime=not args.no_runtime)
    os.chdir(REPO_ROOT)  # the app's own folders stay as they are: an installed CUDA pack counts
    started = time.perf_counter()
    build = choose_build(args, argv)
    if isinstance(build, str):
        say(f"FAILED: {build}")
        return 2
    status = run_check(args, build)
    print(f"\nthe check took {time.perf_counter() - started:.0f} s")
    return status


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny model and 20b twin only, few tokens")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"of {','.join(STEPS)} (default: all)")
    parser.add_argument("--n-ctx", type=int, help="placement context (default: the planner's; --quick: 4K)")
    parser.add_argument("--tokens", type=int, help="tokens per speed round (default 64; --quick 16)")
    parser.add_argument("--rounds", type=int, help="speed rounds per load, the best counts (default 2; "
                                                   "--quick 1)")
    parser.add_argument("--speed-model", choices=("20b", "tiny"),
                        help="model of steps 3 and 4 (default: the 20b twin; on a software renderer the tiny "
                             "model, since the 20b generates at minutes per token there)")
    parser.add_argument("--sweep-gib", type=float, help="plan the sweep for this much free GPU memory")
    parser.add_argument("--load-timeout", type=float, default=900.0, help="seconds per load (default 900)")
    build = parser.add_argument_group("the offline CUDA build")
    build.add_argument("--offline", type=Path, metavar="DIR",
                       help=f"the bundle made by --prepare (default: {DEFAULT_BUNDLE} if it exists)")
    build.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR, metavar="DIR",
                       help=f"where the build and its install go, kept for the next run "
                            f"({DEFAULT_BUILD_DIR})")
    build.add_argument("--cuda-arch", help="CMAKE_CUDA_ARCHITECTURES (default: the card's, e.g. 90-real; "
                                           "'release': llama-build.json's list)")
    build.add_argument("--jobs", type=int, default=os.cpu_count() or 4, help="parallel compile jobs")
    prepare = parser.add_argument_group("--prepare (on a connected machine)")
    prepare.add_argument("--prepare", type=Path, metavar="DIR", help="write the offline bundle to DIR")
    prepare.add_argument("--sdist", type=Path, help="the llama-cpp-python sdist (default: pip download)")
    prepare.add_argument("--runtime-python", action="append", default=[], metavar="X.Y",
                         help="Python version of the runtime wheels (default: this one's; repeatable)")
    prepare.add_argument("--no-tools", action="store_true", help="leave out the cmake and ninja wheels")
    prepare.add_argument("--no-runtime", action="store_true", help="leave out the runtime wheels")
    parser.add_argument(BALLAST_FLAG, nargs=2, metavar=("DEVICE", "BYTES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = set(args.steps.split(",")) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    if args.quick:
        args.n_ctx = args.n_ctx or SPEED_CTX
    args.tokens = args.tokens or (16 if args.quick else 64)
    args.rounds = args.rounds or (1 if args.quick else 2)
    if args.offline is None and DEFAULT_BUNDLE.is_dir():
        args.offline = DEFAULT_BUNDLE
    return args


def say(text: str) -> None:
    print(f"[gpu-check] {text}", flush=True)


def gib(size: float) -> str:
    return f"{size / GIB:.2f} GiB"


def header(title: str) -> None:
    print(f"\n== {title}", flush=True)


# ---- 0. which llama.cpp build ----

@dataclass(frozen=True)
class Build:
    probe: ProbeReport
    device: ProbeDevice
    origin: str  # "installed" or where the offline build lives


def choose_build(args: argparse.Namespace, argv: list[str]) -> Build | str:
    """The build to check with; re-executes this script after an offline build; a string says why not."""
    from app.engine.probe import run_probe

    wanted = BACKENDS[args.backend]
    probe = run_probe()
    device = next((d for d in probe.devices if d.backend == wanted and d.type in ("gpu", "igpu", "accel")),
                  None)
    site = os.environ.get(SITE_VARIABLE)
    if device is not None:
        return Build(probe, device, f"built offline into {site}" if site else "installed")
    why = probe.error or "; ".join(f"{b.name}: {b.error}" for b in probe.backends
                                   if b.error and not b.error.startswith("not chosen")) or (
        f"its devices: {', '.join(f'{d.name} ({d.backend})' for d in probe.devices) or 'none'}")
    if site:
        return f"the offline build in {site} shows no {wanted} device ({why})"
    if args.backend == "vulkan":
        return (f"this llama.cpp shows no Vulkan device ({why}). Use the module build "
                "(.venv-vulkan/bin/python, made by `installers/bootstrap.py test --vulkan`); for lavapipe "
                "set GGML_VK_VISIBLE_DEVICES=0 GGML_VK_DISABLE_F16=1 GGML_VK_DISABLE_COOPMAT=1 "
                "OSSIAN_ALLOW_SOFTWARE_GPU=1")
    say(f"the installed llama.cpp shows no CUDA device ({why})")
    gpus = prep.nvidia_gpu_present()
    if gpus is None:
        return "there is no NVIDIA driver or GPU on this machine (nvidia-smi finds none): nothing to check"
    toolkit = prep.find_cuda_toolkit()
    if toolkit is None:
        return (f"NVIDIA GPU ({gpus}) but no CUDA toolkit (nvcc on PATH, CUDA_HOME) to build the CUDA module "
                "with, and no installed CUDA build of llama-cpp-python")
    problem = prep.toolkit_problem(toolkit)
    if problem:
        return problem
    if args.offline is None:
        return (f"NVIDIA GPU ({gpus}) and a CUDA toolkit ({toolkit.home}): run again with --offline DIR, a "
                "bundle made by `bench/gpu_check.py --prepare DIR` on a connected machine")
    arch = args.cuda_arch
    if arch == "release":
        arch = None
    elif arch is None:
        arch = prep.cuda_arch_of(gpus.split(";")[0].rsplit(",", 1)[-1])
    say(f"NVIDIA GPU: {gpus}; CUDA toolkit: {toolkit.home}; architectures: {arch or 'the release list'}")
    folder = prep.build_offline(args.offline, args.build_dir.resolve(), arch, args.jobs, toolkit)
    env = dict(os.environ)
    env[SITE_VARIABLE] = str(folder)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    libraries = [str(p) for p in prep.toolkit_libraries(toolkit)]
    env["LD_LIBRARY_PATH"] = os.pathsep.join([*libraries, *filter(None, [env.get("LD_LIBRARY_PATH")])])
    say("running the check with that build")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *argv], env)
    return "unreachable"  # pragma: no cover


# ---- the check ----

@dataclass
class Summary:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, step: str, what: str, figure: str, verdict: str) -> None:
        self.rows.append((step, what, figure, verdict))

    @property
    def status(self) -> int:
        return 1 if any(v.startswith(("MISSED", "FAILED")) for *_, v in self.rows) else 0

    def print(self, title: str) -> None:
        header(f"summary: {title}")
        for step, what, figure, verdict in self.rows:
            print(f"{step:10} {what:34} {figure:44} {verdict}")


def run_check(args: argparse.Namespace, build: Build) -> int:
    from app.planner import detect_machine

    machine = detect_machine(build.probe, pinned_gpu=build.device.name)
    gpu = next((g for g in machine.usable_gpus if g.name == build.device.name), None)
    if gpu is None:
        say(f"FAILED: the planner does not use {build.device.name} ({build.device.description}): "
            + ("a software renderer; set OSSIAN_ALLOW_SOFTWARE_GPU=1 for a smoke run" if build.device.software
               else "see `ossian doctor`"))
        return 2
    probe = build.probe
    software = ", software renderer" if gpu.software else ""
    print(f"GPU check: {gpu.name} ({gpu.description}, {gpu.backend}{software}): {gib(gpu.memory_free)} free "
          f"of {gib(gpu.memory_total)}")
    print(f"llama.cpp {probe.llama_cpp}, llama-cpp-python {probe.llama_cpp_python} ({build.origin}); CPU "
          f"variant {probe.cpu_variant or '-'}; {machine.physical_cores} cores, RAM "
          f"{gib(machine.ram_available)} available of {gib(machine.ram_total)}")
    for module in probe.backends:
        if module.loaded and module.backend != "cpu":
            print(f"{module.backend} module: {module.path or 'linked into llama.cpp'}")
    if gpu.weight_limits:
        print(f"weights the device refuses above: {gpu.weight_limits}")
    if args.quick:
        print("--quick: the tiny model and the 20b twin only, 4K context, few tokens")
    if args.speed_model is None:
        args.speed_model = "tiny" if gpu.software else "20b"
        if gpu.software:
            print("steps 3 and 4 use the tiny model: on a software renderer the 20b twin generates at "
                  "minutes per token (--speed-model 20b insists)")
    steps = args.steps.split(",")
    summary = Summary()
    if "placement" in steps:
        placement_step(args, machine, gpu, summary)
    if "ladder" in steps:
        ladder_step(args, machine, gpu, summary)
    speed: SpeedResult | None = None
    if "speed" in steps:
        speed = speed_step(args, machine, gpu, summary)
    if "sweep" in steps:
        sweep_step(args, machine, gpu, speed, summary)
    note = " (a software renderer: its speed means nothing)" if gpu.software else ""
    summary.print(f"{gpu.name}, {gpu.description}{note}")
    return summary.status


def model_paths(args: argparse.Namespace) -> list[tuple[str, Path]]:
    from fixtures.shape_twins import shape_twin_20b, shape_twin_120b
    from fixtures.tiny_models import tiny_gpt_oss_model

    models = [("tiny", tiny_gpt_oss_model()), ("20b twin", shape_twin_20b())]
    if not args.quick:
        models.append(("120b twin", shape_twin_120b()))
    return models


def speed_model(args: argparse.Namespace) -> tuple[str, Path]:
    from fixtures.shape_twins import shape_twin_20b
    from fixtures.tiny_models import tiny_gpt_oss_model

    return ("tiny", tiny_gpt_oss_model()) if args.speed_model == "tiny" else ("20b twin", shape_twin_20b())


def with_gpu(machine: Machine, gpu: Gpu) -> Machine:
    return replace(machine, gpus=tuple(gpu if g.name == gpu.name else g for g in machine.gpus))


def cannot_load(plan: Plan, machine: Machine, gpu: Gpu) -> str | None:
    """Why this machine cannot load the plan at all (a skip, not a failure), or None."""
    if not plan.fits:
        return plan.explanation
    need = plan.host.total + (plan.gpu.total if gpu.software else 0)
    room = machine.ram_available - GIB
    if need > room:
        where = " (a software GPU's memory is RAM too)" if gpu.software else ""
        return f"its plan needs {gib(need)} of RAM{where} and {gib(room)} is available beyond a 1 GiB margin"
    return None


def describe(plan: Plan, gpu: Gpu) -> str:
    load = plan.load
    n = plan_blocks(plan)
    device = sum(d.predicted.total for d in plan.devices)
    layers = "all layers" if load.n_gpu_layers < 0 else f"{load.n_gpu_layers} layers"
    return (f"{plan.mode}, {load.n_ctx // 1024}K {load.kv_type}, {layers} on {gpu.name}, experts of "
            f"{len(load.cpu_expert_blocks)}/{n} blocks in RAM, {gib(device)} predicted there")


def plan_blocks(plan: Plan) -> int:
    return _blocks_of(plan.load.model_path)


@functools.cache
def _blocks_of(path: str) -> int:
    from app.gguf import read_profile

    return read_profile(path).hparams.n_blocks


# ---- 1. placement ----

def placement_step(args: argparse.Namespace, machine: Machine, gpu: Gpu, summary: Summary) -> None:
    from app.gguf import read_profile
    from app.planner import PlanRequest, make_plan

    header("1. placement: llama.cpp's buffers against the plan, per device (ratio = predicted / reported)")
    for name, path in model_paths(args):
        profile = read_profile(path)
        plan = make_plan(profile, machine, PlanRequest(n_ctx=args.n_ctx))
        print(f"\n{name}: {plan.explanation}")
        why = cannot_load(plan, machine, gpu)
        if why:
            print(f"  skipped: {why}")
            summary.add("placement", name, "-", "skipped (see above)")
            continue
        print(f"  plan: {describe(plan, gpu)}")
        started = time.perf_counter()
        try:
            [report] = load_in_child([plan.load], timeout=args.load_timeout)
        except ChildFailed as exc:
            print(f"  FAILED to load as planned: {exc}")
            summary.add("placement", name, "the plan did not load", "FAILED")
            continue
        print(f"  loaded in a child in {time.perf_counter() - started:.0f} s")
        ratio = print_buffers(plan, gpu, report)
        placed = placement_matches(profile, plan, gpu, report)
        within = ratio is not None and abs(ratio - 1) <= PLACEMENT_GOAL
        verdict = "ok" if within and placed else "MISSED" + ("" if placed else " (placement differs)")
        verdict += f" (goal: within {PLACEMENT_GOAL:.0%})"
        if placed and plan.gpu.total < JUDGED_FROM:
            verdict = "no verdict: a few MiB, where llama.cpp's rounding and fixed sizes dominate"
        figure = f"{gpu.name} total {ratio:.3f}x" if ratio is not None else f"nothing on {gpu.name}"
        summary.add("placement", name, figure, verdict)


class ChildFailed(Exception):
    pass


def load_in_child(plans: list[LoadPlan], timeout: float) -> list[dict]:
    """tests/planner/placement_probe.py: the worker's loader in a child, llama.cpp's log read back."""
    payload = json.dumps([asdict(plan) for plan in plans])
    try:
        done = subprocess.run([sys.executable, "-m", "tests.planner.placement_probe", payload], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"no answer within {timeout:.0f} s") from None
    if done.returncode != 0:
        tail = [line for line in done.stderr.splitlines() if line.strip()][-6:]
        raise ChildFailed(f"exit status {done.returncode}: " + " / ".join(tail))
    return json.loads(done.stdout.strip().splitlines()[-1])


KINDS = ("model", "kv", "compute", "output")


def buffer_sums(buffers: list[dict], device: Any, exclude: tuple[str, ...] = ()) -> dict[str, int]:
    """Bytes per kind of the buffers on `device` (a name, or a predicate on the name)."""
    match = device if callable(device) else (lambda name: name == device)
    sums = dict.fromkeys(KINDS, 0)
    for buffer in buffers:
        if match(buffer["device"]) and buffer["kind"] in sums and buffer["device"] not in exclude:
            sums[buffer["kind"]] += buffer["bytes"]
    return sums


def print_buffers(plan: Plan, gpu: Gpu, report: dict) -> float | None:
    """The per-device table; returns the device total's ratio predicted / reported."""
    buffers = report["buffers"]
    predicted_gpu = plan.devices[0].predicted if plan.devices else None
    on_gpu = buffer_sums(buffers, gpu.name)
    # host: every other buffer; experts repacked for the CPU replace their mapped pages (a copy only on the
    # CPU-only path, where the file stays mapped whole: counted once there, as the planner does)
    repack = ("CPU_REPACK",) if plan.mode == "cpu" else ()
    on_host = buffer_sums(buffers, lambda name: name != gpu.name, exclude=repack)
    print(f"  {'device':12} {'buffer':8} {'predicted':>14} {'llama.cpp':>14} {'ratio':>7}")
    ratio = None
    for device, predicted, reported in ((gpu.name, predicted_gpu, on_gpu), ("host", plan.host, on_host)):
        if predicted is None:
            continue
        for kind in ("model", "kv", "compute", "output"):
            want, got = getattr(predicted, kind), reported[kind]
            if want or got:
                print(f"  {device:12} {kind:8} {want / MIB:10,.1f} MiB {got / MIB:10,.1f} MiB "
                      f"{_ratio(want, got)}")
        total = sum(reported.values())
        print(f"  {device:12} {'total':8} {predicted.total / MIB:10,.1f} MiB {total / MIB:10,.1f} MiB "
              f"{_ratio(predicted.total, total)}")
        if device == gpu.name and total:
            ratio = predicted.total / total
    repacked = sum(b["bytes"] for b in buffers if b["device"] == "CPU_REPACK")
    if repacked:
        counted = "not counted above" if plan.mode == "cpu" else "counted in host model above"
        print(f"  (CPU_REPACK: {repacked / MIB:,.1f} MiB of experts repacked for the CPU, {counted})")
    return ratio


def _ratio(predicted: int, reported: int) -> str:
    return f"{predicted / reported:6.3f}x" if reported else "     - "


def placement_matches(profile: GgufProfile, plan: Plan, gpu: Gpu, report: dict) -> bool:
    """Every layer on the planned device, and exactly the planned experts overridden to host memory."""
    n = profile.hparams.n_blocks
    load = plan.load
    first = 0 if load.n_gpu_layers < 0 else n + 1 - load.n_gpu_layers
    expected = [gpu.name if index >= first else "CPU" for index in range(n + 1)]
    layers_ok = not report["layers"] or report["layers"] == expected
    overridden = sorted(t["name"] for t in report["overridden"])
    planned = sorted(f"blk.{b}.ffn_{kind}_exps.weight" for b in load.cpu_expert_blocks
                     for kind in ("gate", "up", "down"))
    experts_ok = overridden == planned
    if not report["layers"]:
        print("  layers: llama.cpp's log named no layer devices (not checked)")
    else:
        wrong = [i for i, (a, b) in enumerate(zip(report["layers"], expected, strict=False)) if a != b]
        print(f"  layers as planned: {'yes' if layers_ok else f'NO, layers {wrong[:8]} differ'}")
    print(f"  experts in RAM as planned: {'yes' if experts_ok else 'NO'} ({len(overridden) // 3} blocks "
          f"overridden, {len(load.cpu_expert_blocks)} planned)")
    for moved in report.get("moved", []):
        print(f"  the device refused {moved['name']} ({moved['type']}) and {moved['others']} others: "
              f"{moved['used']} instead")
    return layers_ok and experts_ok


# ---- 2. the fallback ladder ----

def ladder_step(args: argparse.Namespace, machine: Machine, gpu: Gpu, summary: Summary) -> None:
    from app.engine.client import WorkerEngine
    from app.gguf import read_profile
    from app.planner import LoadFailed, PlanRequest, RememberedPlans, load_with_fallback, make_plan
    from fixtures.shape_twins import shape_twin_20b

    header("2. the fallback ladder against a real out-of-memory (20b twin, its trained context)")
    profile = read_profile(shape_twin_20b())
    request = PlanRequest(n_ctx=profile.hparams.n_ctx_train)
    claimed = 4 * gpu.memory_total
    boasting = with_gpu(machine, replace(gpu, memory_free=claimed, memory_total=claimed))
    first = make_plan(profile, boasting, request)
    need = first.devices[0].predicted.total if first.devices else 0
    print(f"the machine description claims {gib(claimed)} free on {gpu.name} (it has "
          f"{gib(gpu.memory_free)}); the first plan: {describe(first, gpu)}")
    if not first.fits or not need:
        print(f"  skipped: {first.explanation}")
        summary.add("ladder", "20b twin", "-", "skipped (see above)")
        return
    why = cannot_load(make_plan(profile, machine, request), machine, gpu)
    if why:
        print(f"  skipped: {why}")
        summary.add("ladder", "20b twin", "-", "skipped (see above)")
        return
    ballast = None
    if need <= gpu.memory_free:
        leave = need // 2
        print(f"the card really holds {gib(need)}: a ballast child takes all but {gib(leave)} of it first")
        ballast = Ballast(gpu.name, gpu.memory_free - leave)
        print(f"  ballast: {ballast.describe()}")
    engine = WorkerEngine()
    count = [0]

    def report(attempt: Any) -> None:
        count[0] += 1
        outcome = "loaded" if attempt.error is None else (
            f"failed ({attempt.error.kind}): {first_line(attempt.error)}")
        print(f"  {count[0]}. {attempt.step}: {describe(attempt.plan, gpu)}\n     -> {outcome}", flush=True)

    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="gpu-check-plans-") as folder:
            result = load_with_fallback(engine, profile, lambda: boasting, request,
                                        remembered=RememberedPlans(Path(folder) / "plans.json"),
                                        on_attempt=report, timeout=args.load_timeout)
    except LoadFailed as exc:
        print(f"  the ladder gave up: {exc.message}")
        summary.add("ladder", "20b twin", f"{len(exc.attempts)} attempts, none loaded", "FAILED")
        return
    finally:
        engine.close()
        if ballast is not None:
            ballast.release()
    elapsed = time.perf_counter() - started
    print(f"  {result.explanation}\n  ({len(result.attempts)} attempts in {elapsed:.0f} s)")
    failed = [a for a in result.attempts if a.error is not None]
    on_device = sum(b.bytes for b in result.info.buffers if b.device == gpu.name)
    print(f"  what loaded holds {gib(on_device)} on {gpu.name}")
    # a worker that llama.cpp aborted, or the OS killed, for memory reports "crashed"
    first_error = failed[0].error if failed else None
    real_oom = first_error is not None and first_error.kind in ("memory", "crashed")
    ok = real_oom and on_device > 0
    verdict = "ok" if ok else "MISSED (" + (
        "no out-of-memory happened" if first_error is None else
        f"the first failure was {first_error.kind}, not memory" if not real_oom else
        f"nothing ended on {gpu.name}") + ")"
    if not real_oom and gpu.software:
        print(f"  {gpu.description} is a software renderer: its memory is RAM, and it allocates past the "
              "size it reports, so it never runs out there; a real out-of-memory needs a real GPU")
        verdict = "no verdict: a software renderer does not run out of memory"
    summary.add("ladder", "20b twin, claimed 4x memory",
                f"{len(result.attempts)} attempts, last: {result.attempts[-1].step}"[:44], verdict)


def first_line(error: EngineError) -> str:
    text = error.message.strip().splitlines()[0] if error.message.strip() else error.kind
    return text if len(text) <= 160 else text[:157] + "..."


class Ballast:
    """A child process holding GPU memory through ggml's allocator (what another program would take)."""

    def __init__(self, device: str, size: int) -> None:
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), BALLAST_FLAG, device,
                                         str(size)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, cwd=REPO_ROOT)
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 300)
        line = self.process.stdout.readline() if ready else ""
        try:
            self.state = json.loads(line)
        except ValueError:
            self.state = {"error": f"the ballast child said {line.strip()!r} (exit {self.process.poll()})"}

    def describe(self) -> str:
        if "error" in self.state:
            return f"FAILED: {self.state['error']}"
        return f"holds {gib(self.state['held'])}; {gib(self.state['free'])} is free now"

    def release(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ballast_child(device_name: str, size: int) -> int:
    """In the ballast child: allocate `size` bytes on the device in 1 GiB buffers (or the device's largest),
    write zeros into them so the memory is really taken, say how much, and hold it until stdin closes."""
    import ctypes

    from llama_cpp import llama_cpp as llama_c

    from app.engine.worker_backends import load_backends

    load_backends()
    lib = llama_c._lib
    void_p, size_t = ctypes.c_void_p, ctypes.c_size_t
    for name, argtypes, restype in (
        ("ggml_backend_dev_by_name", [ctypes.c_char_p], void_p),
        ("ggml_backend_dev_buffer_type", [void_p], void_p),
        ("ggml_backend_buft_get_max_size", [void_p], size_t),
        ("ggml_backend_buft_alloc_buffer", [void_p, size_t], void_p),
        ("ggml_backend_buffer_clear", [void_p, ctypes.c_uint8], None),
        ("ggml_backend_dev_memory", [void_p, ctypes.POINTER(size_t), ctypes.POINTER(size_t)], None),
    ):
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = restype
    device = lib.ggml_backend_dev_by_name(device_name.encode())
    if not device:
        print(json.dumps({"error": f"llama.cpp has no device {device_name}"}), flush=True)
        return 2
    buffer_type = lib.ggml_backend_dev_buffer_type(device)
    chunk = max(MIB, min(int(lib.ggml_backend_buft_get_max_size(buffer_type)), GIB))
    held, buffers = 0, []
    while held < size:
        step = min(chunk, size - held)
        buffer = lib.ggml_backend_buft_alloc_buffer(buffer_type, step)
        if not buffer:
            break
        lib.ggml_backend_buffer_clear(buffer, 0)
        buffers.append(buffer)
        held += step
    free, total = size_t(), size_t()
    lib.ggml_backend_dev_memory(device, ctypes.byref(free), ctypes.byref(total))
    print(json.dumps({"held": held, "free": free.value, "total": total.value}), flush=True)
    sys.stdin.read()  # until the parent closes the pipe (or dies)
    return 0


# ---- 3. speed, GPU against CPU ----

@dataclass
class Measurement:
    label: str
    load: LoadPlan
    info: ModelInfo | None = None
    error: EngineError | None = None
    load_seconds: float = 0.0
    rates: list[float] = field(default_factory=list)  # generated tokens/s per round
    prompt_rate: float | None = None  # prompt tokens/s of the first round
    device_bytes: int = 0  # llama.cpp's buffers on the GPU

    @property
    def loaded(self) -> bool:
        return self.info is not None

    @property
    def best(self) -> float:
        return max(self.rates, default=0.0)


@dataclass
class SpeedResult:
    plan: Plan
    gpu: Measurement
    cpu: Measurement
    overhead: int | None  # GPU memory the load took beyond llama.cpp's buffers


def prompt_segments(repeat: int = 4) -> tuple:
    from app.harmony import SYSTEM, USER, Message, SystemContent, render_conversation

    story = " ".join(["The north wind and the sun argued about which of them was the stronger."] * repeat)
    messages = [Message(SYSTEM, SystemContent(conversation_start_date="2025-06-01")),
                Message(USER, f"{story} Tell me the rest of the story.")]
    return tuple(render_conversation(messages))


def measure(engine: WorkerEngine, label: str, load: LoadPlan, args: argparse.Namespace,
            device_name: str) -> Measurement:
    """Load `load` and generate args.tokens tokens args.rounds times; tokens/s from first token to last."""
    from app.engine.interface import Done, EngineFailure, GenerateRequest, SamplingSettings, TokenEvent

    result = Measurement(label, load)
    print(f"    {label}: loading", end="", flush=True)
    started = time.perf_counter()
    try:
        result.info = engine.load(load).result(timeout=args.load_timeout)
    except EngineFailure as failure:
        result.error = failure.error
        print(f", failed ({failure.error.kind}) after {time.perf_counter() - started:.0f} s", flush=True)
        return result
    result.load_seconds = time.perf_counter() - started
    print(f" {result.load_seconds:.0f} s, generating", end="", flush=True)
    result.device_bytes = sum(b.bytes for b in result.info.buffers if b.device == device_name)
    segments = prompt_segments(1 if args.quick else 4)
    for round_no in range(args.rounds):
        request = GenerateRequest(segments, SamplingSettings(seed=round_no, max_tokens=args.tokens,
                                                             suppress_specials=NO_STOPS))
        first = last = 0.0
        received = 0
        for event in engine.generate(request):
            if isinstance(event, TokenEvent):
                last = time.perf_counter()
                received += 1
                if received == 1:
                    first = last
            elif isinstance(event, Done):
                if round_no == 0 and event.prompt_seconds > 0:
                    result.prompt_rate = event.evaluated_tokens / event.prompt_seconds
            else:
                result.error = event
                print(f", failed ({event.kind})", flush=True)
                return result
        if received > 1:
            result.rates.append((received - 1) / (last - first))
            print(f" {result.rates[-1]:.2f} tok/s", end="", flush=True)
    print(flush=True)
    return result


def device_free(name: str) -> int | None:
    """The device's free memory now, as llama.cpp reads it (a probe child)."""
    from app.engine.probe import run_probe

    probe = run_probe()
    return next((d.memory_free for d in probe.devices if d.name == name), None)


def print_measurements(measurements: list[Measurement], device_name: str) -> None:
    print(f"  {'':34} {'load s':>7} {'on ' + device_name:>14} {'prompt tok/s':>13} {'tok/s':>8} "
          f"{'rounds':>16}")
    for m in measurements:
        if not m.loaded:
            error = m.error
            print(f"  {m.label:34} did not load: {first_line(error) if error else 'unknown'}")
            continue
        prompt = f"{m.prompt_rate:13,.1f}" if m.prompt_rate else f"{'-':>13}"
        rounds = " ".join(f"{r:.1f}" for r in m.rates)
        print(f"  {m.label:34} {m.load_seconds:7.1f} {m.device_bytes / MIB:10,.0f} MiB {prompt} "
              f"{m.best:8.2f} {rounds:>16}")
        if m.error is not None:
            print(f"  {'':34} then failed ({m.error.kind}): {first_line(m.error)}")


def speed_step(args: argparse.Namespace, machine: Machine, gpu: Gpu, summary: Summary) -> SpeedResult | None:
    from app.engine.client import WorkerEngine
    from app.gguf import read_profile
    from app.planner import PlanRequest, make_plan

    name, path = speed_model(args)
    header(f"3. speed: generating {args.tokens} tokens on {gpu.name} and on the CPU ({name}, 4K context, "
           f"best of {args.rounds})")
    profile = read_profile(path)
    plan = make_plan(profile, machine, PlanRequest(n_ctx=SPEED_CTX))
    cpu_plan = make_plan(profile, machine, PlanRequest(n_ctx=SPEED_CTX, cpu_only=True))
    why = cannot_load(plan, machine, gpu) or cannot_load(cpu_plan, machine, gpu)
    if why:
        print(f"  skipped: {why}")
        summary.add("speed", name, "-", "skipped (see above)")
        return None
    print(f"  GPU plan: {describe(plan, gpu)}\n  CPU plan: {cpu_plan.load.n_threads} threads, devices=()")
    free_before = device_free(gpu.name)
    engine = WorkerEngine()
    try:
        on_gpu = measure(engine, f"{gpu.name} (the plan)", plan.load, args, gpu.name)
        free_during = device_free(gpu.name) if on_gpu.loaded else None
        engine.unload().result(timeout=args.load_timeout)
        on_cpu = measure(engine, f"CPU ({cpu_plan.load.n_threads} threads)", cpu_plan.load, args, gpu.name)
    finally:
        engine.close()
    print_measurements([on_gpu, on_cpu], gpu.name)
    overhead = None
    if free_before is not None and free_during is not None and on_gpu.loaded:
        taken = free_before - free_during
        if taken > 0:
            overhead = taken - on_gpu.device_bytes
            print(f"  GPU memory the load took: {gib(taken)}; beyond llama.cpp's buffers: "
                  f"{overhead / MIB:,.0f} MiB (the CUDA context, pools, the worker itself; the planner keeps "
                  f"{gib(gpu_margin(gpu))} free for it)")
        else:
            print(f"  the device's free memory did not move during the load ({gib(free_before)} before, "
                  f"{gib(free_during)} while loaded): the memory beyond llama.cpp's buffers is not measured "
                  "here")
    if on_gpu.best and on_cpu.best:
        ratio = on_gpu.best / on_cpu.best
        print(f"  ratio {gpu.name} / CPU: {ratio:.2f}x")
        verdict = ("(software renderer: no verdict)" if gpu.software else
                   "ok (the GPU is faster)" if ratio > 1 else "MISSED (the GPU is not faster)")
        summary.add("speed", f"{name}, {gpu.name} / CPU", f"{on_gpu.best:.1f} / {on_cpu.best:.1f} tok/s = "
                    f"{ratio:.2f}x", verdict)
    else:
        summary.add("speed", name, "a load or a generation failed", "FAILED")
    if overhead is not None:
        fits = overhead <= gpu_margin(gpu)
        summary.add("memory", f"beyond llama.cpp's buffers on {gpu.name}",
                    f"{overhead / MIB:,.0f} MiB (margin {gpu_margin(gpu) / MIB:,.0f} MiB)",
                    "ok" if fits else "MISSED (margin too small)")
    return SpeedResult(plan, on_gpu, on_cpu, overhead)


def gpu_margin(gpu: Gpu) -> int:
    from app.planner.plan import gpu_margin_for

    return gpu_margin_for(gpu.memory_total)


# ---- 4. the sweep of experts kept in RAM ----

def forced_blocks(profile: GgufProfile, gpu: Gpu) -> frozenset[int]:
    """Blocks whose experts the device refuses whole: in RAM in every split."""
    from app.planner.sizes import refusals

    refused = refusals(profile, gpu.weight_limits)
    return frozenset(i for i, size in enumerate(refused.experts) if size)


def leading_blocks(cpu_blocks: tuple[int, ...], forced: frozenset[int], n_blocks: int) -> int | None:
    """The k for which the plan's blocks in RAM are the first k plus the forced ones; None if none is."""
    wanted = set(cpu_blocks)
    return next((k for k in range(n_blocks + 1) if set(range(k)) | forced == wanted), None)


def sweep_points(k: int, n_blocks: int, reach: int = 2) -> list[int]:
    return [point for point in range(k - reach, k + reach + 1) if 0 <= point <= n_blocks]


def split_load(load: LoadPlan, k: int, forced: frozenset[int]) -> LoadPlan:
    return replace(load, cpu_expert_blocks=tuple(sorted(set(range(k)) | forced)))


def distance_from_fastest(rates: dict[int, float], fits: dict[int, bool],
                          plan_k: int) -> tuple[int, float] | None:
    """(the fastest k that fits, how much slower the plan is: 0.03 = 3%), or None without a plan figure."""
    fitting = {k: rate for k, rate in rates.items() if fits.get(k) and rate > 0}
    if plan_k not in fitting:
        return None
    best = max(fitting, key=lambda k: fitting[k])
    return best, 1 - fitting[plan_k] / fitting[best]


def sweep_budget(profile: GgufProfile, plan: Plan, gpu: Gpu, forced: frozenset[int]) -> int:
    """Free memory at which the planner keeps the experts of about a third of the blocks in RAM."""
    from app.gguf import ContextSettings
    from app.planner.sizes import Layout, device_use, refusals

    n = profile.hparams.n_blocks
    settings = ContextSettings(n_ctx=plan.n_ctx, kv_type=plan.load.kv_type, n_ubatch=plan.load.n_ubatch,
                               n_outputs=plan.load.n_outputs_max or None)
    layout = Layout(n, True, frozenset(range(max(1, n // 3))) | forced)
    use = device_use(profile, layout, settings, (1.0,), refusals(profile, gpu.weight_limits))[0]
    return use.total + gpu_margin(gpu) + MIB


def sweep_step(args: argparse.Namespace, machine: Machine, gpu: Gpu, speed: SpeedResult | None,
               summary: Summary) -> None:
    from app.engine.client import WorkerEngine
    from app.gguf import read_profile
    from app.planner import PlanRequest, make_plan

    name, path = speed_model(args)
    profile = read_profile(path)
    n = profile.hparams.n_blocks
    request = PlanRequest(n_ctx=SPEED_CTX)
    plan = make_plan(profile, machine, request)
    forced = forced_blocks(profile, gpu)
    budget: int | None = None
    if args.sweep_gib:
        budget = int(args.sweep_gib * GIB)
    elif plan.mode == "gpu" and set(plan.load.cpu_expert_blocks) <= forced:
        budget = sweep_budget(profile, plan, gpu, forced)
    if budget is not None:
        budget = min(budget, gpu.memory_free)
        plan = make_plan(profile, with_gpu(machine, replace(gpu, memory_free=budget)), request)
    reach = 1 if args.quick else 2
    header(f"4. sweep: blocks whose experts stay in RAM, around the plan's ({name}, 4K context)")
    if budget is not None:
        print(f"  the card holds the whole model: the sweep plans for {gib(budget)} free on {gpu.name}; a "
              "split fits when llama.cpp's buffers plus the memory measured beyond them (step 3) fit in that")
    else:
        print(f"  planned for the card's {gib(gpu.memory_free)} free; a split fits when its load and warm-up "
              "succeed on the card")
    k = leading_blocks(plan.load.cpu_expert_blocks, forced, n) if plan.mode in ("gpu", "hybrid") else None
    why = cannot_load(plan, machine, gpu)
    if k is None or why:
        print(f"  skipped: {why or f'the plan is {plan.mode}: no split of experts to sweep'}")
        summary.add("sweep", name, "-", "skipped (see above)")
        return
    refused = f", and {len(forced)} refused by the device" if forced else ""
    print(f"  plan: {describe(plan, gpu)} (k = {k}{refused})")
    overhead = max(speed.overhead or 0, 0) if speed is not None else 0
    rates: dict[int, float] = {}
    fits: dict[int, bool] = {}
    measurements = []
    engine = WorkerEngine()
    seen: dict[LoadPlan, int] = {}
    try:
        for point in sweep_points(k, n, reach):
            load = split_load(plan.load, point, forced)
            if load in seen:  # the device refuses these experts anyway: the same split as k=seen[load]
                print(f"    k={point}: the same split as k={seen[load]} (the device refuses those experts)")
                continue
            seen[load] = point
            if (budget is None and speed is not None and point == k and speed.gpu.load == load
                    and speed.gpu.loaded):
                m = replace(speed.gpu, label=f"k={point} (the plan; from step 3)")
            else:
                m = measure(engine, f"k={point}{' (the plan)' if point == k else ''}", load, args, gpu.name)
                if m.loaded:
                    engine.unload().result(timeout=args.load_timeout)
            measurements.append(m)
            rates[point] = m.best
            room = budget is None or m.device_bytes + overhead <= budget
            fits[point] = m.loaded and bool(m.rates) and room
            state = "fits" if fits[point] else ("does not fit" if m.loaded else "did not load")
            print(f"    k={point}: {state}", flush=True)
    finally:
        engine.close()
    print_measurements(measurements, gpu.name)
    found = distance_from_fastest(rates, fits, k)
    if found is None:
        print("  the plan's own split did not fit or run: no comparison")
        summary.add("sweep", name, f"the plan (k={k}) did not fit", "FAILED")
        return
    best, distance = found
    print(f"  fastest split that fits: k={best} ({rates[best]:.2f} tok/s); the plan (k={k}): {rates[k]:.2f} "
          f"tok/s, {distance:.1%} slower")
    verdict = "ok" if distance <= SWEEP_GOAL else "MISSED"
    summary.add("sweep", f"{name}, plan k={k} vs fastest k={best}", f"{distance:.1%} slower",
                f"{verdict} (goal: within {SWEEP_GOAL:.0%})")


if __name__ == "__main__":
    sys.exit(main())
