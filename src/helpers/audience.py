"""Forecasting a campaign from its audience: each planned recipient's chance to open and click, summed.

A campaign-level model (:mod:`helpers.forecasting`) sees a campaign as one row: its channel, hour, subject,
discount and the average fatigue of its audience. Who is in the audience matters more: a message at noon opens
well for customers who are on the site at noon and badly for the ones who shop at night, and customers who have
stopped buying stop opening. This module models each recipient instead, from what was known when the message
went out, and sums:

* :func:`send_history` — one row per message of the send log, with its outcome (opened, clicked) and what was
  known at its send time: the recipient's earlier messages, opens and clicks, message fatigue, days since their
  last visit or order, and the hours of day they visit the site;
* :func:`personas_as_of` — personas from the site and order activity before a date (k-means on the hour of day the
  customer is active, how often they visit and how often they order), so that a model trained for a date never
  sees what came after it;
* :class:`AudienceModel` — a logistic model of opening, and of clicking once opened, per recipient: the recipient's
  history, the persona's own response to the send hour and the discount, the campaign's channel, subject and
  season, and the last ``recent_days`` of campaigns' subject and discount effects apart (so that a change in how
  customers respond is learned from the campaigns since it, not averaged away over the years before);
* :func:`audience_cv` — time-ordered cross-validation of that model on past campaigns: each fold trains on every
  campaign before it and forecasts the next ``test_size``, a campaign's forecast being the mean over its
  recipients, with a 95 % interval from the recipients' binomial noise and the model's own error on earlier folds.

The held-out table has the columns of :func:`helpers.forecasting.forecast_cv`, so
:func:`helpers.forecasting.cv_errors` and :func:`helpers.forecasting.noise_floor` read it as they read the GLM's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .forecasting import _decayed_count, _of_type
from .kpis import KPIError
from .timeline import unix_seconds

__all__ = ["send_history", "personas_as_of", "AudienceModel", "audience_cv", "coverage"]

SENT = {"email_sent": "email", "push_sent": "push"}
OPENED = ("email_open", "push_open")
CLICKED = ("email_click", "push_click")
DAY = 86_400


def _need(table: pd.DataFrame, name: str, columns: Sequence[str], why: str) -> None:
    missing = [c for c in columns if c not in table]
    if missing:
        raise KPIError(f"{name}: missing column(s) {', '.join(map(repr, missing))}, needed {why}")


def send_history(
    events: pd.DataFrame,
    orders: pd.DataFrame | None = None,
    tau_days: float = 10.0,
    block_customers: int = 100_000,
) -> pd.DataFrame:
    """One row per message sent, with its outcome and what was known about its recipient when it went out.

    Columns: ``customer_id``, ``campaign_id``, ``sent_at`` (datetime), ``push`` (push rather than email),
    ``opened`` and ``clicked`` (an open or click event of the same customer and campaign), and, counting only what
    happened strictly before the send: ``messages_before``, ``opens_before``, ``clicks_before`` (opens and clicks
    of earlier messages already seen by then), ``fatigue`` (each earlier message counts
    ``exp(-days since / tau_days)``), ``days_inactive`` (since the last site visit or order; NaN when there was none)
    and ``visits_before``, ``visit_hour_cos``, ``visit_hour_sin`` (the number of site visits and the mean of the
    cosine and sine of their hour of day: where on the clock the customer is active).

    Parameters
    ----------
    events : DataFrame
        The events table: ``customer_id, timestamp, event_type, campaign_id``; sends are ``email_sent`` and
        ``push_sent`` rows, opens and clicks the ``email_open/push_open`` and ``email_click/push_click`` rows of the
        same campaign.
    orders : DataFrame, optional
        Orders (``customer_id, order_date``), counted as activity for ``days_inactive``.
    tau_days : float, default 10.0
        Decay time of message fatigue, in days.
    block_customers : int, default 100000
        Customers whose sends are worked out at a time: every feature is a customer's own, so blocks of customers
        are independent, and the memory of the intermediate arrays is a block's, not the whole log's.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": [1, 1, 1, 1, 1],
    ...     "timestamp": pd.to_datetime(["2025-01-01 12:00", "2025-01-02 09:00", "2025-01-02 10:00",
    ...                                  "2025-01-05 09:00", "2025-01-05 11:00"]),
    ...     "event_type": ["site_visit", "email_sent", "email_open", "email_sent", "email_open"],
    ...     "campaign_id": [None, "C1", "C1", "C2", "C2"]})
    >>> send_history(ev)[["campaign_id", "opened", "messages_before", "opens_before", "visits_before"]]
      campaign_id  opened  messages_before  opens_before  visits_before
    0          C1    True                0             0              1
    1          C2    True                1             1              1
    """
    _need(events, "events", ["customer_id", "timestamp", "event_type", "campaign_id"], "to read the send log")
    if block_customers < 1:
        raise KPIError(f"send_history: block_customers must be at least 1; got {block_customers}")
    typ = events["event_type"]
    is_send = _of_type(typ, list(SENT))
    if not is_send.any():
        raise KPIError("events: no email_sent or push_sent rows, so there is no send log to learn from")
    is_open, is_click, is_visit = (
        _of_type(typ, list(OPENED)),
        _of_type(typ, list(CLICKED)),
        _of_type(typ, ["site_visit"]),
    )
    # only the rows of the four types are read, each type's own columns taken out with its mask: a million
    # customers' events are 150 M rows, and full-length int64 copies of their columns would cost gigabytes
    camp_col = events["campaign_id"]
    if isinstance(camp_col.dtype, pd.CategoricalDtype):
        camp_codes, names = camp_col.cat.codes.to_numpy(), camp_col.cat.categories.astype(str)
    else:
        camp_codes, uniq = pd.factorize(camp_col.to_numpy())
        names = pd.Index(uniq).astype(str)
    if (camp_codes[is_send] < 0).any():
        lines = np.flatnonzero(is_send & (camp_codes < 0))[:5] + 2
        raise KPIError(
            f"events: sends without a campaign_id (lines {', '.join(map(str, lines))}); every email_sent/push_sent "
            "row needs the campaign it belongs to"
        )
    cust = events["customer_id"].to_numpy()
    o_cust = orders["customer_id"].to_numpy() if orders is not None else cust[:0]
    small_ints = (
        np.issubdtype(cust.dtype, np.integer)
        and np.issubdtype(o_cust.dtype, np.integer)
        and cust.min() >= 0
        and cust.max() < 2**31
        and (not len(o_cust) or (o_cust.min() >= 0 and o_cust.max() < 2**31))
    )
    if small_ints:  # the ids themselves fit in the keys: no hash table over a hundred million rows
        all_codes, o_code = cust, o_cust
    else:
        all_codes, _ = pd.factorize(np.concatenate([cust, o_cust]))
        all_codes, o_code = all_codes[: len(cust)], all_codes[len(cust) :]
    ts = events["timestamp"].to_numpy()
    o_sec = unix_seconds(orders["order_date"]) if orders is not None else np.zeros(0, np.int64)
    read = is_send | is_open | is_click | is_visit
    seconds = [unix_seconds(ts[read]), o_sec]
    del read
    t0 = int(min(a.min() for a in seconds if len(a)))
    if max(int(a.max()) for a in seconds if len(a)) - t0 >= 2**32:
        raise KPIError("events: the timestamps span more than 136 years; check the timestamp column")
    del seconds
    # blocks of customers in the order of their codes, so that the rows come out sorted as one pass would give them
    senders = np.unique(all_codes[is_send])
    edges = [*senders[::block_customers].tolist(), int(senders[-1]) + 1]
    n_send = int(is_send.sum())
    is_push = _of_type(typ, ["push_sent"])
    columns: dict[str, np.ndarray] = {}
    done = 0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        in_block = (all_codes >= lo) & (all_codes < hi) if len(edges) > 2 else np.ones(len(all_codes), bool)
        o_block = (o_code >= lo) & (o_code < hi) if len(edges) > 2 else np.ones(len(o_code), bool)
        part = _history_block(
            [m & in_block for m in (is_send, is_open, is_click, is_visit)],
            is_push & in_block,
            all_codes,
            cust,
            ts,
            camp_codes,
            len(names),
            o_code[o_block].astype(np.int64),
            o_sec[o_block] - t0,
            t0,
            tau_days,
        )
        del in_block, o_block
        for name, values in part.items():
            if name not in columns:
                columns[name] = np.empty(n_send, values.dtype)
            columns[name][done : done + len(values)] = values
        done += len(part["customer_id"])
    columns["campaign_id"] = pd.Categorical.from_codes(columns["campaign_id"], categories=names)
    columns["sent_at"] = pd.to_datetime(columns["sent_at"] + t0, unit="s")
    return pd.DataFrame(columns, copy=False)


def _history_block(masks, is_push, all_codes, cust, ts, camp_codes, n_names, o_code, o_sec, t0, tau_days):
    """:func:`send_history`'s columns for the rows of some customers (``masks``: their sends, opens, clicks, visits).

    Seconds are counted from ``t0``; ``sent_at`` comes back in those seconds and ``campaign_id`` as codes.
    """
    is_send, is_open, is_click, is_visit = masks

    def rows_of(mask: np.ndarray, campaigns: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Customer codes, seconds from t0 and (unless not wanted) campaign codes of the rows of one mask."""
        camp = camp_codes[mask].astype(np.int64) if campaigns else np.zeros(0, np.int64)
        sec = unix_seconds(ts[mask])
        sec -= t0
        return all_codes[mask].astype(np.int64), sec, camp

    s_code, s_sec, s_camp = rows_of(is_send)
    s_cust = cust[is_send]
    push = is_push[is_send]
    opens, clicks = rows_of(is_open), rows_of(is_click)
    v_code, v_sec, _ = rows_of(is_visit, campaigns=False)  # site visits: most of the events

    def keyed(mask_code: np.ndarray, mask_sec: np.ndarray) -> np.ndarray:
        return (mask_code << 32) | mask_sec

    order = np.lexsort((s_camp, s_sec, s_code))
    s_code, s_sec, s_camp, s_cust, push = s_code[order], s_sec[order], s_camp[order], s_cust[order], push[order]
    del order
    s_key = keyed(s_code, s_sec)
    start = keyed(s_code, np.zeros_like(s_sec))
    n_camp = n_names + 1

    def outcome(rows: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Whether each send had such an event, and how many such events came before it."""
        e_code, e_sec, e_camp = rows
        pair = np.unique(e_code * n_camp + e_camp)
        k = np.sort(keyed(e_code, e_sec))
        return np.isin(s_code * n_camp + s_camp, pair), np.searchsorted(k, s_key) - np.searchsorted(k, start)

    opened, opens_before = outcome(opens)
    clicked, clicks_before = outcome(clicks)
    del opens, clicks
    # the visits' keys (customer, second) made in place and sorted: rows with equal keys are the same second of the
    # same customer, so their order does not matter; every array of the visits' length costs 0.8 GB at 1 M customers
    v_code <<= 32
    v_code |= v_sec
    v_key = v_code
    del v_code, v_sec
    v_key.sort()
    hi, lo = np.searchsorted(v_key, s_key), np.searchsorted(v_key, start)
    visits = hi - lo
    tod = v_key & 0xFFFFFFFF
    tod += t0
    tod %= DAY  # the second of the day
    angle = 2 * np.pi * tod  # in the order of the arithmetic before (the same last digits)
    del tod
    angle /= DAY
    cum, wave = np.zeros(len(v_key) + 1), np.empty(len(v_key))
    with np.errstate(invalid="ignore", divide="ignore"):
        np.cumsum(np.cos(angle, out=wave), out=cum[1:])
        hour_cos = np.where(visits > 0, (cum[hi] - cum[lo]) / visits, 0.0)
        np.cumsum(np.sin(angle, out=wave), out=cum[1:])
        hour_sin = np.where(visits > 0, (cum[hi] - cum[lo]) / visits, 0.0)
    del angle, cum, wave
    # the last activity strictly before the send: the later of the last visit and the last order
    last = np.where(visits > 0, v_key[np.maximum(hi - 1, 0)] & 0xFFFFFFFF, -1) if len(v_key) else np.full(len(hi), -1)
    del hi, lo, v_key
    o_key = np.sort(keyed(o_code, o_sec))
    o_hi = np.searchsorted(o_key, s_key)
    has_order = o_hi > np.searchsorted(o_key, start)
    last = np.maximum(last, np.where(has_order, o_key[np.maximum(o_hi - 1, 0)] & 0xFFFFFFFF, -1) if len(o_key) else -1)
    days_inactive = np.where(last >= 0, (s_sec - last) / DAY, np.nan)
    del last, o_key, o_hi, has_order
    messages_before = np.arange(len(s_code)) - np.searchsorted(s_code, s_code)
    fatigue = _decayed_count(s_code, s_sec / DAY, tau_days)
    return {
        "customer_id": s_cust,
        "campaign_id": s_camp.astype(np.int32),
        "sent_at": s_sec,
        "push": push,
        "opened": opened,
        "clicked": clicked,
        "messages_before": messages_before,
        "opens_before": opens_before,
        "clicks_before": clicks_before,
        "fatigue": fatigue,
        "days_inactive": days_inactive,
        "visits_before": visits,
        "visit_hour_cos": hour_cos,
        "visit_hour_sin": hour_sin,
    }


def _codes(*ids: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The sorted distinct ids of the arrays, and each array's ids as positions in them (32-bit where they fit).

    Numbered ids of a dense range are marked in a table of the range (no sort of a hundred million site visits'
    ids, which costs gigabytes at a million customers); others go through :func:`numpy.unique`. Same result.
    """
    n_rows = sum(len(a) for a in ids)
    dense = all(np.issubdtype(a.dtype, np.integer) and (not len(a) or a.min() >= 0) for a in ids) and (
        max((int(a.max()) for a in ids if len(a)), default=-1) < min(2**31 - 1, 4 * n_rows + 1_000_000)
    )
    if dense:
        top = max((int(a.max()) for a in ids if len(a)), default=-1) + 1
        seen = np.zeros(top, bool)
        for a in ids:
            seen[a] = True
        uniq = np.flatnonzero(seen).astype(np.result_type(*ids))
        lookup = np.full(top, -1, np.int32)
        lookup[uniq] = np.arange(len(uniq), dtype=np.int32)
        return uniq, [lookup[a] for a in ids]
    uniq, codes = np.unique(np.concatenate(ids), return_inverse=True)
    codes = codes.astype(np.int32 if len(uniq) < 2**31 else np.int64)
    bounds = np.cumsum([0, *(len(a) for a in ids)])
    return uniq, [codes[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


class _Activity:
    """Site visits and orders as sorted arrays, to compute each customer's activity before any date quickly."""

    def __init__(self, events: pd.DataFrame, orders: pd.DataFrame | None) -> None:
        _need(events, "events", ["customer_id", "timestamp", "event_type"], "for the personas")
        visit = _of_type(events["event_type"], ["site_visit"])
        v_cust = events["customer_id"].to_numpy()[visit]
        o_cust = orders["customer_id"].to_numpy() if orders is not None else v_cust[:0]
        self.ids, (self.v_code, self.o_code) = _codes(v_cust, o_cust)
        self.v_sec = unix_seconds(events["timestamp"].to_numpy()[visit])
        self.o_sec = unix_seconds(orders["order_date"]) if orders is not None else np.zeros(0, np.int64)
        first = np.full(len(self.ids), np.iinfo(np.int64).max)
        np.minimum.at(first, self.v_code, self.v_sec)
        np.minimum.at(first, self.o_code, self.o_sec)
        self.first = first

    def features(self, when: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        """Per customer before ``when``: mean cos and sin of the visit hour, log visits and orders per month."""
        cut = int(unix_seconds(pd.DatetimeIndex([when]))[0])
        n_ids = len(self.ids)
        m = self.v_sec < cut
        code = self.v_code[m]
        angle = 2 * np.pi * (self.v_sec[m] % DAY) / DAY
        del m
        visits = np.bincount(code, minlength=n_ids)
        cos = np.bincount(code, np.cos(angle), n_ids) / np.maximum(visits, 1)
        sin = np.bincount(code, np.sin(angle), n_ids) / np.maximum(visits, 1)
        del code, angle
        orders = np.bincount(self.o_code[self.o_sec < cut], minlength=n_ids)
        months = np.maximum((cut - np.minimum(self.first, cut)) / (30.4375 * DAY), 1.0)
        return np.column_stack([cos, sin, np.log1p(visits / months), np.log1p(orders / months)]), visits > 0


def personas_as_of(
    events: pd.DataFrame,
    orders: pd.DataFrame | None,
    when,
    n_personas: int = 5,
    random_state: int = 0,
    max_fit: int = 100_000,
    _activity: _Activity | None = None,
) -> pd.Series:
    """Each customer's persona from what they did before ``when``: k-means on their activity.

    The features are the mean cosine and sine of the hour of day of their site visits (where on the clock they are
    active), and their visits and orders per month since their first activity (log scale), standardised. Customers
    with no site visit before ``when`` form persona ``n_personas`` (the last one). The centres are fitted on at most
    ``max_fit`` customers drawn at random (every customer is then assigned), so that a million customers cost
    little more than a hundred thousand.

    Parameters
    ----------
    events : DataFrame
        The events table (``customer_id, timestamp, event_type``); its ``site_visit`` rows are read.
    orders : DataFrame, optional
        Orders (``customer_id, order_date``).
    when : datetime-like
        Only activity strictly before this time counts.
    n_personas : int, default 5
        Number of k-means personas among customers with visits.
    random_state : int, default 0
        Seed of k-means and of the customers drawn for its centres.
    max_fit : int, default 100000
        At most this many customers fit the centres.

    Returns
    -------
    Series
        Persona (0 … ``n_personas``) indexed by customer_id, for every customer with a visit or an order.
    """
    from sklearn.cluster import KMeans

    if n_personas < 1:
        raise KPIError(f"personas_as_of: n_personas must be at least 1; got {n_personas}")
    act = _activity if _activity is not None else _Activity(events, orders)
    feats, active = act.features(pd.Timestamp(when))
    label = np.full(len(act.ids), n_personas)
    rows = np.flatnonzero(active)
    if len(rows) >= n_personas:
        z = feats[rows]
        z = (z - z.mean(0)) / np.where(z.std(0) > 0, z.std(0), 1.0)
        rng = np.random.default_rng(random_state)
        fit_rows = np.sort(rng.choice(len(rows), max_fit, replace=False)) if len(rows) > max_fit else slice(None)
        km = KMeans(n_personas, n_init=3, random_state=random_state).fit(z[fit_rows])
        label[rows] = km.predict(z)
    elif len(rows):
        label[rows] = 0
    out = pd.Series(label, index=pd.Index(act.ids, name="customer_id"), name="persona")
    out.attrs["n_personas"] = n_personas  # the label of customers without visits
    return out


def _lookup(index: pd.Index, ids: pd.Series) -> np.ndarray:
    """Position in ``index`` of each id (-1: not there); a categorical goes through its codes, one lookup per id."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        codes = ids.cat.codes.to_numpy()
        pos = index.get_indexer(ids.cat.categories.astype(str))[codes]
        pos[codes < 0] = -1
        return pos
    return index.get_indexer(ids.astype(str).to_numpy())


def _positions(campaigns: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    """Row positions in ``campaigns`` (indexed by campaign_id) of each send's campaign; every one must be there."""
    pos = _lookup(campaigns.index, ids)
    if (pos < 0).any():
        missing = pd.unique(ids.astype(str).to_numpy()[pos < 0])[:5]
        raise KPIError(
            f"AudienceModel: sends of campaigns missing from the campaigns table: {', '.join(map(str, missing))}"
        )
    return pos


def _draw(n: int, max_rows: int, random_state: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Positions of at most ``max_rows`` of ``n`` rows (of ``rows``, when given) drawn at random, in order."""
    rows = np.arange(n) if rows is None else rows
    if len(rows) <= max_rows:
        return rows
    return rows[np.sort(np.random.default_rng(random_state).choice(len(rows), max_rows, replace=False))]


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


class AudienceModel:
    """Per-recipient logistic models of opening a message, and of clicking it once opened.

    Features of a recipient at a send (all from :func:`send_history`, so known when it went out): the logit of
    their own open rate and click-per-open rate so far, shrunk towards the population's with ``prior_messages``
    messages' weight, how many messages they had, message fatigue, log days since their last visit or order and
    whether it is more than 60 days (or unknown); their persona (:func:`personas_as_of`) and, per persona, the cosine
    and sine of the send hour (so each persona has its own best hour) and the discount. Of the campaign: push or
    email, subject line, discount, December, August. The subject and discount effects of the campaigns of the last
    ``recent_days`` before the forecast date get terms of their own: a change in how customers respond shows in the
    forecast as soon as a few campaigns have seen it.

    Parameters
    ----------
    recent_days : float, default 90
        Campaigns this many days before the forecast date count as recent (0: no recent terms).
    prior_messages : float, default 5
        Weight of the population's rates in a recipient's smoothed rates, in messages.
    C : float, default 10
        Inverse L2 regularisation of the logistic models.
    max_rows : int, default 2000000
        At most this many sends (drawn at random) train the open model; the click model trains on their opens.
    random_state : int, default 0
        Seed of the rows drawn when there are more than ``max_rows``.
    half_life_days : float or None, default 180
        Weigh each past send by ``0.5 ** (age / half_life_days)``, its campaign's age in days at the forecast date,
        so that the years before a change in how customers respond count less (None: every send alike). Half a
        year: on the course world the forecast error falls from 1.45 to 1.38 times the noise floor, on a world of
        another seed from 2.51 to 2.44 (one year: 1.41, 2.47).
    """

    def __init__(
        self,
        recent_days: float = 90.0,
        prior_messages: float = 5.0,
        C: float = 10.0,
        max_rows: int = 2_000_000,
        random_state: int = 0,
        half_life_days: float | None = 180.0,
    ) -> None:
        self.recent_days = recent_days
        self.prior_messages = prior_messages
        self.C = C
        self.max_rows = max_rows
        self.random_state = random_state
        self.half_life_days = half_life_days

    def _design(self, sends: pd.DataFrame, campaigns: pd.DataFrame, personas: pd.Series, recent: np.ndarray):
        camp = campaigns.iloc[_positions(campaigns, sends["campaign_id"])]
        a = self.prior_messages
        n_before, o_before = sends["messages_before"].to_numpy(float), sends["opens_before"].to_numpy(float)
        open_rate = (o_before + a * self.open_rate_) / (n_before + a)
        click_rate = (sends["clicks_before"].to_numpy(float) + a * self.click_rate_) / (o_before + a)
        inactive = sends["days_inactive"].to_numpy(float)
        hour = 2 * np.pi * camp["send_hour"].to_numpy(float) / 24
        discount = camp["discount"].to_numpy(float)
        month = pd.DatetimeIndex(camp["date"]).month.to_numpy()
        subject = camp["subject_variant"].astype(str).to_numpy()
        subjects = np.column_stack([subject == s for s in self.subjects_[1:]]).astype(float).reshape(len(sends), -1)
        persona = personas.reindex(sends["customer_id"].to_numpy()).fillna(self.n_personas_).to_numpy(int)
        one_hot = (persona[:, None] == np.arange(self.n_personas_ + 1)[None, :]).astype(float)
        cols = [
            _logit(open_rate),
            np.log1p(n_before),
            _logit(click_rate),
            sends["fatigue"].to_numpy(float),
            np.log1p(np.nan_to_num(inactive, nan=999.0)),
            ~(inactive <= 60),
            sends["push"].to_numpy(float),
            np.cos(hour) * sends["visit_hour_cos"].to_numpy(float)
            + np.sin(hour) * sends["visit_hour_sin"].to_numpy(float),
            discount,
            month == 12,
            month == 8,
        ]
        blocks = [
            np.column_stack(cols).astype(float),
            subjects,
            one_hot,
            one_hot * np.cos(hour)[:, None],
            one_hot * np.sin(hour)[:, None],
            one_hot * discount[:, None],
        ]
        if self.recent_days > 0:
            blocks.append(np.column_stack([subjects, discount]) * recent[:, None])
        return np.hstack(blocks)

    def fit(self, sends: pd.DataFrame, campaigns: pd.DataFrame, personas: pd.Series, as_of) -> AudienceModel:
        """Fit on past sends (rows of :func:`send_history`) of the campaigns (indexed by campaign_id).

        Parameters
        ----------
        sends : DataFrame
            Rows of :func:`send_history` of past campaigns, with their outcomes.
        campaigns : DataFrame
            The campaigns, indexed by campaign_id: ``date, channel, send_hour, subject_variant, discount``.
        personas : Series
            Persona per customer_id (:func:`personas_as_of` at ``as_of``).
        as_of : datetime-like
            The forecast date: campaigns in the ``recent_days`` before it are recent.
        """
        from sklearn.linear_model import LogisticRegression

        if len(sends) == 0:
            raise KPIError("AudienceModel.fit: no past sends to learn from")
        _need(campaigns, "campaigns", ["date", "send_hour", "subject_variant", "discount"], "by the audience model")
        unknown = ~sends["campaign_id"].isin(campaigns.index)
        if unknown.any():
            raise KPIError(
                f"AudienceModel.fit: sends of campaigns missing from the campaigns table: "
                f"{', '.join(sends.loc[unknown, 'campaign_id'].astype(str).unique()[:5])}"
            )
        self.as_of_ = pd.Timestamp(as_of)
        self.n_personas_ = int(personas.attrs.get("n_personas", personas.max() if len(personas) else 0))
        self.subjects_ = sorted(campaigns["subject_variant"].astype(str).unique())
        opened = sends["opened"].to_numpy(bool)
        self.open_rate_ = float(np.clip(opened.mean(), 1e-3, 1 - 1e-3))
        self.click_rate_ = float(
            np.clip(sends["clicked"].to_numpy(bool)[opened].mean() if opened.any() else 0.5, 1e-3, 1 - 1e-3)
        )
        part = sends.iloc[_draw(len(sends), self.max_rows, self.random_state)]
        dates = pd.DatetimeIndex(campaigns["date"].to_numpy()[_positions(campaigns, part["campaign_id"])])
        recent = np.asarray(dates >= self.as_of_ - pd.Timedelta(days=self.recent_days), float)
        X = self._design(part, campaigns, personas, recent)
        y_open, y_click = part["opened"].to_numpy(bool), part["clicked"].to_numpy(bool)
        if y_open.all() or not y_open.any() or y_click[y_open].all() or not y_click[y_open].any():
            raise KPIError("AudienceModel.fit: the past sends need both opened and unopened, clicked and unclicked")
        weight = None
        if self.half_life_days is not None:
            if not self.half_life_days > 0:
                raise KPIError(f"AudienceModel: half_life_days must be positive or None; got {self.half_life_days}")
            age = ((self.as_of_ - dates) / pd.Timedelta(days=1)).to_numpy(float)
            weight = 0.5 ** (np.maximum(age, 0.0) / self.half_life_days)
        model = LogisticRegression(C=self.C, solver="newton-cholesky", max_iter=1000)
        self.open_model_ = model.fit(X, y_open, sample_weight=weight)
        self.click_model_ = LogisticRegression(C=self.C, solver="newton-cholesky", max_iter=1000).fit(
            X[y_open], y_click[y_open], sample_weight=None if weight is None else weight[y_open]
        )
        self.personas_ = personas
        return self

    def predict(self, sends: pd.DataFrame, campaigns: pd.DataFrame, chunk_rows: int = 1_000_000) -> pd.DataFrame:
        """Each planned recipient's P(open) and P(click) (= P(open) × P(click | open)), same rows as ``sends``.

        Parameters
        ----------
        sends : DataFrame
            Rows of :func:`send_history` for the planned recipients (outcomes not needed).
        campaigns : DataFrame
            The planned campaigns, indexed by campaign_id, with the columns :meth:`fit` needs.
        chunk_rows : int, default 1000000
            Sends predicted at a time (bounds memory).
        """
        if not hasattr(self, "open_model_"):
            raise KPIError("AudienceModel: call fit before predict")
        p_open, p_click = np.empty(len(sends)), np.empty(len(sends))
        for lo in range(0, len(sends), chunk_rows):  # the design matrix of a million sends at a time
            part = sends.iloc[lo : lo + chunk_rows]
            X = self._design(part, campaigns, self.personas_, np.ones(len(part)))
            p_open[lo : lo + len(part)] = self.open_model_.predict_proba(X)[:, 1]
            p_click[lo : lo + len(part)] = p_open[lo : lo + len(part)] * self.click_model_.predict_proba(X)[:, 1]
        return pd.DataFrame({"p_open": p_open, "p_click": p_click}, index=sends.index)


KPI_OF = {"open_rate": ("p_open", "opened"), "click_rate": ("p_click", "clicked")}


def _per_campaign(sends: pd.DataFrame, pred: pd.DataFrame) -> pd.DataFrame:
    """Per campaign: trials, observed open and click rates, forecast rates and their binomial variances."""
    p_open, p_click = pred["p_open"].to_numpy(), pred["p_click"].to_numpy()
    frame = pd.DataFrame(
        {
            "campaign_id": sends["campaign_id"].to_numpy(),
            "opened": sends["opened"].to_numpy(float),
            "clicked": sends["clicked"].to_numpy(float),
            "p_open": p_open,
            "p_click": p_click,
            "v_open": p_open * (1 - p_open),
            "v_click": p_click * (1 - p_click),
        }
    )
    g = frame.groupby("campaign_id", sort=True, observed=True)
    out = g.sum()
    out.index = out.index.astype(str)
    out["trials"] = g.size().to_numpy()
    n = out[["trials"]].to_numpy(float)
    out[["opened", "clicked", "p_open", "p_click"]] = out[["opened", "clicked", "p_open", "p_click"]].to_numpy() / n
    out[["v_open", "v_click"]] = out[["v_open", "v_click"]].to_numpy() / n**2
    return out


def _relative_error_var(per: pd.DataFrame, p: str, y: str, v: str) -> float:
    """The model's own squared relative error: what the residuals hold beyond the binomial noise."""
    excess = (per[y] - per[p]) ** 2 - per[v]
    return float(max(np.mean(excess / np.maximum(per[p], 1e-9) ** 2), 0.0))


def audience_cv(
    sends: pd.DataFrame,
    campaigns: pd.DataFrame,
    events: pd.DataFrame,
    orders: pd.DataFrame | None = None,
    n_splits: int = 12,
    test_size: int = 10,
    n_personas: int = 5,
    level: float = 0.95,
    seed: int = 0,
    **model_params,
) -> dict[str, pd.DataFrame]:
    """Time-ordered cross-validation of :class:`AudienceModel`, campaign by campaign, with intervals.

    The campaigns are ordered by date; each of the ``n_splits`` folds trains on every campaign before it (personas
    as of the fold's first campaign) and forecasts the next ``test_size``. A campaign's forecast rate is the mean of
    its recipients' probabilities. Its interval adds the binomial variance of the recipients' draws to the model's
    own relative error, estimated from the residuals of the earlier folds (the first fold: from its training
    campaigns).

    Returns, per KPI (``open_rate``, ``click_rate``), one row per held-out campaign with the columns of
    :func:`helpers.forecasting.forecast_cv` (``model`` is ``"audience"``) and ``lower``, ``upper``.

    Parameters
    ----------
    sends : DataFrame
        :func:`send_history` of the events.
    campaigns : DataFrame
        The campaigns table: ``campaign_id, date, channel, send_hour, subject_variant, discount``.
    events : DataFrame
        The events table (site visits make the personas).
    orders : DataFrame, optional
        Orders (``customer_id, order_date``), for the personas.
    n_splits : int, default 12
        Number of time-ordered folds.
    test_size : int, default 10
        Campaigns per fold.
    n_personas : int, default 5
        Personas of :func:`personas_as_of`.
    level : float, default 0.95
        Coverage of the intervals.
    seed : int, default 0
        Random seed (personas, rows drawn).
    **model_params
        Passed to :class:`AudienceModel`.
    """
    from sklearn.model_selection import TimeSeriesSplit

    if not 0 < level < 1:
        raise KPIError(f"audience_cv: level must be between 0 and 1; got {level}")
    _need(campaigns, "campaigns", ["campaign_id", "date", "send_hour", "subject_variant", "discount"], "to forecast")
    c = (
        campaigns.assign(campaign_id=campaigns["campaign_id"].astype(str), date=pd.to_datetime(campaigns["date"]))
        .sort_values(["date", "campaign_id"], kind="stable")
        .reset_index(drop=True)
    )
    # each send's campaign as its place in date order (-1: not in the table); the folds then take their rows by
    # position, and only the rows a fold uses are copied (a million customers send tens of millions of messages)
    rank = _lookup(pd.Index(c["campaign_id"]), sends["campaign_id"])
    has_sends = np.bincount(rank[rank >= 0], minlength=len(c)) > 0
    rank = np.where(rank >= 0, (np.cumsum(has_sends) - 1)[np.maximum(rank, 0)], -1)
    c = c[has_sends].reset_index(drop=True)
    if len(c) < n_splits + 1:
        raise KPIError(f"audience_cv: {len(c)} campaigns with sends are too few for {n_splits} folds")
    test_size = min(test_size, len(c) // (n_splits + 1))
    table = c.set_index("campaign_id")
    activity = _Activity(events, orders)
    z = stats.norm.ppf(0.5 + level / 2)
    folds: list[pd.DataFrame] = []
    errors: dict[str, list[pd.DataFrame]] = {"open_rate": [], "click_rate": []}
    for fold, (_, te) in enumerate(TimeSeriesSplit(n_splits=n_splits, test_size=test_size).split(c)):
        as_of = c.loc[te[0], "date"].normalize()
        personas = personas_as_of(events, orders, as_of, n_personas, seed, _activity=activity)
        model = AudienceModel(random_state=seed, **model_params)
        # the folds are in date order: training is every campaign ranked before the first held-out one
        train = sends.iloc[_draw(len(sends), model.max_rows, seed, np.flatnonzero((rank >= 0) & (rank < te[0])))]
        test = sends.iloc[np.flatnonzero((rank >= te[0]) & (rank <= te[-1]))]
        model.fit(train, table, personas, as_of)
        per = _per_campaign(test, model.predict(test, table))
        if fold == 0:  # no earlier fold: the model's error on its own training campaigns (those it was fitted on)
            seen = _per_campaign(train, model.predict(train, table))
        for kpi, (p, y) in KPI_OF.items():
            v = "v_" + p[2:]
            past = pd.concat(errors[kpi]) if errors[kpi] else seen
            rel = _relative_error_var(past, p, y, v)
            sd = np.sqrt(per[v] + rel * per[p] ** 2)
            folds.append(
                pd.DataFrame(
                    {
                        "kpi": kpi,
                        "model": "audience",
                        "fold": fold,
                        "campaign_id": per.index,
                        "date": table.loc[per.index, "date"].to_numpy(),
                        "trials": per["trials"].to_numpy(float),
                        "observed": per[y].to_numpy(),
                        "predicted": per[p].to_numpy(),
                        "lower": np.clip(per[p] - z * sd, 0, 1).to_numpy(),
                        "upper": np.clip(per[p] + z * sd, 0, 1).to_numpy(),
                    }
                )
            )
            errors[kpi].append(per)
    out = pd.concat(folds, ignore_index=True).sort_values(["kpi", "date", "campaign_id"], kind="stable")
    return {kpi: d.drop(columns="kpi").reset_index(drop=True) for kpi, d in out.groupby("kpi", sort=False)}


def coverage(cv: pd.DataFrame) -> float:
    """Share of held-out campaigns whose observed rate lies in the forecast interval (:func:`audience_cv`).

    Parameters
    ----------
    cv : DataFrame
        One KPI's table of :func:`audience_cv` (``observed``, ``lower``, ``upper``).
    """
    _need(cv, "cv", ["observed", "lower", "upper"], "for the coverage")
    if cv.empty:
        raise KPIError("coverage: no held-out campaigns")
    return float(((cv["observed"] >= cv["lower"]) & (cv["observed"] <= cv["upper"])).mean())
