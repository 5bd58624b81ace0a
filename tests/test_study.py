"""The study runner: a tiny budget end to end (jobs in a process pool, resumable, collected)."""

import json
import os
import re
import shutil
import sys
import time
from dataclasses import replace

import pytest

from kerasjet.cli import main
from kerasjet.data.detector import DETECTOR_CONFIGURATIONS
from kerasjet.data.generate import generate
from kerasjet.data.settings import GeneratorSettings, configuration_name
from kerasjet.errors import KerasjetError
from kerasjet.study import (BUDGETS, FAMILIES, NOT_RESOLVED, TABLE1, TABLE2, VERDICTS, check_claims, collect, compare, data_files,
                            default_results_dir, family_style, job_record_path, jobs, judge, prepare_data, run_all, run_dir,
                            study_name)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))  # study_time, score_ties


def test_tiny_study_runs_resumes_and_collects(tmp_path, monkeypatch):
    budget = BUDGETS["tiny"]
    study, results = str(tmp_path / "study"), str(tmp_path / "results")
    prepare_data(study, budget, workers=2)
    assert len(jobs(budget)) == 2 * 9  # Table 1 with the two constituent-level peers
    began = time.time()
    summaries = run_all(study, budget, results, workers=2)
    check_training_time_is_recorded(study, budget, results, time.time() - began)
    assert len(summaries) == len(jobs(budget)) and all(s["epochs"] == 1 for s in summaries)
    rates = {name: json.load(open(os.path.join(run_dir(study, name, 0), "config.json")))["learning_rate"]
             for name in ("LorentzNet-3", "nanoPELICAN C=2", "TopoDNN")}
    assert rates == {"LorentzNet-3": 2e-3, "nanoPELICAN C=2": 5e-3, "TopoDNN": 5e-3}  # LorentzNet at its authors' rate, batch-scaled
    with monkeypatch.context() as patch:  # a job with a record is not trained again
        patch.setattr("kerasjet.train.train", lambda *args, **kwargs: pytest.fail("a job with a record was trained again"))
        again = run_all(study, budget, results, workers=1)
    assert [s["best_val_loss"] for s in again] == [s["best_val_loss"] for s in summaries]
    rows = collect(study, budget, results, "tiny")
    assert set(rows) >= {"Jet mass cut", "Jet mass cut, one-sided", "nanoPELICAN C=2", "LorentzNet-3", "TopoDNN"}
    for name in ("tables.md", "study.json", "roc.png", "figure1.png", "claims.md"):
        assert os.path.getsize(os.path.join(results, name)) > 100
    # both mass cuts, the paper's one-sided score first, the window beside it: different scores, different AUCs
    table1 = open(os.path.join(results, "tables.md")).read()
    assert table1.index("| Jet mass cut, one-sided (the paper's) |") < table1.index("| Jet mass cut, window (−|m − 173 GeV|) |")
    assert rows["Jet mass cut, one-sided"]["metrics"]["auc"] != rows["Jet mass cut"]["metrics"]["auc"]
    with open(os.path.join(results, "jobs", "jet_mass_cut_one_sided.json")) as f:
        labels_scores = json.load(f)
    assert labels_scores["job"] == "Jet mass cut, one-sided"
    with open(os.path.join(results, "study.json")) as f:
        provenance = json.load(f)["provenance"]
    assert provenance["train_jets"] == 300 and provenance["seeds"] == 2 and provenance["keep_best"] == 2
    nano = rows["nanoPELICAN C=2"]["metrics"]
    assert nano["runs"] == 2 and len(nano["auc"]) == 2  # mean ± std over both kept seeds
    verdicts = {claim: verdict for claim, verdict, _ in check_claims(rows)}
    assert len(verdicts) == 7 and all(v in VERDICTS for v in verdicts.values())
    claims = open(os.path.join(results, "claims.md")).read()
    os.remove(os.path.join(results, "claims.md"))
    judge(results)  # from study.json alone
    assert open(os.path.join(results, "claims.md")).read() == claims
    check_a_run_of_another_recipe_is_not_recorded(study, budget, results)
    check_collect_from_records_alone(study, budget, results)


def check_training_time_is_recorded(study, budget, results, elapsed):
    """Every record holds the seconds its job trained, read from its TensorBoard logs: each row's
    seeds took some time, and no more in all than the jobs' two workers had. A record without
    them (written before records held them) is timed by benchmarks/study_time.py from its run,
    to the same seconds."""
    from study_time import job_hours

    hours = job_hours(study, results, budget)
    assert set(hours) == {name for name, _ in jobs(budget)} and all(len(seeds) == budget.seeds for seeds in hours.values())
    assert all(h > 0 for seeds in hours.values() for h in seeds)
    assert sum(map(sum, hours.values())) * 3600 < 2 * elapsed
    record = job_record_path(results, "TopoDNN", 1)
    kept = open(record).read()
    stored = json.loads(kept)
    del stored["training_seconds"]
    with open(record, "w") as f:
        json.dump(stored, f)
    assert job_hours(study, results, budget)["TopoDNN"][1] == pytest.approx(hours["TopoDNN"][1], abs=0.1 / 3600)
    with open(record, "w") as f:
        f.write(kept)


def check_a_run_of_another_recipe_is_not_recorded(study, budget, results):
    """A finished run without a record gets one at collect time, unless its config.json names
    another recipe than its job's (LorentzNet-3 trained at the seed paper's 5e-3, say)."""
    record = job_record_path(results, "LorentzNet-3", 0)
    kept = open(record).read()
    os.remove(record)
    config_path = os.path.join(run_dir(study, "LorentzNet-3", 0), "config.json")
    good = json.load(open(config_path))
    with open(config_path, "w") as f:
        json.dump({**good, "learning_rate": 5e-3}, f)
    with pytest.raises(KerasjetError, match=r"lorentznet_3/seed_0/config\.json: 'learning_rate' differs from the study's recipe"):
        collect(study, budget, results, "tiny")
    assert not os.path.exists(record)
    with open(config_path, "w") as f:
        json.dump(good, f)
    collect(study, budget, results, "tiny")  # recorded again from the run
    assert json.load(open(record))["test"] == json.loads(kept)["test"]


def check_collect_from_records_alone(study, budget, results):
    """A fresh checkout holds the committed records (results/.../jobs) but no data or runs: the
    tables and the wall time come back the same; a record of other jets, or a missing one, is refused by name."""
    from study_time import job_hours

    tables = open(os.path.join(results, "tables.md")).read()
    assert len(os.listdir(os.path.join(results, "jobs"))) == len(jobs(budget)) + 2  # and the two mass cuts
    hours = job_hours(study, results, budget)
    shutil.rmtree(study)
    collect(study, budget, results, "tiny")
    assert open(os.path.join(results, "tables.md")).read() == tables
    assert job_hours(study, results, budget) == hours  # the wall time too, from the records
    record = job_record_path(results, "TopoDNN", 1)
    with open(record) as f:
        stored = json.load(f)
    stored["data"]["test"]["sha256"] = "0" * 64
    with open(record, "w") as f:
        json.dump(stored, f)
    with pytest.raises(KerasjetError, match=r"topodnn_seed_1\.json: data\.test is .* the record belongs to other jets"):
        collect(study, budget, results, "tiny")
    check_malformed_records_are_refused(study, budget, results, record, stored)
    kept = open(record).read()
    os.remove(record)
    index = jobs(budget).index(("TopoDNN", 1))
    with pytest.raises(KerasjetError, match=rf"1 of {len(jobs(budget))} jobs have not finished \(job index: {index} \(TopoDNN, seed 1\)\)"):
        collect(study, budget, results, "tiny")
    check_interim_collect(study, budget, results, record, kept)


def check_interim_collect(study, budget, results, record, kept):
    """--interim: while TopoDNN's seed 1 has no record, the other models are collected into
    results/interim, every file saying so and naming TopoDNN, no claim on TopoDNN judged, the
    complete tables untouched; once every job has finished it writes the complete tables and
    removes the interim folder."""
    tables = open(os.path.join(results, "tables.md")).read()
    rows = collect(study, budget, results, "tiny", interim=True)
    assert "TopoDNN" not in rows and {"Jet mass cut", "nanoPELICAN C=2", "LorentzNet-3"} <= set(rows)
    interim = os.path.join(results, "interim")
    for name in ("tables.md", "claims.md"):
        text = open(os.path.join(interim, name)).read()
        assert "INTERIM" in text and "TopoDNN (1 of 2 seeds)" in text
    assert "| TopoDNN |" not in open(os.path.join(interim, "tables.md")).read()
    verdicts = {claim: verdict for claim, verdict, _ in check_claims(rows)}
    assert verdicts["nanoPELICAN C=2, with a few dozen parameters, outperforms the 59k-parameter TopoDNN"] == "not run"
    assert open(os.path.join(results, "tables.md")).read() == tables
    os.remove(os.path.join(interim, "tables.md"))
    assert main(["study", "--budget", "tiny", "--level", "particle", "--dir", study, "--results", results, "--interim"]) == 0
    assert "TopoDNN (1 of 2 seeds)" in open(os.path.join(interim, "tables.md")).read()  # the command line's way in
    partial = os.path.join(os.path.dirname(results), "partial")  # no model with every seed: refused, nothing written
    os.makedirs(os.path.join(partial, "jobs"))
    for path in (os.path.join(results, "jobs", "jet_mass_cut.json"), job_record_path(results, "TopoDNN", 0)):
        shutil.copy(path, os.path.join(partial, "jobs"))
    with pytest.raises(KerasjetError, match="no model has a record for every seed yet"):
        collect(study, budget, partial, "tiny", interim=True)
    assert os.listdir(partial) == ["jobs"]
    with open(record, "w") as f:
        f.write(kept)
    collect(study, budget, results, "tiny", interim=True)  # every job finished: the complete tables
    assert not os.path.exists(interim) and open(os.path.join(results, "tables.md")).read() == tables


def check_malformed_records_are_refused(study, budget, results, record, good):
    """Each broken record is refused by one KerasjetError naming the file and the key, before any
    table is written; so is a mass-cut record that names another study's files."""
    good = json.loads(json.dumps(good))
    good["data"]["test"]["sha256"] = json.load(open(job_record_path(results, "TopoDNN", 0)))["data"]["test"]["sha256"]
    broken = {
        r"data: missing or not an object": {**good, "data": []},
        r"test: missing or not an object": {**good, "test": []},
        r"test\.auc: missing or not a number": {**good, "test": {"accuracy": 0.9}},
        r"roc: .* lists of numbers": {**good, "roc": {"signal_efficiency": [0.3], "background_rejection": 5}},
        r"roc: 2 signal efficiencies but 1 rejections": {**good, "roc": {"signal_efficiency": [0.3, 0.5], "background_rejection": [9]}},
        r"summary: missing or not an object": {k: v for k, v in good.items() if k != "summary"},
        r"summary\.best_val_loss: missing": {**good, "summary": {**good["summary"], "best_val_loss": None}},
        r"job is 'LorentzNet-3', but this file is the record of 'TopoDNN'": {**good, "job": "LorentzNet-3"},
        r"summary\.seed is 0, but this file is the record of seed 1": {**good, "summary": {**good["summary"], "seed": 0}},
        r"summary\.epochs is 7, the budget trains 1": {**good, "summary": {**good["summary"], "epochs": 7}},
        r"training_seconds: not a number ≥ 0": {**good, "training_seconds": -3.0},
        r"not a readable job record": "{not json",
    }
    tables = open(os.path.join(results, "tables.md")).read()
    for message, content in broken.items():
        with open(record, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        with pytest.raises(KerasjetError, match=rf"topodnn_seed_1\.json: {message}"):
            collect(study, budget, results, "tiny")
        assert open(os.path.join(results, "tables.md")).read() == tables  # refused before any output
    with open(record, "w") as f:
        json.dump(good, f)
    collect(study, budget, results, "tiny")  # the repaired record is accepted
    mass = os.path.join(results, "jobs", "jet_mass_cut.json")
    kept = open(mass).read()
    other_study = json.loads(kept)
    other_study["data"]["train"]["jets"] = 100_000
    train_name = re.escape(os.path.basename(data_files(study, budget)["train"]))
    for content, message in ((other_study, rf"data\.train is {train_name} with 100000 jets, but this study's train file is "
                                           rf"{train_name} with 300"),
                             ({**other_study, "data": {}}, r"data: is \{\}")):
        with open(mass, "w") as f:
            json.dump(content, f)
        with pytest.raises(KerasjetError, match=rf"jet_mass_cut\.json: {message}"):
            collect(study, budget, results, "tiny")
    os.remove(mass)
    with pytest.raises(KerasjetError, match=rf"{train_name}: no such file, and no record .*jet_mass_cut\.json"):
        collect(study, budget, results, "tiny")
    with open(mass, "w") as f:
        f.write(kept)


def test_levels_and_configurations_never_share_data_or_runs(tmp_path, jets_file):
    particle, detector = BUDGETS["tiny"], replace(BUDGETS["tiny"], level="detector")
    assert particle.level == "particle"
    # the default configuration's study is named after it; kerasjet 0.1's keep their historical names
    assert study_name("detector") == configuration_name(GeneratorSettings()) == "atlas-delphes-3.3+mpi+w-matching"
    assert default_results_dir("detector") == os.path.join("results", "study", "atlas-delphes-3.3+mpi+w-matching")
    assert data_files("s", particle)["train"] == os.path.join("s", "data", "train_300_particle+mpi+w-matching.h5")
    assert data_files("s", detector)["train"] == os.path.join("s", "data", "train_300_atlas-delphes-3.3+mpi+w-matching.h5")
    assert len({run_dir("s", "TopoDNN", 0, "detector"), run_dir("s", "TopoDNN", 0, "particle")}) == 2
    study = tmp_path / "study"
    (study / "data").mkdir(parents=True)
    shutil.copy(jets_file, data_files(str(study), particle)["train"])  # 300 detector-level jets under the particle name
    with pytest.raises(KerasjetError, match="holds detector-level jets, the study runs at particle level"):
        prepare_data(str(study), particle, workers=1)
    os.remove(data_files(str(study), particle)["train"])
    legacy = str(study / "legacy.h5")  # the same jets, labelled as kerasjet 0.1's detector-level configuration
    generate(legacy, 300, seed=7, settings=GeneratorSettings(detector=DETECTOR_CONFIGURATIONS["atlas-delphes-3.4"], mpi=False,
                                                              top_matching="quarks", block_size=20), show_progress=False)
    os.rename(legacy, data_files(str(study), detector)["train"])
    with pytest.raises(KerasjetError, match="attribute 'configuration' is atlas-delphes-3.4, the study runs on "
                                            r"atlas-delphes-3.3\+mpi\+w-matching jets"):
        prepare_data(str(study), detector, workers=1)


def _row(auc, rejection, params=27):
    """A study row of kept-seed (mean, std) pairs, or of single values for one seed / the mass cut."""
    return {"metrics": {"auc": auc, "rejection_at_0.3": rejection, "parameters": params}}


def test_a_claim_is_reproduced_only_beyond_the_combined_spread():
    rows = {"nanoPELICAN C=2": _row((0.970, 0.002), (120, 10)), "Jet mass cut": _row(0.960, 100, params=0),
            "LorentzNet-3": _row((0.968, 0.002), (110, 10)), "TopoDNN": _row((0.960, 0.001), (200, 5)),
            "nanoPELICAN C=10": _row(0.990, 800)}
    # beyond the spread in both metrics (the mass cut has none): yes, yes
    assert compare(rows, "nanoPELICAN C=2", "Jet mass cut") == ["yes", "yes"]
    # 0.002 apart with a combined spread of 0.0028; 10 apart against 14
    assert compare(rows, "nanoPELICAN C=2", "LorentzNet-3") == ["unresolved", "unresolved"]
    assert compare(rows, "nanoPELICAN C=2", "TopoDNN") == ["yes", "no"]
    assert compare(rows, "nanoPELICAN C=10", "TopoDNN") == ["unresolved", "unresolved"]  # one seed: no spread
    assert compare(rows, "nanoPELICAN C=2", "Deep Sets") is None
    verdicts = {claim: verdict for claim, verdict, _ in check_claims(rows)}
    assert verdicts["nanoPELICAN C=2 beats the jet-mass cut"] == "reproduced"
    assert verdicts["nanoPELICAN C=2 beats LorentzNet-3, a network of similar size"] == NOT_RESOLVED
    assert verdicts["a nanoPELICAN with ≤ 101 parameters outperforms the 59k-parameter TopoDNN"] == NOT_RESOLVED
    assert verdicts["nanoPELICAN C=2, with a few dozen parameters, outperforms the 59k-parameter TopoDNN"] == "partly"
    # C = 1 and C = 3 are missing: the ordering is not judged on C = 10 and C = 2 alone
    assert verdicts["more hidden channels tag better: C = 10 > C = 3 > C = 2 > C = 1"] == "not run"
    evidence = {claim: text for claim, _, text in check_claims(rows)}
    # the difference and its combined spread: 0.970 − 0.960 ± sqrt(0.002² + 0.001²); 120 − 200 ± sqrt(10² + 5²)
    assert "Δ AUC +0.0100 ± 0.0022, Δ 1/εB -80 ± 11" in evidence["nanoPELICAN C=2, with a few dozen parameters, outperforms the 59k-parameter TopoDNN"]
    assert "Δ AUC +0.0300, Δ 1/εB +600" in evidence["a nanoPELICAN with ≤ 101 parameters outperforms the 59k-parameter TopoDNN"]  # one seed
    rows["LorentzNet-3"] = _row((0.990, 0.001), (300, 10))
    assert {c: v for c, v, _ in check_claims(rows)}["nanoPELICAN C=2 beats LorentzNet-3, a network of similar size"] == "not reproduced"


def test_every_family_of_figure1_has_its_own_colour_and_marker():
    styles = {name: family_style(name) for name in [*TABLE1, *TABLE2]}
    assert all(style is not None for style in styles.values())
    assert family_style("nanoPELICAN C=2 N-scaled")[0] != family_style("nanoPELICAN C=2")[0]
    by_family = {label: (colour, marker) for label, colour, marker in styles.values()}
    assert len(set(c for c, _ in by_family.values())) == len(by_family) == len(FAMILIES)
    assert len(set(m for _, m in by_family.values())) == len(by_family)


def test_score_ties_counts_the_largest_block_of_equal_scores():
    """benchmarks/score_ties.py: the most common score, its jets and the share of each class in it."""
    from score_ties import largest_tie

    labels = [1, 1, 1, 0, 0, 1]
    scores = [2.5, 2.5, 0.1, 2.5, -1.0, 3.0]
    assert largest_tie(labels, scores) == (3, 0.5, 0.5, 2.5)
