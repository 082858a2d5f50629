"""Every estimator of the package against scikit-learn's own contract checks (``parametrize_with_checks``).

Each deliberate deviation is listed below as an expected failure with its reason; any other failing check fails
the suite, and an expected failure that starts passing is reported (strict xfail), so the list cannot go stale.
"""

from __future__ import annotations

import pytest
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from helpers.churn import NeighbourChurn
from helpers.clv import BetaGeo
from helpers.forecasting import CampaignFeatures
from helpers.segmentation import TwoStepClustering
from helpers.uplift import DRLearner, TLearner

NAN_IS_MISSING = (
    "NaN marks a value that is missing by design (e.g. the spend mix of a customer who never "
    "ordered) and is left out of its column's likelihood; infinity is refused"
)

# BG/NBD's input is a customer summary: an integer frequency, recency <= T, all in one unit of time. The generic
# checks feed random real-valued matrices of other widths, which are not summaries and are refused with a clear
# error; what the contract asks of every estimator (parameters, clone, fit returns self, not-fitted errors,
# persistence) is checked below on real summaries instead.
NOT_A_SUMMARY = "input is a frequency/recency/T summary; the check's random X is not one and is refused"
# CampaignFeatures reads named columns of the campaigns table (date, channel, target segment, ...); a matrix of
# random numbers has none of them and is refused with a clear error. Its contract is checked below on a table.
NOT_A_TABLE = "input is the campaigns table (named columns); the check's random X is not one and is refused"

# The uplift learners fit on a randomised campaign: fit(X, y, treatment), the arm of every customer. The generic
# checks call fit(X, y) without one, which is refused; the contract (clone, parameters, fit returns self, the same
# model from the same data, not-fitted errors, pickling) is tested on a campaign in tests/test_uplift.py.
NEEDS_TREATMENT = "fit needs each customer's treatment arm; the check calls fit(X, y) without one"

#: the generic checks that fit on random matrices: impossible inputs for the two estimators above
RANDOM_MATRIX_CHECKS = (
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_complex_data",
    "check_dtype_object",
    "check_estimators_empty_data_messages",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimator_sparse_tag",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
)

EXPECTED: dict[type, dict[str, str]] = {
    TwoStepClustering: {
        "check_estimators_nan_inf": NAN_IS_MISSING,
    },
    NeighbourChurn: {},
    BetaGeo: {name: NOT_A_SUMMARY for name in (*RANDOM_MATRIX_CHECKS, "check_fit1d")},
    TLearner: {name: NEEDS_TREATMENT for name in (*RANDOM_MATRIX_CHECKS, "check_fit1d")},
    DRLearner: {name: NEEDS_TREATMENT for name in (*RANDOM_MATRIX_CHECKS, "check_fit1d")},
    CampaignFeatures: {
        name: NOT_A_TABLE
        for name in (
            *RANDOM_MATRIX_CHECKS,
            "check_transformer_data_not_an_array",
            "check_transformer_general",
            "check_transformer_preserve_dtypes",
        )
    },
}


def _expected(estimator) -> dict[str, str]:
    return EXPECTED[type(estimator)]


ESTIMATORS = [
    TwoStepClustering(n_clusters=3, max_subclusters=50),
    NeighbourChurn(n_neighbors=3),
    BetaGeo(),
    CampaignFeatures(),
    TLearner(),
    DRLearner(),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_every_estimator_of_the_package_is_checked():
    import importlib
    import inspect
    import pkgutil

    from sklearn.base import BaseEstimator

    import helpers

    modules = [
        importlib.import_module(f"helpers.{m.name}")
        for m in pkgutil.iter_modules(helpers.__path__)
        if m.name not in ("spark", "run", "reproduce")
    ]  # pyspark is optional; run/reproduce drive papermill
    found = {
        obj
        for mod in modules
        for _, obj in inspect.getmembers(mod, inspect.isclass)
        if issubclass(obj, BaseEstimator) and obj.__module__.startswith("helpers")
    }
    assert found == set(EXPECTED) == {type(e) for e in ESTIMATORS}


@pytest.mark.parametrize(
    "params",
    [{"n_clusters": "three"}, {"max_iter": -1}, {"tol": "x"}, {"sample": 1}, {"var_floor": -0.1}, {"refine": "yes"}],
)
def test_two_step_refuses_bad_parameters_at_fit(params):
    import numpy as np

    with pytest.raises(InvalidParameterError, match=f"'{next(iter(params))}' parameter of TwoStepClustering"):
        TwoStepClustering(**params).fit(np.arange(20.0).reshape(10, 2))


def test_two_step_refuses_predict_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        TwoStepClustering().predict([[1.0, 2.0]])


def test_beta_geo_honours_the_contract_on_a_real_summary():
    import numpy as np
    import pandas as pd
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    rng = np.random.default_rng(0)
    n = 400
    big_t = rng.uniform(20, 40, n)
    freq = rng.poisson(2.0, n).astype(float)
    rec = np.where(freq > 0, big_t * rng.uniform(0.2, 1.0, n), 0.0)
    s = pd.DataFrame({"frequency": freq, "recency": rec, "T": big_t})
    est = BetaGeo()
    with pytest.raises(NotFittedError):
        est.p_alive(s)
    assert est.fit(s) is est and est.n_features_in_ == 3
    assert clone(est).get_params() == est.get_params()
    same = BetaGeo().fit(s[["frequency", "recency", "T"]].to_numpy())  # an array of the three columns in order
    pd.testing.assert_series_equal(same.params_, est.params_)
    with pytest.raises(InvalidParameterError, match="'max_iter' parameter of BetaGeo"):
        BetaGeo(max_iter=0).fit(s)
    with pytest.raises(TypeError, match="an array of those three columns"):
        BetaGeo().fit(rng.random((10, 4)))
