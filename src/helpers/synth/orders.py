"""Stage 2: the catalogue with its planted association rules, the orders of every source, and their baskets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .customers import Latent, Lifetimes, Segments
from .params import CART_RECOVERY_ORGANIC, CATEGORIES, CUSTOMER_ID_BASE, MONTH, ORDER_ID_BASE, START_EPOCH_S
from .tools import at_hour


@dataclass(frozen=True)
class Orders:
    """Order attempts of every source.

    Order attempts: customer index, time (days since START), discount, source (0 own rhythm, 1 recovered cart,
    2 campaign). An attempt whose basket draw is empty is not an order (see :class:`Baskets`).
    """

    who: np.ndarray
    t: np.ndarray
    discount: np.ndarray
    source: np.ndarray


@dataclass(frozen=True)
class Carts:
    """Abandoned carts: customer index and time of abandonment."""

    who: np.ndarray
    t: np.ndarray


@dataclass(frozen=True)
class Baskets:
    """The transactions table, the order attempts per segment, and which attempts became orders."""

    transactions: pd.DataFrame
    attempts: np.ndarray
    kept: np.ndarray


def products(rng: np.random.Generator, seg: Segments, n_products: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The catalogue, and each segment's probability of including each product in a basket (``pi``)."""
    adjectives = (
        "Classic",
        "Smart",
        "Eco",
        "Pro",
        "Urban",
        "Cosy",
        "Ultra",
        "Mini",
        "Deluxe",
        "Everyday",
        "Nordic",
        "Vivid",
        "Pure",
        "Swift",
        "Bold",
        "Soft",
    )
    nouns = {
        "electronics": ("Headphones", "Speaker", "Tablet", "Smartwatch", "Camera", "Charger", "Router", "E-reader"),
        "home": ("Lamp", "Blanket", "Kettle", "Cookware Set", "Vase", "Cushion", "Towel Set", "Coffee Maker"),
        "fashion": ("Sneakers", "Jacket", "Scarf", "Backpack", "Jeans", "Sunglasses", "Hoodie", "Belt"),
        "beauty": ("Serum", "Moisturiser", "Perfume", "Shampoo", "Lipstick", "Face Mask", "Sunscreen", "Body Oil"),
        "sports": (
            "Yoga Mat",
            "Dumbbells",
            "Water Bottle",
            "Running Shorts",
            "Tennis Racket",
            "Bike Light",
            "Jump Rope",
            "Gym Bag",
        ),
        "books": (
            "Cookbook",
            "Thriller",
            "Travel Guide",
            "Biography",
            "Poetry",
            "Sci-Fi Novel",
            "Art Book",
            "Puzzle Book",
        ),
    }
    price_mu = {"electronics": 5.0, "home": 3.8, "fashion": 3.9, "beauty": 3.2, "sports": 3.5, "books": 2.8}
    cat_idx = np.arange(n_products) % len(CATEGORIES)
    cat = np.asarray(CATEGORIES)[cat_idx]
    price = np.round(np.exp(np.array([price_mu[c] for c in cat]) + rng.normal(0, 0.35, n_products)), 2) - 0.01
    price = np.maximum(price, 1.99)
    names = []
    seen: set[str] = set()
    for i, c in enumerate(cat):
        k = i // len(CATEGORIES)
        base = nouns[c][k % len(nouns[c])]
        name = f"{adjectives[(k * 7 + i) % len(adjectives)]} {base}"
        while name in seen:
            name += " II"
        seen.add(name)
        names.append(name)
    popularity = np.exp(rng.normal(0, 0.5, n_products))
    # per-segment inclusion probability of each product in a base basket
    rel_price = np.log(price) - np.array([price_mu[c] for c in cat])
    w = seg.cats[:, cat_idx] * popularity[None, :] * np.exp(seg.price_tilt[:, None] * rel_price[None, :])
    w = w / w.sum(axis=1, keepdims=True)
    pi = np.minimum(w * seg.basket[:, None], 0.6)
    products = pd.DataFrame(
        {
            "product_id": [f"P{i + 1:04d}" for i in range(n_products)],
            "name": names,
            "category": cat,
            "price": price,
        }
    )
    return products, pi


def plant_rules(rng: np.random.Generator, products: pd.DataFrame, n_rules: int) -> list[dict]:
    """Pick disjoint (A, B) pairs, B in a different category from A, each with a boost probability q."""
    n = len(products)
    order = rng.permutation(n)
    used: set[int] = set()
    rules: list[dict[str, Any]] = []
    cat = products["category"].to_numpy()
    for a in order:
        if len(rules) == n_rules:
            break
        if a in used:
            continue
        for b in order:
            if b != a and b not in used and cat[b] != cat[a]:
                used.update((int(a), int(b)))
                rules.append(dict(a=int(a), b=int(b), q=float(np.round(rng.uniform(0.3, 0.55), 2))))
                break
    return rules


def poisson_orders(rng: np.random.Generator, seg: Segments, lat: Latent, life: Lifetimes) -> Orders:
    """Orders at each customer's own rate while active, at hours around the segment's peak; some on promotion."""
    active = np.maximum(life.active_to - life.active_from, 0.0)
    n_ord = rng.poisson(lat.order_rate * active / MONTH)
    who = np.repeat(np.arange(len(active)), n_ord)
    t = life.active_from[who] + rng.random(len(who)) * active[who]
    t = np.clip(at_hour(rng, t, lat.peak_hour[who]), life.active_from[who], life.active_to[who] - 1e-4)
    promo = rng.random(len(who)) < seg.promo_share[lat.segment[who]]
    discount = np.where(promo, rng.choice([0.1, 0.2], size=len(who)), 0.0)
    return Orders(who=who, t=t, discount=discount, source=np.zeros(len(who), np.int8))


def recovered_orders(rng: np.random.Generator, life: Lifetimes, abandon: Carts) -> Orders:
    """Abandoned carts bought later without any reminder (the organic recovery rate in truth)."""
    who, t = abandon.who, abandon.t
    t2 = t + rng.exponential(0.8, len(who))
    keep = (rng.random(len(who)) < CART_RECOVERY_ORGANIC) & (t2 < life.active_to[who])
    return Orders(who=who[keep], t=t2[keep], discount=np.zeros(keep.sum()), source=np.ones(keep.sum(), np.int8))


def all_orders(parts: list[Orders]) -> Orders:
    """The orders of every source in one chronological sequence (ties by customer)."""
    who = np.concatenate([p.who for p in parts])
    t = np.concatenate([p.t for p in parts])
    discount = np.concatenate([p.discount for p in parts])
    source = np.concatenate([p.source for p in parts])
    order = np.lexsort((who, t))  # chronological; ties by customer
    return Orders(who=who[order], t=t[order], discount=discount[order], source=source[order])


def baskets(
    rng: np.random.Generator,
    seg: Segments,
    orders: Orders,
    lat: Latent,
    products: pd.DataFrame,
    pi: np.ndarray,
    rules: list[dict],
    chunk: int = 200_000,
) -> Baskets:
    """Independent Bernoulli inclusion per product given the segment, then planted rules; empty draws dropped.

    Two passes keep memory flat: first the basket cells as compact (order, product) pairs, then the
    transaction columns filled in place, chunk by chunk.
    """
    s = lat.segment[orders.who]
    n_o, n_p = len(s), pi.shape[1]
    oi_parts, pj_parts = [], []
    keep = np.zeros(n_o, bool)
    for lo in range(0, n_o, chunk):
        hi = min(lo + chunk, n_o)
        b = rng.random((hi - lo, n_p)) < pi[s[lo:hi]]
        for r in rules:
            boost = b[:, r["a"]] & (rng.random(hi - lo) < r["q"])
            b[:, r["b"]] |= boost
        keep[lo:hi] = b.any(axis=1)
        oi, pj = np.nonzero(b)
        oi_parts.append((oi + lo).astype(np.int32))
        pj_parts.append(pj.astype(np.int16))
    oi = np.concatenate(oi_parts)
    pj = np.concatenate(pj_parts)
    del oi_parts, pj_parts
    attempts = np.bincount(s, minlength=seg.k).astype(float)
    new_id = np.cumsum(keep) - 1  # order ids go to the non-empty orders, in chronological order
    price = products["price"].to_numpy()
    n = len(oi)
    cols = {
        "order_id": np.empty(n, np.int64),
        "customer_id": np.empty(n, np.int64),
        "order_date": np.empty(n, np.int64),
        "quantity": np.empty(n, np.int64),
        "unit_price": np.empty(n),
    }
    step = 5_000_000
    for lo in range(0, n, step):
        o, j = oi[lo : lo + step], pj[lo : lo + step]
        cols["order_id"][lo : lo + step] = new_id[o] + ORDER_ID_BASE
        cols["customer_id"][lo : lo + step] = orders.who[o] + CUSTOMER_ID_BASE
        cols["order_date"][lo : lo + step] = np.floor(orders.t[o] * 86400.0).astype(np.int64) + START_EPOCH_S
        cols["quantity"][lo : lo + step] = 1 + rng.poisson(0.25, len(o))
        cols["unit_price"][lo : lo + step] = np.round(price[j] * (1.0 - orders.discount[o]), 2)
    tx = pd.DataFrame(
        {
            "order_id": cols["order_id"],
            "customer_id": cols["customer_id"],
            "order_date": cols["order_date"].view("datetime64[s]"),
            "product_id": pd.Categorical.from_codes(pj, categories=products["product_id"].tolist()),
            "quantity": cols["quantity"],
            "unit_price": cols["unit_price"],
        },
        copy=False,
    )
    return Baskets(transactions=tx, attempts=attempts, kept=keep)
