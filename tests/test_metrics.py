import warnings

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import mean_absolute_error, mean_squared_error

from emorec import metrics


def numpy_ccc(y, p):
    """CCC from numpy's covariance matrix (population moments), independent of emorec."""
    cov = np.cov(y, p, bias=True)
    return 2 * cov[0, 1] / (cov[0, 0] + cov[1, 1] + (y.mean() - p.mean()) ** 2)


def score(y, p, sessions=None) -> dict:
    """Every metric of one target (as valence), pooled over one session unless given."""
    sessions = np.zeros(len(y), dtype=int) if sessions is None else sessions
    result = metrics.regression_metrics(np.c_[y, y], np.c_[p, p], sessions)
    return {name.removeprefix("valence_"): value for name, value in result.items()
            if name.startswith("valence_")}


@pytest.fixture
def pair():
    rng = np.random.default_rng(3)
    y = rng.uniform(-0.5, 0.9, 500)
    p = 0.6 * y + rng.normal(0.05, 0.1, 500)
    return y, p


def test_errors_match_scikit_learn(pair):
    y, p = pair
    assert score(y, p)["mae"] == pytest.approx(mean_absolute_error(y, p), rel=1e-12)
    assert score(y, p)["mse"] == pytest.approx(mean_squared_error(y, p), rel=1e-12)
    assert score(y, p)["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, p)), rel=1e-12)


def test_pearson_matches_scipy(pair):
    y, p = pair
    assert score(y, p)["pearson"] == pytest.approx(pearsonr(y, p).statistic, rel=1e-10)


def test_ccc_matches_numpy_and_a_hand_worked_value(pair):
    y, p = pair
    assert score(y, p)["ccc"] == pytest.approx(numpy_ccc(y, p), rel=1e-10)
    # y = 1,2,3 and p = 2,3,4: var 2/3 each, cov 2/3, mean gap 1 -> 2(2/3) / (4/3 + 1) = 4/7
    assert score(np.array([1.0, 2, 3]), np.array([2.0, 3, 4]))["ccc"] == pytest.approx(4 / 7)
    assert score(y, y)["ccc"] == pytest.approx(1.0)
    assert score(y, -y + 2 * y.mean())["ccc"] == pytest.approx(-1.0)


def test_constant_predictions_give_zero_not_nan(pair):
    y, _ = pair
    constant = np.full_like(y, 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert score(y, constant)["ccc"] == 0.0
        assert score(y, constant)["pearson"] == 0.0
        result = metrics.regression_metrics(np.c_[y, y], np.c_[constant, constant],
                                            np.repeat(["a", "b"], len(y) // 2))
    assert all(np.isfinite(v) for v in result.values())
    assert result["mean_ccc"] == 0.0
    assert result["mean_ccc_session"] == pytest.approx(0.0, abs=1e-12)
    # identical constants agree perfectly
    assert score(constant, constant)["ccc"] == 1.0


def test_ccc_per_session_is_the_mean_of_session_cccs(pair):
    y, p = pair
    sessions = np.array(["s1"] * 100 + ["s2"] * 250 + ["s3"] * 150)
    expected = np.mean([numpy_ccc(y[sessions == s], p[sessions == s])
                        for s in ("s1", "s2", "s3")])
    assert score(y, p, sessions)["ccc_session"] == pytest.approx(expected, rel=1e-10)
    # pooled and per-session differ when sessions have different offsets
    shifted = p + np.where(sessions == "s2", 0.3, 0.0)
    assert score(y, shifted)["ccc"] != pytest.approx(score(y, shifted, sessions)["ccc_session"])


def test_regression_metrics_per_target_and_mean(pair):
    y, p = pair
    y2, p2 = np.c_[y, y[::-1]], np.c_[p, p[::-1] * 0.5]
    sessions = np.repeat(["a", "b"], len(y) // 2)
    result = metrics.regression_metrics(y2, p2, sessions)
    assert result["valence_rmse"] == pytest.approx(score(y, p)["rmse"])
    assert result["arousal_ccc"] == pytest.approx(numpy_ccc(y[::-1], p[::-1] * 0.5))
    assert result["mean_mae"] == pytest.approx((result["valence_mae"] + result["arousal_mae"]) / 2)
    expected_keys = {f"{t}_{m}" for t in ("valence", "arousal", "mean")
                     for m in metrics.METRIC_NAMES}
    assert set(result) == expected_keys


def test_regression_metrics_rejects_bad_shapes_and_nan():
    y = np.zeros((4, 2))
    with pytest.raises(ValueError, match="expected two"):
        metrics.regression_metrics(y, np.zeros((4, 1)), ["a"] * 4)
    with pytest.raises(ValueError, match="NaN"):
        metrics.regression_metrics(y, np.full((4, 2), np.nan), ["a"] * 4)


def test_every_metric_of_resampled_sessions_equals_the_metric_of_the_drawn_frames(pair):
    """A bootstrap resample's metric from weighted sums is the metric of the drawn sessions'
    frames, a session drawn twice counting twice."""
    y, p = pair
    sessions = np.array(["s1"] * 100 + ["s2"] * 250 + ["s3"] * 150)
    names, sums = metrics.session_sums(np.c_[y, y], np.c_[p, p], sessions)
    weights = np.array([[2.0, 0.0, 1.0], [0.0, 1.0, 2.0]])
    for counts, draws in zip(weights, np.stack([
            metrics.resampled(name, sums[None], weights)[:, 0]
            for name in metrics.METRIC_NAMES], axis=1), strict=True):
        drawn = [s for s, c in zip(names, counts, strict=True) for _ in range(int(c))]
        frames = np.concatenate([np.flatnonzero(sessions == s) for s in drawn])
        for name, value in zip(metrics.METRIC_NAMES, draws, strict=True):
            expected = (np.mean([score(y[sessions == s], p[sessions == s])["ccc"]
                                 for s in drawn]) if name == "ccc_session"
                        else score(y[frames], p[frames])[name])
            assert value == pytest.approx(expected, rel=1e-9, abs=1e-12)
