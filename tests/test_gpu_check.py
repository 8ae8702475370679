"""benchmarks/gpu_check.py in its dry mode: the GPU readiness checks run on the CPU at tiny
sizes, so a change that breaks one of their code paths fails here, not on the GPU machine."""

from __future__ import annotations

import json

from .benchmark_scripts import load_benchmark


def _load():
    return load_benchmark("gpu_check")


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
        "train resnet18 + recorders", "train resnet18 + recorders amp=bf16", "grand resnet18", "process group",
        "jpeg folder, 1 workers"]
    assert checks["process group"]["backend"] == "gloo"
    assert set(checks["train resnet18 + recorders"]["recorders"]) == {
        "forgetting", "dynunc", "aum", "el2n_trace"}
    # the GraNd methods agree with the per-sample loop
    grand = checks["grand resnet18"]
    assert grand["vmap_max_rel_diff"] < 1e-2 and grand["ghost_max_rel_diff"] < 1e-2
    assert capsys.readouterr().out.rstrip().endswith("10 of 10 checks passed")
