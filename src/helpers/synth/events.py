"""Stage 3: the events table — web sessions, the sessions before orders, and (from stage 4) the messages.

Every event is packed into one int64 (:class:`Packer`) so that the whole table is sorted in one pass.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..world import EVENT_TYPES
from .customers import Latent, Lifetimes
from .orders import Carts, Orders
from .params import CUSTOMER_ID_BASE, MONTH, START_EPOCH_S
from .tools import at_hour


class Packer:
    """Each event as one int64: customer index | second since START | event type | campaign code + 1.

    Sorting the packed keys sorts events by customer, time, type and campaign at once, in 8 bytes per event.
    """

    T_BITS = 27  # seconds since START: 2^27 s is 4.25 years
    TYP_BITS = 4

    def __init__(self, n_customers: int, n_codes: int) -> None:
        self.cid_bits = int(n_codes + 1).bit_length()
        self.who_bits = max(1, int(n_customers).bit_length())
        if self.who_bits + self.T_BITS + self.TYP_BITS + self.cid_bits > 63:
            raise ValueError("too many customers or campaigns to pack events into 64 bits")
        if len(EVENT_TYPES) > 2**self.TYP_BITS:  # pragma: no cover - a guard for whoever adds event types
            raise ValueError("too many event types")

    def pack(self, who: np.ndarray, t_days: np.ndarray, typ: str, code: np.ndarray | None = None) -> np.ndarray:
        """Pack events of one type into int64 keys."""
        sec = np.clip(np.floor(np.asarray(t_days) * 86400.0), 0, 2**self.T_BITS - 1).astype(np.int64)
        key = np.asarray(who).astype(np.int64) << (self.T_BITS + self.TYP_BITS + self.cid_bits)
        key |= sec << (self.TYP_BITS + self.cid_bits)
        key |= np.int64(EVENT_TYPES.index(typ)) << self.cid_bits
        if code is not None:
            key |= np.asarray(code).astype(np.int64) + 1
        return key

    def unpack(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Customer index, second, type code and campaign code of packed keys."""
        cid = (key & ((1 << self.cid_bits) - 1)).astype(np.int16) - 1
        typ = ((key >> self.cid_bits) & ((1 << self.TYP_BITS) - 1)).astype(np.int8)
        sec = (key >> (self.cid_bits + self.TYP_BITS)) & ((1 << self.T_BITS) - 1)
        who = (key >> (self.cid_bits + self.TYP_BITS + self.T_BITS)).astype(np.int64)
        return who, sec, typ, cid


def web_sessions(
    rng: np.random.Generator, lat: Latent, life: Lifetimes, packer: Packer
) -> tuple[list[np.ndarray], Carts]:
    """Browsing sessions while a customer is active: visits, product pages, catalogue clicks, carts."""
    active = np.maximum(life.active_to - life.active_from, 0.0)
    n_sess = rng.poisson(lat.web_rate * active / MONTH)
    who = np.repeat(np.arange(len(active), dtype=np.int32), n_sess)
    t = life.active_from[who] + rng.random(len(who)) * active[who]
    t = np.minimum(at_hour(rng, t, lat.peak_hour[who]), life.active_to[who] - 1e-4)
    t = np.maximum(t, life.active_from[who])
    n_pages = rng.poisson(0.7, len(who))
    catalog = rng.random(len(who)) < 0.12
    guide = rng.random(len(who)) < 0.015
    cart = rng.random(len(who)) < 0.10
    keys = [packer.pack(who, t, "site_visit")]
    pw = np.repeat(np.arange(len(who)), n_pages)
    step = (np.arange(len(pw)) - np.repeat(np.cumsum(n_pages) - n_pages, n_pages) + 1) * (90 / 86400)
    keys.append(packer.pack(who[pw], t[pw] + step, "product_page_view"))
    del pw, step
    keys.append(packer.pack(who[catalog], t[catalog] + 30 / 86400, "catalog_click"))
    keys.append(packer.pack(who[guide], t[guide] + 200 / 86400, "guide_download"))
    keys.append(packer.pack(who[cart], t[cart] + 400 / 86400, "cart_add"))
    keys.append(packer.pack(who[cart], t[cart] + 1500 / 86400, "cart_abandon"))
    abandon = Carts(who=who[cart].astype(np.int64), t=t[cart] + 1500 / 86400)
    return keys, abandon


def order_events(orders: Orders, kept: np.ndarray, packer: Packer) -> list[np.ndarray]:
    """The web session that precedes each order (each attempt that ``kept``): visit, product page, cart, payment."""
    who, t = orders.who[kept], orders.t[kept]
    return [
        packer.pack(who, t - 900 / 86400, "site_visit"),
        packer.pack(who, t - 700 / 86400, "product_page_view"),
        packer.pack(who, t - 400 / 86400, "cart_add"),
        packer.pack(who, t - 120 / 86400, "payment_form_view"),
    ]


def assemble_events(keys: list[np.ndarray], packer: Packer, ids: list[str], chunk: int = 8_000_000) -> pd.DataFrame:
    """Sort the packed events (customer, time, type, campaign) and decode them into the events table.

    Parts are moved into one preallocated array (each freed once copied) and decoded chunk by chunk into the
    final columns, so the peak is the packed keys plus the finished table.
    """
    n = sum(len(k_) for k_ in keys)
    key = np.empty(n, np.int64)
    at = 0
    while keys:
        part = keys.pop(0)
        key[at : at + len(part)] = part
        at += len(part)
        del part
    key.sort()
    customer_id = np.empty(n, np.int64)
    seconds = np.empty(n, np.int64)
    typ = np.empty(n, np.int8)
    cid = np.empty(n, np.int16)
    for lo in range(0, n, chunk):
        w_, s_, t_, c_ = packer.unpack(key[lo : lo + chunk])
        customer_id[lo : lo + chunk] = w_ + CUSTOMER_ID_BASE
        seconds[lo : lo + chunk] = s_
        typ[lo : lo + chunk] = t_
        cid[lo : lo + chunk] = c_
    del key
    seconds += START_EPOCH_S
    return pd.DataFrame(
        {
            "customer_id": customer_id,
            "timestamp": seconds.view("datetime64[s]"),
            "event_type": pd.Categorical.from_codes(typ, categories=list(EVENT_TYPES)),
            "campaign_id": pd.Categorical.from_codes(cid, categories=ids),
        },
        copy=False,
    )
