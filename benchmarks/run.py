"""Benchmarks at scale: wall time and peak memory (from the OS) of each step, at several sizes.

    python benchmarks/run.py --sizes 10000 100000 1000000 [--steps world load] [--out benchmarks/results]

Each (step, size) runs in a fresh subprocess; its peak resident memory comes from ``wait4`` and its wall time
from the parent, so measurements do not share a heap. The world for a size is generated once and reused by the
steps that read it. Results go to ``<out>/results.csv`` and ``<out>/results.md`` with, for each step, the
growth exponent between consecutive sizes (time ~ n^exponent: 1 is linear).

Never part of ``make test`` (machines are shared and noisy); tests/test_benchmarks.py only smoke-tests this
script at a tiny size.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# step name -> (what it measures, python code run with `n` and `world` (a folder) defined)
STEPS: dict[str, tuple[str, str]] = {
    "world": (
        "generate the world and write its CSV files (helpers.synth)",
        "from helpers.synth import generate_world, write_world\n"
        "write_world(generate_world(seed=42, n_customers=n), world)",
    ),
    "load": (
        "read and validate every table (helpers.io.load_world)",
        "from helpers.io import load_world\nload_world(world)",
    ),
    "load_cached": (
        "the same load from the run's cache of validated tables (load_world(cache=...)), as every lesson after "
        "the first reads the world; the cache is filled by an untimed first load",
        "import tempfile\nfrom helpers.io import load_world\n"
        "c = tempfile.mkdtemp(prefix='mlm-cache-')\nload_world(world, cache=c)\n"
        "timed_from = time.perf_counter()\nload_world(world, cache=c)\ntimed_to = time.perf_counter()\n"
        "import shutil\nshutil.rmtree(c)",
    ),
    "features": (
        "lesson 01's customer features (behaviour rates, recency, CRM fields) and their scaling; wall time "
        "excludes loading the four tables they read, peak memory includes them",
        "from helpers.io import load_world\nfrom helpers import segmentation as sg\n"
        "w = load_world(world, tables=['customers', 'products', 'transactions', 'events'], truth=False)\n"
        "timed_from = time.perf_counter()\n"
        "sg.scale_features(sg.customer_features(w).drop(columns=list(sg.LEFT_OUT)))",
    ),
    "pca_kmeans": (
        "PCA summary + k-means (k=5, 10 inits) of the scaled features, as in lesson 01; wall time excludes "
        "loading and features",
        "from helpers.io import load_world\nfrom helpers import segmentation as sg\n"
        "from sklearn.cluster import KMeans\n"
        "w = load_world(world, tables=['customers', 'products', 'transactions', 'events'], truth=False)\n"
        "X = sg.scale_features(sg.customer_features(w).drop(columns=list(sg.LEFT_OUT)))\n"
        "timed_from = time.perf_counter()\n"
        "sg.pca_summary(X)\nKMeans(5, n_init=10, random_state=42).fit(X)",
    ),
    "two_step": (
        "two-step clustering with the number of clusters chosen by BIC (helpers.segmentation."
        "TwoStepClustering, numeric and CRM fields), as in lesson 01; wall time excludes loading and inputs",
        "from helpers.io import load_world\nfrom helpers import segmentation as sg\n"
        "w = load_world(world, tables=['customers', 'products', 'transactions', 'events'], truth=False)\n"
        "inputs = sg.mixed_inputs(w)\n"
        "timed_from = time.perf_counter()\n"
        "sg.TwoStepClustering(categorical=list(sg.CRM_COLUMNS)).fit(inputs)",
    ),
    "rfm": (
        "RFM scores and named segments (helpers.rfm.rfm_table) of every transaction line; wall time excludes loading",
        "from helpers.io import load_world\nfrom helpers import rfm\n"
        "tx = load_world(world, tables=['transactions'], truth=False).transactions\n"
        "timed_from = time.perf_counter()\nrfm.rfm_table(tx)",
    ),
    "rfm_summary": (
        "frequency / recency / T / monetary_value in lifetimes' definitions (helpers.rfm.lifetimes_summary); "
        "wall time excludes loading",
        "from helpers.io import load_world\nfrom helpers import rfm\n"
        "tx = load_world(world, tables=['transactions'], truth=False).transactions\n"
        "timed_from = time.perf_counter()\nrfm.lifetimes_summary(tx)",
    ),
    "rfm_lifetimes": (
        "peer: lifetimes' summary_data_from_transaction_data on the same lines (daily periods); the "
        "run then checks that helpers.rfm.lifetimes_summary gives identical numbers",
        "import warnings\nwarnings.simplefilter('ignore')\nimport pandas as pd\n"
        "from helpers.io import load_world\nfrom helpers import rfm\n"
        "from lifetimes.utils import summary_data_from_transaction_data as summary\n"
        "tx = load_world(world, tables=['transactions'], truth=False).transactions\n"
        "tx = tx.assign(value=tx['quantity'] * tx['unit_price'])\n"
        "end = tx['order_date'].max().normalize()\n"
        "timed_from = time.perf_counter()\n"
        "theirs = summary(tx, 'customer_id', 'order_date', monetary_value_col='value', "
        "observation_period_end=end, freq='D')\n"
        "timed_to = time.perf_counter()\n"
        "ours = rfm.lifetimes_summary(tx)\ntheirs.index = theirs.index.astype(ours.index.dtype)\n"
        "pd.testing.assert_frame_equal(ours, theirs[ours.columns], check_names=False, rtol=1e-9)",
    ),
    "rules": (
        "rule-engine lead scores (helpers.scoring.rule_scores) of every lead at its decision date "
        "(creation + 30 days), with the inactivity penalty; wall time excludes loading",
        "import pandas as pd\nfrom helpers.io import load_world\nfrom helpers import scoring as sc\n"
        "w = load_world(world, tables=['leads', 'lead_events'], truth=False)\n"
        "leads = w.leads.set_index('lead_id')\n"
        "timed_from = time.perf_counter()\n"
        "sc.rule_scores(w.lead_events, leads['created_date'] + pd.Timedelta(days=30), ids=leads.index, "
        "active_since=leads['created_date'])",
    ),
    "rules_naive": (
        "peer: the same scores by a plain Python loop over events and then leads (what a first "
        "version usually is); the run then checks that helpers.scoring.rule_scores gives identical "
        "scores",
        "import pandas as pd\nfrom helpers.io import load_world\nfrom helpers import scoring as sc\n"
        "w = load_world(world, tables=['leads', 'lead_events'], truth=False)\n"
        "leads = w.leads.set_index('lead_id')\nev = w.lead_events\n"
        "timed_from = time.perf_counter()\n"
        "pts, inact = sc.DEFAULT_RULES['points'], sc.DEFAULT_RULES['inactivity']\n"
        "decision = {i: d + pd.Timedelta(days=30) for i, d in leads['created_date'].items()}\n"
        "points, last = {}, {}\n"
        "for lead, ts, kind in zip(ev['lead_id'], ev['timestamp'], ev['event_type'].astype(str)):\n"
        "    if ts < decision[lead]:\n"
        "        points[lead] = points.get(lead, 0) + pts.get(kind, 0)\n"
        "        if lead not in last or ts > last[lead]:\n"
        "            last[lead] = ts\n"
        "naive = {}\n"
        "for lead, created in leads['created_date'].items():\n"
        "    days = (decision[lead] - last.get(lead, created)).days\n"
        "    naive[lead] = points.get(lead, 0) + (days // inact['after_days']) * inact['points']\n"
        "timed_to = time.perf_counter()\n"
        "ours = sc.rule_scores(ev, leads['created_date'] + pd.Timedelta(days=30), ids=leads.index, "
        "active_since=leads['created_date'])['score']\n"
        "assert ours.to_dict() == {k: float(v) for k, v in naive.items()}",
    ),
    "logistic": (
        "lead features, then backward stepwise selection of a logistic regression (5-fold CV log-loss) "
        "on 70 % of the leads and scoring of the rest (helpers.scoring), as in lesson 02; wall time "
        "excludes loading",
        "from helpers.io import load_world\nfrom helpers import scoring as sc\n"
        "from sklearn.model_selection import train_test_split\n"
        "leads = load_world(world, tables=['leads'], truth=False).leads.set_index('lead_id')\n"
        "timed_from = time.perf_counter()\n"
        "y = leads['converted'].astype(int)\nx = sc.lead_features(leads)\n"
        "train, test = train_test_split(leads.index, test_size=0.3, random_state=42, stratify=y)\n"
        "model, kept, _ = sc.backward_select(x.loc[train], y.loc[train], cv=5, random_state=42)\n"
        "model.predict_proba(x.loc[test, kept])",
    ),
    "churn": (
        "churn features and labels at the last as-of date with 90 days after it (helpers.churn.churn_frame), "
        "then the boosted-tree churn model fitted on 70 % of the past buyers, as in lesson 02; wall time "
        "excludes loading",
        "from helpers.io import load_world\nfrom helpers import churn, timeline\n"
        "from sklearn.model_selection import train_test_split\n"
        "w = load_world(world, tables=['customers', 'products', 'transactions', 'events'], truth=False)\n"
        "timed_from = time.perf_counter()\n"
        "cx, cy = churn.churn_frame(w, timeline.last_as_of(w.transactions['order_date'], 90), 90)\n"
        "train, test = train_test_split(cx.index, test_size=0.3, random_state=42, stratify=cy)\n"
        "churn.churn_model(42).fit(cx.loc[train], cy.loc[train]).predict_proba(cx.loc[test])",
    ),
    "fpgrowth": (
        "frequent itemsets and rules of every order (helpers.nbo.mine_rules, mlxtend fpgrowth, min "
        "support 0.5 %, pairs); wall time excludes loading",
        "from helpers.io import load_world\nfrom helpers import nbo\n"
        "tx = load_world(world, tables=['transactions'], truth=False).transactions\n"
        "timed_from = time.perf_counter()\nnbo.mine_rules(tx, min_support=0.005, min_confidence=0.05)",
    ),
    "apriori": (
        "the same with mlxtend apriori",
        "from helpers.io import load_world\nfrom helpers import nbo\n"
        "tx = load_world(world, tables=['transactions'], truth=False).transactions\n"
        "timed_from = time.perf_counter()\n"
        "nbo.mine_rules(tx, min_support=0.005, min_confidence=0.05, algorithm='apriori')",
    ),
    "nbo": (
        "customer-level pair rules (exact counting) + top-3 offers with 90-day suppression for every customer "
        "(helpers.nbo); wall "
        "time excludes loading",
        "import pandas as pd\nfrom helpers.io import load_world\nfrom helpers import nbo\n"
        "tx = load_world(world, tables=['transactions'], truth=False).transactions\n"
        "timed_from = time.perf_counter()\n"
        "_, rules = nbo.mine_rules(tx, min_support=0.05, min_confidence=0.05, min_lift=1.1, by='customer_id', "
        "algorithm='pairs')\n"
        "nbo.next_best_offers(tx, rules, tx['order_date'].max() + pd.Timedelta(days=1), fill=nbo.popularity(tx))",
    ),
    "ab_closed_form": (
        "Bayesian A/B test of X012's opens in closed form: Beta posterior, exact P(B > A) and the "
        "expected-loss decision (helpers.abtest), as in lesson 04; wall time excludes loading",
        "from helpers.io import load_world\nfrom helpers import abtest as ab\n"
        "w = load_world(world, tables=['experiments', 'email_sends'], truth=False)\n"
        "sends = w.email_sends[w.email_sends['campaign_id'] == 'X012']\n"
        "timed_from = time.perf_counter()\n"
        "t = ab.counts(sends, 'opened')\n"
        "a, b = ab.posterior(t['successes'], t['n'])\n"
        "ab.prob_b_beats_a(a[0], b[0], a[1], b[1])\n"
        "ab.decide(t['successes'], t['n'], seed=0)",
    ),
    "ab_pymc": (
        "peer: the same posterior sampled by PyMC NUTS (2 chains x 2000 draws, compiled model cached by "
        "earlier runs); the run then checks that P(B > A) agrees with the closed form within 0.02",
        "from helpers.io import load_world\nfrom helpers import abtest as ab\n"
        "w = load_world(world, tables=['experiments', 'email_sends'], truth=False)\n"
        "sends = w.email_sends[w.email_sends['campaign_id'] == 'X012']\n"
        "timed_from = time.perf_counter()\n"
        "t = ab.counts(sends, 'opened')\n"
        "d = ab.pymc_ab(t['successes'], t['n'], names=t.index, seed=0)\n"
        "p = float((d.iloc[:, 1] > d.iloc[:, 0]).mean())\n"
        "timed_to = time.perf_counter()\n"
        "a, b = ab.posterior(t['successes'], t['n'])\n"
        "assert abs(p - ab.prob_b_beats_a(a[0], b[0], a[1], b[1])) < 0.02",
    ),
    "bandit": (
        "send-time bandit: a season of 52 campaigns to every customer's segment under Thompson sampling "
        "over 24 hours (helpers.sendtime.simulate; audience per segment = customers / 5), as in lesson 04",
        "from helpers import sendtime\nimport numpy as np, pandas as pd\n"
        "rng = np.random.default_rng(0)\n"
        "curves = pd.DataFrame(rng.uniform(0.1, 0.3, (5, 24)), index=[f's{i}' for i in range(5)])\n"
        "timed_from = time.perf_counter()\n"
        "sendtime.simulate(curves, 'thompson', audience=n // 5, n_campaigns=52, seed=0)",
    ),
    "workflow": (
        "abandoned-cart workflow replayed for every abandoned cart with a random control group "
        "(helpers.workflows.Simulator: entries, organic outcomes and the oracle, then one run); wall time "
        "excludes loading",
        "from helpers.io import load_world\nfrom helpers import workflows as wf\n"
        "w = load_world(world, tables=['customers', 'transactions', 'events'])\n"
        "timed_from = time.perf_counter()\n"
        "s = wf.Simulator(wf.cart_recovery(), w.events, w.transactions, w.customers, "
        "wf.Response.planted(w.truth))\ns.run(seed=0)",
    ),
    "kpi_forecast": (
        "send-log features of every send, then time-ordered CV (4 folds) of the GLM and kernel ridge "
        "for open rates (helpers.forecasting); wall time excludes loading",
        "from helpers.io import load_world\nfrom helpers import forecasting\n"
        "w = load_world(world, tables=['transactions', 'events', 'campaigns'], truth=False)\n"
        "timed_from = time.perf_counter()\n"
        "log = forecasting.send_log_features(w.events, w.transactions)\n"
        "X = forecasting.CampaignFeatures(list(log.columns)).fit_transform("
        "forecasting.with_send_log(w.campaigns, log))\n"
        "forecasting.forecast_cv(w.campaigns, X, 'open_rate', n_splits=4, test_size=30)",
    ),
    "kpi_audience": (
        "the audience forecast of lesson 05: the send history as of every send (helpers.audience.send_history), "
        "then its time-ordered CV (12 folds of 10 campaigns: personas as of each fold, open and click models, "
        "intervals); wall time excludes loading",
        "from helpers.io import load_world\nfrom helpers import audience\n"
        "w = load_world(world, tables=['transactions', 'events', 'campaigns'], truth=False)\n"
        "timed_from = time.perf_counter()\n"
        "h = audience.send_history(w.events, w.transactions)\n"
        "audience.audience_cv(h, w.campaigns, w.events, w.transactions, n_splits=12, test_size=10, seed=42)",
    ),
    "sort_reference": (
        "reference, not a course step: numpy's stable argsort of 10 * n random 64-bit keys (about as many as the "
        "world's orders; at least 100,000), an n log n algorithm; its growth exponent is what n log n costs on this "
        "machine once the arrays outgrow the CPU's caches, to read the steps' exponents against",
        "import numpy as np\nkeys = np.random.default_rng(0).integers(0, 2**62, max(10 * n, 100_000))\n"
        "timed_from = time.perf_counter()\nnp.argsort(keys, kind='stable')",
    ),
    "course": (
        "the whole course: every lesson notebook executed by papermill on this world (python -m helpers.run "
        "--data-dir), as `make course` does: lessons side by side as the CPUs and memory allow (--jobs auto; two on "
        "2 cores); peak memory is the largest process (a lesson's kernel; two run at once)",
        "import subprocess, sys, tempfile\n"
        "with tempfile.TemporaryDirectory() as out:\n"
        "    subprocess.run([sys.executable, '-m', 'helpers.run', '--data-dir', world, '--out', out], check=True, "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)",
    ),
}
LESSONS = ("00", "01", "02", "03", "04", "05", "06")
for _nn in LESSONS:
    STEPS[f"lesson_{_nn}"] = (
        f"lesson {_nn} executed by papermill (python -m helpers.run --only {_nn}) in one run folder per world shared "
        "by the lesson steps, as a team runs the course: lesson 00 starts a fresh folder and fills the cache of "
        "validated tables, later lessons read it and their predecessors' outputs; peak memory is the kernel's; "
        "the heaviest cells are listed under the table",
        "import json, shutil, subprocess, sys\nfrom pathlib import Path\n"
        "run_dir = Path(world).with_name(Path(world).name + '-course-run')\n"
        + ("shutil.rmtree(run_dir, ignore_errors=True)\n" if _nn == "00" else "")
        + f"r = subprocess.run([sys.executable, '-m', 'helpers.run', '--only', '{_nn}', '--data-dir', world, '--out', "
        "str(run_dir), '--no-progress', '--timings'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, "
        "text=True)\n"
        "if r.returncode:  # the runner names the notebook, the cell and the error\n"
        "    sys.exit(r.stderr[-3000:])\n"
        f"cells = json.loads(next((run_dir / 'timings').glob('{_nn}_*.json')).read_text())\n"
        "print('__value__ heaviest', ';'.join(f\"{c['cell']}({c['section'] or '-'})={c['seconds']:.0f}s\" "
        "for c in cells[:3]))",
    )
PEERS = {"rfm_lifetimes": "rfm_summary", "apriori": "fpgrowth", "rules_naive": "rules", "ab_pymc": "ab_closed_form"}
"""peer step -> our step: results.md reports how many times faster ours is on the same data."""


def _measure(code: str, n: int, world: Path) -> tuple[float, float, float]:
    """Run ``code`` in a fresh interpreter; return (timed wall seconds, peak RSS in MiB, seconds of the whole
    process including its set-up)."""
    wall, peak, _, elapsed = _measure_values(code, n, world)
    return wall, peak, elapsed


class BenchmarkFailed(RuntimeError):
    """A step exited with an error; ``out_of_memory`` when it hit the memory limit (a MemoryError)."""

    def __init__(self, message: str, out_of_memory: bool) -> None:
        super().__init__(message)
        self.out_of_memory = out_of_memory


def _measure_values(
    code: str, n: int, world: Path, memory_limit_mib: int | None = None
) -> tuple[float, float, dict[str, str], float]:
    """(timed wall seconds, peak RSS in MiB, the values the code printed as ``__value__ <name> <value>`` lines,
    seconds of the whole process).

    ``memory_limit_mib`` caps the subprocess's address space, so that a step that would exhaust the machine
    fails with a MemoryError instead (:class:`BenchmarkFailed` with ``out_of_memory``).
    """
    # a step may set `timed_from` after its set-up (e.g. loading), and `timed_to` before a final check: then
    # only what lies between is timed
    limit = (
        "import resource\nresource.setrlimit(resource.RLIMIT_AS, "
        f"({memory_limit_mib} * 2**20, {memory_limit_mib} * 2**20))\n"
        if memory_limit_mib
        else ""
    )
    prog = (
        f"{limit}import time\nn = {n}\nworld = {str(world)!r}\n{code}\n"
        "if 'timed_from' in globals():\n"
        "    print('__timed__', globals().get('timed_to', time.perf_counter()) - timed_from)\n"
    )
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", prog], cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
        stdout = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        err.seek(0)
        stderr = err.read()
    sys.stderr.write(stderr)
    if os.waitstatus_to_exitcode(status) != 0:
        raise BenchmarkFailed(
            f"benchmark failed at n={n}:\n{code}\n{stderr[-2000:]}", out_of_memory="MemoryError" in stderr
        )
    elapsed = wall
    timed = [ln.split()[1] for ln in stdout.splitlines() if ln.startswith("__timed__")]
    if timed:
        wall = float(timed[-1])
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # ru_maxrss: KiB on Linux, bytes on macOS
    values = dict(ln.split()[1:3] for ln in stdout.splitlines() if ln.startswith("__value__"))
    return wall, usage.ru_maxrss * 1024 / scale / 1024, values, elapsed


REPEAT_UNDER_S = 60.0
"""Steps whose process (set-up included) takes less than this run ``repeat`` times and keep their best wall time: on
a shared machine a single
short run mostly measures the neighbours (page faults and caches vary by +-30 % between runs of a 2 s step)."""


# the benchmark driver: one branch per kind of step and per output; it runs outside the package
def run(  # noqa: C901
    sizes: list[int], steps: list[str], out: Path, worlds: Path | None = None, repeat: int = 3
) -> list[dict]:
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlm-bench-") as tmp:
        for n in sizes:
            world = (worlds or Path(tmp)) / f"world_{n}"
            if worlds is not None and (world / "customers.csv").exists():
                pass  # reuse a world generated by an earlier run (same seed and size)
            elif "world" not in steps:  # other steps need the files
                _measure(STEPS["world"][1], n, world)
            for step in steps:
                wall, peak, values, elapsed = _measure_values(STEPS[step][1], n, world)
                # a lesson step depends on the one before it in the shared run folder: run once
                once = step == "world" or step.startswith("lesson_")
                for _ in range(repeat - 1 if elapsed < REPEAT_UNDER_S and not once else 0):
                    again, again_peak, _ = _measure(STEPS[step][1], n, world)
                    wall, peak = min(wall, again), max(peak, again_peak)
                rows.append({"step": step, "n_customers": n, "wall_s": round(wall, 3), "peak_mib": round(peak)})
                if "heaviest" in values:
                    rows[-1]["heaviest"] = values["heaviest"]
                print(f"{step:10s} n={n:>9,d}  {wall:8.2f} s  {peak:8.0f} MiB", flush=True)
    # keep earlier results of steps and sizes not run this time
    done = {(r["step"], r["n_customers"]) for r in rows}
    if (out / "results.csv").exists():
        with (out / "results.csv").open() as f:
            for r in csv.DictReader(f):
                key = (r["step"], int(r["n_customers"]))
                if key not in done and r["step"] in STEPS:
                    rows.append(
                        {
                            "step": r["step"],
                            "n_customers": key[1],
                            "wall_s": float(r["wall_s"]),
                            "peak_mib": int(r["peak_mib"]),
                            **({"heaviest": r["heaviest"]} if r.get("heaviest") else {}),
                        }
                    )
    order = list(STEPS)
    rows.sort(key=lambda r: (r["n_customers"], order.index(r["step"])))
    for step in {r["step"] for r in rows}:
        mine = [r for r in rows if r["step"] == step]
        for a, b in zip(mine, mine[1:], strict=False):
            if a["wall_s"] > 0 and b["wall_s"] > 0:
                b["growth_exponent"] = round(
                    math.log(b["wall_s"] / a["wall_s"]) / math.log(b["n_customers"] / a["n_customers"]), 2
                )
    out.mkdir(parents=True, exist_ok=True)
    cols = ["step", "n_customers", "wall_s", "peak_mib", "growth_exponent", "heaviest"]
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        f"Machine: {machine}. Wall time: best of {repeat} runs, each in a fresh process, for steps under "
        f"{REPEAT_UNDER_S:.0f} s with their set-up (one run otherwise); peak memory: the largest of those runs.",
        "",
        "| step | customers | wall (s) | peak memory (MiB) | growth exponent |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['step']} | {r['n_customers']:,} | {r['wall_s']} | {r['peak_mib']:,} | {r.get('growth_exponent', '')} |"
        for r in rows
    ]
    ratios = []
    for peer, ours in PEERS.items():
        for r in rows:
            if r["step"] != peer:
                continue
            mine = next((o for o in rows if o["step"] == ours and o["n_customers"] == r["n_customers"]), None)
            if mine and mine["wall_s"] > 0:
                ratios.append(
                    f"| {ours} vs {peer} | {r['n_customers']:,} | {r['wall_s'] / mine['wall_s']:.1f} | "
                    f"{r['peak_mib'] / mine['peak_mib']:.1f} |"
                )
    if ratios:
        lines += [
            "",
            "| ours vs peer | customers | peer time / ours | peer memory / ours |",
            "|---|---:|---:|---:|",
            *ratios,
        ]
    lines += _lesson_table(rows)
    lines += ["", *(f"- **{s}**: {STEPS[s][0]}" for s in order if any(r["step"] == s for r in rows))]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    return rows


def _lesson_table(rows: list[dict]) -> list[str]:
    """The course by lesson: seconds (peak GiB of the kernel) per lesson and size, the total, the heaviest cells."""
    sizes = sorted({r["n_customers"] for r in rows if r["step"].startswith("lesson_")})
    if not sizes:
        return []
    at = {(r["step"], r["n_customers"]): r for r in rows}
    lines = [
        "",
        "The course by lesson: wall seconds (peak GiB of the kernel); total over the lessons run at that size.",
        "",
        "| lesson | " + " | ".join(f"{n:,} customers" for n in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for nn in LESSONS:
        cells = [at.get((f"lesson_{nn}", n)) for n in sizes]
        lines.append(
            f"| {nn} | "
            + " | ".join(f"{c['wall_s']:.0f} s ({c['peak_mib'] / 1024:.1f})" if c else "" for c in cells)
            + " |"
        )
    totals = [sum(at[(f"lesson_{nn}", n)]["wall_s"] for nn in LESSONS if (f"lesson_{nn}", n) in at) for n in sizes]
    lines.append("| **total** | " + " | ".join(f"**{t:.0f} s**" for t in totals) + " |")
    heavy = [r for r in rows if r.get("heaviest")]
    if heavy:
        lines += ["", "Heaviest cells (cell id, section, seconds):", ""]
        lines += [f"- lesson {r['step'][-2:]}, {r['n_customers']:,}: {r['heaviest']}" for r in heavy]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--steps", nargs="+", default=list(STEPS), choices=list(STEPS))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument(
        "--worlds", type=Path, default=None, help="keep generated worlds in DIR/world_<n> and reuse them in later runs"
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help=f"runs per step under {REPEAT_UNDER_S:.0f} s; the best wall time is kept (default 3)",
    )
    a = ap.parse_args(argv)
    run(sorted(a.sizes), a.steps, a.out, a.worlds, a.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
