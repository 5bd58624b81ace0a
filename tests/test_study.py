"""The study runner: a tiny budget end to end (jobs in a process pool, resumable, collected)."""

import json
import os
import shutil
from dataclasses import replace

import pytest

from kerasjet.errors import KerasjetError
from kerasjet.study import BUDGETS, check_claims, collect, data_files, jobs, prepare_data, run_all, run_dir


def test_tiny_study_runs_resumes_and_collects(tmp_path):
    budget = BUDGETS["tiny"]
    study, results = str(tmp_path / "study"), str(tmp_path / "results")
    prepare_data(study, budget, workers=2)
    assert len(jobs(budget)) == 2 * 7
    summaries = run_all(study, budget, workers=2)
    assert len(summaries) == len(jobs(budget)) and all(s["epochs"] == 1 for s in summaries)
    again = run_all(study, budget, workers=1)  # finished jobs are not retrained
    assert [s["best_val_loss"] for s in again] == [s["best_val_loss"] for s in summaries]
    rows = collect(study, budget, results, "tiny")
    assert set(rows) >= {"Jet mass cut", "nanoPELICAN C=2", "LorentzNet-3", "TopoDNN"}
    for name in ("tables.md", "study.json", "roc.png", "figure1.png", "claims.md"):
        assert os.path.getsize(os.path.join(results, name)) > 100
    with open(os.path.join(results, "study.json")) as f:
        provenance = json.load(f)["provenance"]
    assert provenance["train_jets"] == 300 and provenance["seeds"] == 2 and provenance["keep_best"] == 1
    verdicts = {claim: verdict for claim, verdict, _ in check_claims(rows)}
    assert all(v in ("reproduced", "partly", "not reproduced") for v in verdicts.values())


def test_levels_never_share_data_or_runs(tmp_path, jets_file):
    particle, detector = BUDGETS["tiny"], replace(BUDGETS["tiny"], level="detector")
    assert particle.level == "particle"  # the committed study's level and names
    assert data_files("s", particle)["train"] == os.path.join("s", "data", "train_300.h5")
    assert data_files("s", detector)["train"] == os.path.join("s", "data", "train_300_detector.h5")
    assert run_dir("s", "TopoDNN", 0, "detector") != run_dir("s", "TopoDNN", 0) == os.path.join("s", "runs", "topodnn", "seed_0")
    study = tmp_path / "study"
    (study / "data").mkdir(parents=True)
    shutil.copy(jets_file, data_files(str(study), particle)["train"])  # 300 detector-level jets under the particle name
    with pytest.raises(KerasjetError, match="holds detector-level jets, the study runs at particle level"):
        prepare_data(str(study), particle, workers=1)
