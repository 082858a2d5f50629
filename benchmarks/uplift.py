"""The course's uplift learners against causalml's on the same planted campaign: agreement, quality, time.

    python benchmarks/uplift.py [--sizes 30000 300000] [--out benchmarks/results]

causalml is not part of the course's environment (version 0.18.0 resolves with its pins but adds xgboost with its
CUDA library, lightgbm, numba, shap and black); install it next to the pins in an environment of its own:

    uv venv /tmp/causal && uv pip install --python /tmp/causal/bin/python -r requirements.lock causalml==0.18.0
    uv pip install --python /tmp/causal/bin/python --no-deps -e .
    /tmp/causal/bin/python benchmarks/uplift.py

On :func:`helpers.uplift.planted_campaign` (three arms, true uplifts known) learned at each size and graded on as
many other customers, with the same gradient-boosted trees inside every learner:

* the T-learners must agree exactly (the same models on the same rows): the run stops otherwise;
* the DR-learners differ by their folds and final model: their predictions' correlation is reported;
* each learner's Qini coefficient over the oracle's (the true uplift as the ranking), per treatment, its
  correlation with the true uplift, and its fit + predict time.

Results go to ``<out>/uplift.csv`` and ``<out>/uplift.md``. Never part of ``make test``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from helpers import uplift

ROOT = Path(__file__).resolve().parents[1]


def _classifier():
    """The learners' default outcome model, the same for causalml's."""
    return uplift._classifier(None)


def _regressor():
    """The doubly robust learner's default final model, the same for causalml's."""
    return uplift.DRLearner()._final_model()


def _learners():
    """(name, fit-and-predict) pairs: ours and causalml's, each returning a (customers x treatments) array."""
    warnings.filterwarnings("ignore", category=FutureWarning)  # causalml's calls into scikit-learn 1.9
    from causalml.inference.meta import BaseDRLearner, BaseTClassifier

    def ours_t(X, y, arm, Xt):
        return uplift.TLearner(_classifier()).fit(X, y, arm).predict(Xt)

    def ours_dr(X, y, arm, Xt):
        return uplift.DRLearner(_classifier(), _regressor()).fit(X, y, arm).predict(Xt)

    def causalml_t(X, y, arm, Xt):
        m = BaseTClassifier(learner=_classifier(), control_name="control")
        m.fit(X, arm, y)
        return m.predict(Xt)

    def causalml_dr(X, y, arm, Xt):
        m = BaseDRLearner(
            control_outcome_learner=_regressor(),
            treatment_outcome_learner=_regressor(),
            treatment_effect_learner=_regressor(),
            control_name="control",
        )
        # the assignment probabilities as designed (a third per arm), as ours uses them, instead of a fitted model
        share = {
            a: np.full(len(y), float(np.mean(arm == a)) / (np.mean(arm == a) + np.mean(arm == "control")))
            for a in ("discount", "reminder")
        }
        m.fit(X, arm, y, p=share, seed=0)
        return m.predict(Xt, p={a: np.full(len(Xt), v[0]) for a, v in share.items()})

    return [("ours T", ours_t), ("causalml T", causalml_t), ("ours DR", ours_dr), ("causalml DR", causalml_dr)]


def run(sizes: list[int], out: Path) -> list[dict]:
    rows = []
    treatments = ["discount", "reminder"]  # both libraries order the treatments by name
    for n in sizes:
        X, y, arm, _, _ = uplift.planted_campaign(n, seed=0)
        Xt, yt, armt, truth, _ = uplift.planted_campaign(n, seed=1)
        preds = {}
        for name, fit_predict in _learners():
            t0 = time.perf_counter()
            preds[name] = np.asarray(fit_predict(X, y, arm, Xt), float).reshape(len(Xt), -1)
            seconds = time.perf_counter() - t0
            for j, a in enumerate(treatments):
                m = (armt == a) | (armt == "control")
                treated = (armt[m] == a).astype(int)
                oracle = uplift.qini_coefficient(yt[m], treated, truth[a][m])
                rows.append(
                    {
                        "n": n,
                        "learner": name,
                        "treatment": a,
                        "qini_over_oracle": round(
                            uplift.qini_coefficient(yt[m], treated, preds[name][m, j]) / oracle, 3
                        ),
                        "corr_with_truth": round(float(np.corrcoef(preds[name][:, j], truth[a])[0, 1]), 3),
                        "seconds": round(seconds, 1),
                    }
                )
            print(f"n={n:>9,d} {name:12s} {seconds:6.1f} s", flush=True)
        gap = float(np.abs(preds["ours T"] - preds["causalml T"]).max())
        if gap > 1e-12:
            raise RuntimeError(f"the T-learners disagree at n={n}: largest difference {gap:.3g}")
        for r in rows:
            if r["n"] == n and r["learner"].endswith("DR"):
                j = treatments.index(r["treatment"])
                r["dr_agreement"] = round(
                    float(np.corrcoef(preds["ours DR"][:, j], preds["causalml DR"][:, j])[0, 1]), 3
                )
            if r["n"] == n and r["learner"].endswith("T"):
                r["t_max_difference"] = gap
    out.mkdir(parents=True, exist_ok=True)
    cols = [
        "n",
        "learner",
        "treatment",
        "qini_over_oracle",
        "corr_with_truth",
        "seconds",
        "t_max_difference",
        "dr_agreement",
    ]
    with (out / "uplift.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        f"Machine: {machine}. Learned on n customers of `helpers.uplift.planted_campaign` (seed 0), graded on n others "
        "(seed 1); every learner uses the same gradient-boosted trees. The T-learners agree exactly (largest "
        "difference in the last column); the DR-learners' predictions are correlated as shown.",
        "",
        "| customers | learner | treatment | Qini / oracle's | correlation with true uplift | seconds (fit + predict) "
        "| agreement |",
        "|---:|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        agree = (
            f"largest difference {r['t_max_difference']:.0e}"
            if "t_max_difference" in r
            else f"correlation {r['dr_agreement']}"
        )
        lines.append(
            f"| {r['n']:,} | {r['learner']} | {r['treatment']} | {r['qini_over_oracle']} | {r['corr_with_truth']} | "
            f"{r['seconds']} | {agree} |"
        )
    (out / "uplift.md").write_text("\n".join(lines) + "\n")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[30_000, 300_000])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    run(args.sizes, args.out)


if __name__ == "__main__":
    main()
