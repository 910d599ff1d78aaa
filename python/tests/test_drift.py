"""funnel.drift and funnel.metrics from Python: statistics equal to C++'s (and scipy's), reference
profiles, two-batch reports."""

import json

import numpy as np
import pytest

import funnel
from funnel import drift, metrics

from conftest import DATA, hex_floats


def test_ks_equals_cpp_bit_for_bit(reference, tmp_path):
    rng = np.random.default_rng(3)
    for n1, n2, shift in ((40, 55, 0.3), (3000, 12000, 0.05)):
        a, b = rng.normal(size=n1), rng.normal(loc=shift, size=n2)
        a.tofile(tmp_path / "a.f64")
        b.tofile(tmp_path / "b.f64")
        r = drift.ks_2samp(a, b)
        cpp = hex_floats(reference("ks", tmp_path / "a.f64", tmp_path / "b.f64"), np.float64)
        assert (r.statistic, r.pvalue) == (cpp[0, 0], cpp[0, 1])
        assert r.method == ("exact" if max(n1, n2) <= 10000 else "asymp")


def test_ks_options_and_scipy_reference_statistic():
    cases = json.loads((DATA / "drift" / "scipy_reference.json").read_text())["ks_2samp"]
    assert cases  # the C++ tests check p-values against these; here the call shape
    r = drift.ks_2samp([1.0, 2.0, 3.0], [1.5, 2.5, 10.0], alternative="less", method="exact")
    assert 0 <= r.pvalue <= 1 and r.method == "exact"
    with pytest.raises(funnel.InvalidArgument):
        drift.ks_2samp([1.0, np.nan], [1.0, 2.0])
    assert drift.ks_2samp([1.0, np.nan], [1.0, 2.0], nan_policy="omit").statistic == 0.5
    with pytest.raises(funnel.InvalidArgument):  # every enum keyword: InvalidArgument
        drift.ks_2samp([1.0], [2.0], alternative="sideways")
    with pytest.raises(funnel.InvalidArgument):
        drift.ks_2samp([1.0], [2.0], method="bootstrap")


def test_psi_and_distances():
    ref = np.arange(1000, dtype=np.float64)
    assert drift.psi_samples(ref, ref) == 0.0
    shifted = drift.psi_samples(ref, ref + 300)
    assert shifted > 0.25 and drift.psi_verdict(shifted) == "drift"
    edges = drift.quantile_edges(ref, 4)
    assert len(edges) == 3 and list(drift.histogram(edges, ref)) == [250.0] * 4
    assert drift.psi([1, 1], [1, 1]) == 0.0
    assert drift.jensen_shannon([1, 0], [0, 1], 2.0) == pytest.approx(1.0)
    assert drift.hellinger([1, 0], [0, 1]) == pytest.approx(1.0)
    assert drift.wasserstein_1([0.0, 1.0], [1.0, 2.0]) == pytest.approx(1.0)
    chi = drift.chi2_contingency([[10, 20], [20, 10]])
    assert chi.dof == 1 and 0 < chi.pvalue < 0.05
    assert drift.chisquare([10, 10], [10, 10]).statistic == 0.0


def test_two_batch_report_json_html_prometheus():
    rng = np.random.default_rng(5)
    ref = np.column_stack([rng.normal(size=2000), rng.integers(0, 4, 2000)]).astype(np.float32)
    cur = np.column_stack([rng.normal(1.0, size=2000), rng.integers(0, 4, 2000)]).astype(np.float32)
    report = drift.compare(ref, cur, [("amount", "numeric"), ("channel", "categorical")], alpha=0.01)
    assert report.drifted == ["amount"]
    feats = report.features
    assert [f["name"] for f in feats] == ["amount", "channel"]
    ks = drift.ks_2samp(ref[:, 0].astype(np.float64), cur[:, 0].astype(np.float64))
    assert feats[0]["statistic"] == ks.statistic and feats[0]["pvalue"] == ks.pvalue
    assert report.to_json()["type"] == "funnel.drift.drift_report"
    assert "<svg" in report.to_html("t") and "funnel_drift_psi" in report.to_prometheus()
    with pytest.raises(funnel.InvalidArgument):
        drift.compare(ref, cur, ["a", "b"], bogus=1)


def test_reference_profile_round_trip(tmp_path):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(500, 2)).astype(np.float32)
    prof = drift.fit_reference_profile(X, ["a", ("b", "numeric")], bins=5)
    assert prof.names == ["a", "b"] and len(prof) == 2
    prof.save(tmp_path / "p.json")
    again = drift.ReferenceProfile.load(tmp_path / "p.json")
    assert again.to_json() == prof.to_json()
    assert drift.compare_profile(again, X).drifted == []


def test_metrics():
    y = np.array([0, 0, 1, 1], np.float32)
    s = np.array([0.1, 0.4, 0.35, 0.8], np.float32)
    assert metrics.roc_auc(y, s) == 0.75
    assert metrics.average_precision(y, s) == pytest.approx(0.8333333333)
    assert metrics.log_loss(y, s) > 0 and metrics.brier_score(y, s) > 0
    assert metrics.rmse(y, y) == 0.0 and metrics.r2(y, y) == 1.0 and metrics.mae(y, s) > 0
    assert metrics.roc_auc(y, s, sample_weight=np.ones(4)) == 0.75
    assert metrics.ndcg_at(np.array([3, 2, 0], np.float32), np.array([3, 2, 1], np.float32)) == 1.0
