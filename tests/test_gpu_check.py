"""benchmarks/gpu_check.py in its dry mode: the GPU readiness checks run on the CPU at tiny
sizes, so a change that breaks one of their code paths fails here, not on the GPU machine."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_dry_run_passes_every_check(tmp_path, capsys):
    out = tmp_path / "gpu.json"
    assert _load().run(["--dry-run", "--workers", "1", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    checks = results["checks"]
    assert all(c["ok"] for c in checks.values()), {k: c.get("error") for k, c in checks.items()}
    labels = list(checks)
    assert labels == [
        "step vgg16_bn", "step vgg16_bn channels-last amp", "step resnet18",
        "step resnet18 channels-last amp", "train vgg16_bn + recorders",
        "train resnet18 + recorders", "grand resnet18", "process group",
        "jpeg folder, 1 workers"]
    assert checks["process group"]["backend"] == "gloo"
    assert set(checks["train resnet18 + recorders"]["recorders"]) == {
        "forgetting", "dynunc", "aum", "el2n_trace"}
    # the GraNd methods agree with the per-sample loop
    grand = checks["grand resnet18"]
    assert grand["vmap_max_rel_diff"] < 1e-2 and grand["ghost_max_rel_diff"] < 1e-2
    assert capsys.readouterr().out.rstrip().endswith("9 of 9 checks passed")
