"""``droprune scorers`` without torch: the registry (droprune.scorers) imports no torch, so the
listing works; only the options, read from each score's code, are left out (null in --json),
with one warning naming the extra. With torch the listing is tests/scoring/test_registry.py's."""

from __future__ import annotations

import json

from droprune.scorers import SCORERS

from .test_extras import cli

WARNING = ('warning: the options of each score are not listed: they are read from the scoring '
           'code, which needs torch (pip install "droprune[torch]")\n')


def test_scorers_without_torch_list_everything_but_the_options(tmp_path):
    done = cli(["torch"], ["scorers", "--json"], tmp_path)
    assert done.returncode == 0 and done.stderr == WARNING, done.stderr
    entries = json.loads(done.stdout)
    assert [e["name"] for e in entries] == list(SCORERS)
    assert all(e["options"] is None for e in entries)
    grand = entries[[e["name"] for e in entries].index("grand")]
    assert grand == {"name": "grand", "method_name": "GraNd", "kind": "posthoc",
                     "query": "short", "options": None,
                     "description": SCORERS["grand"].description,
                     "reference": "Paul et al., NeurIPS 2021"}
    done = cli(["torch"], ["scorers"], tmp_path)
    assert done.returncode == 0 and done.stderr == WARNING, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 + len(SCORERS) and lines[0].split()[:4] == ["scorer", "method",
                                                                        "kind", "query"]
    assert lines[2 + list(SCORERS).index("dynunc")].split()[:5] == [
        "dynunc", "DynUnc", "recorder", "long", "?"]
