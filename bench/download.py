"""Benchmark of model downloads: Ossian's pipeline beside huggingface_hub's own, same file, same server.

A local server speaking the Hub's endpoints (fixtures/hub_server.py, with the LFS redirect to a
second "CDN" origin) serves a gpt-oss GGUF padded to `--mb` megabytes. Each round downloads it twice,
alternating which goes first:

- Ossian: `DownloadManager` (huggingface_hub for the file list and metadata, then its own resumable
  transfer that hashes the bytes as they land, with progress events, the free-disk check, the SHA-256
  check against the Hub's listing, and the library install);
- baseline: a bare `huggingface_hub.hf_hub_download` into an empty folder (no hash check).

Printed: MB/s per round and the median ratio Ossian / baseline. On loopback both are bound by Python
and the disk, not the network, so the ratio shows what Ossian's extra work costs; on a real connection
it disappears in the wire time.

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/download.py [--mb 512] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = "ggml-org/gpt-oss-20b-GGUF"
FILE = "gpt-oss-20b-mxfp4.gguf"


def padded_model(directory: Path, megabytes: int) -> Path:
    """The tiny gpt-oss GGUF with zero bytes after it up to the size: a valid header, a big body."""
    from fixtures.tiny_models import tiny_gpt_oss_model

    path = directory / FILE
    shutil.copyfile(tiny_gpt_oss_model(), path)
    block = os.urandom(1 << 20)  # incompressible, as weights are
    with path.open("ab") as out:
        while out.tell() < megabytes << 20:
            out.write(block)
    return path


def time_ossian(models_dir: Path) -> float:
    from app.models import DownloadManager, DownloadRequest, DownloadState, HubAccess, TokenStore
    from app.settings import Settings

    access = HubAccess(settings=lambda: Settings(), tokens=TokenStore())
    manager = DownloadManager(models_dir, access)
    try:
        start = time.perf_counter()
        final = manager.start(DownloadRequest(REPO, (FILE,))).wait(600)
        seconds = time.perf_counter() - start
        if final.state != DownloadState.DONE or final.model is None or not final.model.verified:
            raise SystemExit(f"the download did not finish verified: {final.state} {final.message}")
        return seconds
    finally:
        manager.shutdown(timeout=10)


def time_baseline(directory: Path, endpoint: str) -> float:
    from huggingface_hub import hf_hub_download

    start = time.perf_counter()
    hf_hub_download(REPO, FILE, local_dir=directory, endpoint=endpoint)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=512, help="size of the served file in MiB")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import keyring
    import keyring.backends.fail

    from app.paths import app_paths
    from fixtures.hub_server import HubServer

    keyring.set_keyring(keyring.backends.fail.Keyring())  # no token, and never the user's keyring
    with tempfile.TemporaryDirectory(prefix="ossian-download-bench-") as temp:
        root = Path(temp)
        os.environ["OSSIAN_HOME"] = str(root / "home")  # a private models folder and library
        os.environ.pop("HF_TOKEN", None)
        served = padded_model(root, args.mb)
        size_mb = served.stat().st_size / 1e6
        with HubServer() as hub:
            hub.add_repo(REPO, {FILE: served})
            os.environ["HF_ENDPOINT"] = hub.endpoint
            print(f"download bench: {size_mb:,.0f} MB over loopback (LFS redirect to a second origin), "
                  f"{args.rounds} rounds, alternating order")
            ours: list[float] = []
            bare: list[float] = []
            for round_number in range(args.rounds):
                models_dir = app_paths().models
                baseline_dir = root / f"baseline-{round_number}"
                order = ("ossian", "baseline") if round_number % 2 == 0 else ("baseline", "ossian")
                for which in order:
                    if which == "ossian":
                        ours.append(size_mb / time_ossian(models_dir))
                    else:
                        bare.append(size_mb / time_baseline(baseline_dir, hub.endpoint))
                shutil.rmtree(models_dir, ignore_errors=True)
                shutil.rmtree(baseline_dir, ignore_errors=True)
                shutil.rmtree(root / "home" / "cache", ignore_errors=True)
                print(f"  round {round_number + 1}: Ossian {ours[-1]:,.1f} MB/s   "
                      f"hf_hub_download {bare[-1]:,.1f} MB/s")
    ratio = statistics.median(o / b for o, b in zip(ours, bare, strict=True))
    print(f"median MB/s: Ossian {statistics.median(ours):,.1f} (download, SHA-256 check, install), "
          f"hf_hub_download {statistics.median(bare):,.1f} (download only)")
    print(f"ratio Ossian / hf_hub_download (median of rounds): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
