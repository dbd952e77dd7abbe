"""`ossian doctor` as a user runs it: a real subprocess, the real llama.cpp probe."""

import json
import os
import subprocess
import sys

from app import __version__
from tests.test_cli import ossian


def test_doctor_json_has_every_field(ossian_home) -> None:
    done = ossian("doctor", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["app"]["version"] == __version__
    llama = report["llama_cpp"]
    assert llama["available"] is True
    assert llama["llama_cpp_python_version"] == "0.3.36"
    assert isinstance(llama["gpu_offload"], bool)
    assert report["devices"], "llama.cpp always sees at least the CPU"
    for device in report["devices"]:
        assert device["memory_total"] >= device["memory_free"] >= 0
        assert device["type"] in {"cpu", "gpu", "igpu", "accel"}
    assert report["ram"]["total"] > report["ram"]["available"] > 0
    assert report["paths"]["models"].startswith(str(ossian_home))
    assert report["network"]["requests_at_startup"] is False
    assert report["network"]["downloads_allowed"] is True


def test_doctor_reports_offline_setting_and_endpoint(ossian_home) -> None:
    (ossian_home / "config").mkdir()
    (ossian_home / "config" / "settings.json").write_text(json.dumps({"offline_only": True}))
    done = subprocess.run([sys.executable, "-m", "app", "doctor"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert done.returncode == 0, done.stderr
    assert "switched off" in done.stdout
    assert "http://127.0.0.1:9 (HF_ENDPOINT environment variable)" in done.stdout
