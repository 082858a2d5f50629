"""The synthetic marketing world: every table the course uses, generated from one seed, with its planted truth.

A retailer with ``n_customers`` customers over two years (2024-01-01 to 2025-12-31). Every behaviour in the
tables is drawn from parameters that are written to ``truth.json``, so each method in the course can be
measured against an oracle that knows them:

* latent **segments** (not a column of ``customers``) drive demographics, web activity, purchase rhythm, basket
  contents, email engagement, preferred send hour and churn hazard;
* **leads** (prospects, their own id space) convert through a planted logistic model in which several
  features have exactly zero weight, and whose coefficients drift on ``drift_date``;
* **baskets** carry planted association rules ``A => B`` whose support, confidence and lift follow in closed
  form from the basket model;
* **churn** is a piecewise-constant hazard; a churned customer stops buying and browsing;
* **campaigns** (>= 200 email and push sends, each with a random holdout group) and **experiments** (A/B tests of
  subject and content, and send-time tests, stored per recipient in ``email_sends``) respond through a planted
  model with per-segment hour-of-day curves, subject and discount effects and a fatigue term;
* a dated **drift** changes lead coefficients, lead mix, one segment's churn hazard and campaign responses;
* a **randomised test of several treatments** (``campaign_sends``), sent the day after the history ends, with each
  recipient's true probability of buying under every arm (:class:`helpers.planted.UpliftTest`).

Same ``seed`` and sizes give byte-identical files (see :func:`write_world`); the generator draws every table
from its own stream spawned from ``seed`` so that changing one table's recipe does not reshuffle the others.

The generator runs in stages, each in its own module and each handing the next a frozen dataclass:
:mod:`.customers` (segments, customers, churn), :mod:`.orders` (catalogue, rules, orders, baskets),
:mod:`.events` (web and order events), :mod:`.campaigns` (campaigns, experiments, sends, through
:class:`helpers.planted.ResponseModel`), :mod:`.uplift` (the test of several treatments), :mod:`.leads`,
:mod:`.truth` and :mod:`.writing`. The fixed design (timeline, vocabularies, archetypes, lead model) is in
:mod:`.params`.

Command line::

    python -m helpers.synth --seed 42 --customers 20000 --out data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..world import TABLES, Truth, World
from .campaigns import campaign_tables, campaigns
from .customers import customers, lifetimes, segment_params
from .events import Packer, assemble_events, order_events, web_sessions
from .leads import leads
from .orders import all_orders, baskets, plant_rules, poisson_orders, products, recovered_orders
from .params import (
    ARCHETYPES,
    CATEGORIES,
    LEAD_COEF_AFTER,
    LEAD_COEF_BEFORE,
    LEAD_FEATURES,
    N_EXPERIMENTS,
)
from .truth import build_truth
from .uplift import uplift_test
from .writing import read_manifest, write_world

__all__ = [
    "ARCHETYPES",
    "CATEGORIES",
    "LEAD_COEF_AFTER",
    "LEAD_COEF_BEFORE",
    "LEAD_FEATURES",
    "TABLES",
    "Truth",
    "World",
    "generate_world",
    "write_world",
    "read_manifest",
    "main",
]

_STREAMS = (
    "segments",
    "customers",
    "churn",
    "products",
    "orders",
    "baskets",
    "web",
    "campaigns",
    "experiments",
    "leads",
    "lead_events",
    "jitter",
    "uplift_test",  # added last: the streams before it, and so every other table, are as they were
)


def generate_world(
    seed: int = 42,
    n_customers: int = 20_000,
    n_segments: int = 5,
    n_products: int = 40,
    n_rules: int = 6,
    n_campaigns: int = 240,
    n_leads: int | None = None,
) -> World:
    """Generate the synthetic marketing world.

    Parameters
    ----------
    seed : int
        Seed of every random stream. Same seed and sizes give identical tables and truth.
    n_customers : int
        Number of customers (>= 200).
    n_segments : int
        Number of planted latent segments, 2 to ``len(ARCHETYPES)`` (8). The world uses the first
        ``n_segments`` archetypes, with centres and shares jittered by ``seed``.
    n_products : int
        Catalogue size (>= 2 * n_rules + len(CATEGORIES)).
    n_rules : int
        Number of planted association rules ``A => B`` (on disjoint products).
    n_campaigns : int
        Number of past campaigns in the ``campaigns`` table (>= 1).
    n_leads : int, optional
        Number of leads, created from 2024-01-01 to 2026-03-31; defaults to ``16 * n_customers // 25``
        (about 470 a month for the course world).

    Returns
    -------
    World
        Tables ``customers, products, transactions, events, campaigns, experiments, email_sends, leads,
        lead_events, campaign_sends`` and the planted :class:`Truth`.

    Examples
    --------
    >>> w = generate_world(seed=1, n_customers=500, n_campaigns=20)
    >>> sorted(w.tables) == sorted(TABLES)
    True
    >>> w.truth["n_segments"]
    5
    """
    if not 2 <= n_segments <= len(ARCHETYPES):
        raise ValueError(f"n_segments must be between 2 and {len(ARCHETYPES)}, got {n_segments}")
    if n_customers < 200:
        raise ValueError(f"n_customers must be at least 200, got {n_customers}")
    if n_rules < 0 or n_products < 2 * n_rules + len(CATEGORIES):
        raise ValueError(f"n_products ({n_products}) must be at least 2 * n_rules + {len(CATEGORIES)}")
    if n_campaigns < 1:
        raise ValueError("n_campaigns must be at least 1")
    n_leads = 16 * n_customers // 25 if n_leads is None else n_leads
    if n_leads < 100:
        raise ValueError(f"n_leads must be at least 100, got {n_leads}")

    ss = np.random.SeedSequence(seed)
    rng = dict(zip(_STREAMS, (np.random.default_rng(s) for s in ss.spawn(len(_STREAMS))), strict=True))

    seg = segment_params(rng["segments"], n_segments)
    cust, lat = customers(rng["customers"], seg, n_customers)
    life = lifetimes(rng["churn"], seg, lat)
    catalogue, pi = products(rng["products"], seg, n_products)
    rules = plant_rules(rng["products"], catalogue, n_rules)

    packer = Packer(n_customers, n_campaigns + N_EXPERIMENTS)
    event_keys, abandoned = web_sessions(rng["web"], lat, life, packer)
    order_parts = [poisson_orders(rng["orders"], seg, lat, life), recovered_orders(rng["orders"], life, abandoned)]
    records, campaign_orders, log = campaigns(rng["campaigns"], rng["experiments"], seg, cust, lat, life, n_campaigns)
    order_parts.append(campaign_orders)
    orders = all_orders(order_parts)
    del order_parts, campaign_orders
    basket = baskets(rng["baskets"], seg, orders, lat, catalogue, pi, rules)
    tx = basket.transactions
    event_keys += order_events(orders, basket.kept, packer)
    test = uplift_test(rng["uplift_test"], seg, lat, life, log, tx, catalogue)

    campaign_table, experiments, email_sends, camp_keys = campaign_tables(
        records, log, orders, basket.kept, tx, seg, packer
    )
    event_keys += camp_keys
    del camp_keys, orders, records
    events = assemble_events(event_keys, packer, log.ids)
    lead_table, lead_events, lead_latent = leads(rng["leads"], rng["lead_events"], n_leads)

    customer_table = cust.drop(columns=["email_consent_at_signup"])
    customer_table["email_consent"] = cust["email_consent_at_signup"] & ~np.isin(
        customer_table["customer_id"].to_numpy(), log.unsubscribed_ids
    )

    tables = {
        "customers": customer_table,
        "products": catalogue,
        "transactions": tx,
        "events": events,
        "campaigns": campaign_table,
        "experiments": experiments,
        "email_sends": email_sends,
        "leads": lead_table,
        "lead_events": lead_events,
        "campaign_sends": test.table,
    }
    truth = build_truth(
        seed, n_customers, seg, lat, life, cust, catalogue, pi, rules, basket.attempts, log, lead_latent, test
    )
    return World(tables=tables, truth=truth, meta={"seed": seed, "n_customers": n_customers})


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m helpers.synth --seed 42 --customers 20000 --out data``."""
    ap = argparse.ArgumentParser(prog="python -m helpers.synth", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--segments", type=int, default=5)
    ap.add_argument("--products", type=int, default=40)
    ap.add_argument("--campaigns", type=int, default=240)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--check",
        type=Path,
        default=None,
        help="compare the written files with this manifest and exit 1 when they differ",
    )
    a = ap.parse_args(argv)
    expected = read_manifest(a.check) if a.check is not None else None
    w = generate_world(
        seed=a.seed, n_customers=a.customers, n_segments=a.segments, n_products=a.products, n_campaigns=a.campaigns
    )
    got = write_world(w, a.out, manifest=expected is None)
    print(f"wrote {len(TABLES)} tables and truth.json to {a.out}")
    if expected is not None:
        bad = sorted(k for k in set(expected) | set(got) if expected.get(k) != got.get(k))
        if bad:
            print(
                f"error: the generated {', '.join(bad)} differ from {a.check}. If the generator changed on "
                f"purpose, regenerate the manifest: python -m helpers.synth --out {a.out} (no --check) and "
                "commit it with the change.",
                file=sys.stderr,
            )
            return 1
        print(f"identical to {a.check}")
    return 0
