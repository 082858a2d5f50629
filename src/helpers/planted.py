"""The planted models of the synthetic world, written once: the generator samples from them, the oracles evaluate them.

* :class:`ResponseModel` — how a recipient answers a campaign message (open, click, order, unsubscribe);
* :class:`ChurnModel` — each customer's monthly churn hazard, and its change on the drift date;
* :class:`UpliftTest` — the randomised test of several treatments sent after the history ends: what each arm
  sends, and how a message changes a recipient's chance to buy in the window.

Their values go into ``truth.json`` (``response_model`` and ``churn_model``) together with a description made
from those values, so the text a learner reads and the numbers the world was drawn with cannot drift apart. The
lessons' oracles rebuild the same objects from a truth file with :meth:`ResponseModel.from_truth` and
:meth:`ChurnModel.from_truth`.

Examples
--------
>>> rm = ResponseModel()
>>> round(float(rm.p_unsubscribe(np.array([0.0]))[0]), 6)
0.001501
>>> ResponseModel.from_truth({"response_model": rm.to_dict()}) == rm
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .timeline import DAYS_PER_MONTH

__all__ = ["sigmoid", "ResponseModel", "ChurnModel", "UpliftTest"]


def sigmoid(x: Any) -> np.ndarray:
    """The logistic function ``1 / (1 + e^{-x})``, elementwise: the link of every planted probability.

    >>> sigmoid(np.array([0.0])).tolist()
    [0.5]
    """
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _truth_fields(cls: Any, truth: Any, key: str, extra: tuple[str, ...] = ()) -> tuple[dict[str, Any], Any]:
    """The dataclass ``cls``'s field values in truth ``key`` (and the entry itself); names what an old file lacks."""
    values = truth[key]
    missing = [f.name for f in fields(cls) if f.name not in values] + [x for x in extra if x not in values]
    if missing:
        raise ValueError(
            f"truth {key} lacks {missing}: regenerate the world with this version of the course "
            "(python -m helpers.synth)"
        )
    return {f.name: values[f.name] for f in fields(cls)}, values


def _mapping(**values: float) -> Any:
    return field(default_factory=lambda: dict(values))


@dataclass(frozen=True)
class ResponseModel:
    """The planted per-recipient response to a campaign message.

    All effects are on the logit scale. With ``d = discount_effect * discount_sensitivity[segment] * discount``:

    * open: ``open_logit[segment] + customer offset + channel_open + hour term + subject effect + season
      - fatigue_gamma * fatigue - churned_open_penalty if the customer has churned``, where the hour term is
      ``hour_amplitude * (cos(2 pi (hour - peak_hour[segment]) / 24) - 1)``;
    * click given open: ``click_logit[segment] + channel_click + click_discount_share * d + content effect``;
    * order given click: ``conv_logit + d`` (0 once churned);
    * unsubscribe (email): ``unsubscribe_logit + unsubscribe_per_fatigue * fatigue``.

    Fatigue adds 1 per message and decays with time constant ``fatigue_tau_days``. The subject and discount
    effects change on the drift date (``*_before`` / ``*_after``). Segment parameters (open and click logits,
    peak hour, discount sensitivity) live in truth ``segments``; the customer offset is drawn per customer with
    standard deviation ``customer_offset_sd`` and is not written out.
    """

    channel_open: dict[str, float] = _mapping(email=0.0, push=0.6)
    channel_click: dict[str, float] = _mapping(email=0.0, push=-0.5)
    channel_cost_per_send: dict[str, float] = _mapping(email=0.004, push=0.002)
    fixed_cost_per_campaign: float = 250.0
    customer_offset_sd: float = 0.3
    hour_amplitude: float = 1.1
    season_december: float = 0.2
    season_august: float = -0.15
    fatigue_gamma: float = 0.18
    fatigue_tau_days: float = 10.0
    churned_open_penalty: float = 2.5
    click_discount_share: float = 0.4
    conv_logit: float = -0.9
    subject_effect_before: dict[str, float] = _mapping(plain=0.0, personalised=0.25, urgency=0.15, question=0.05)
    subject_effect_after: dict[str, float] = _mapping(plain=0.0, personalised=0.25, urgency=-0.20, question=0.05)
    discount_effect_before: float = 6.0
    discount_effect_after: float = 3.0
    unsubscribe_logit: float = -6.5
    unsubscribe_per_fatigue: float = 0.35
    attribution_days: float = 7.0
    holdout_share: float = 0.10

    @property
    def subjects(self) -> tuple[str, ...]:
        """The subject lines, in the order of the codes :meth:`respond` takes."""
        return tuple(self.subject_effect_before)

    # ---- the terms of the model
    def season_logit(self, when: Any) -> np.ndarray:
        """Seasonal shift of the open logit at datetime64 times: ``season_december``, ``season_august``, else 0.

        >>> ResponseModel().season_logit(np.array(["2024-12-05", "2024-08-01"], "datetime64[D]")).tolist()
        [0.2, -0.15]
        """
        month = np.asarray(when).astype("datetime64[M]").astype(int) % 12
        return np.where(month == 11, self.season_december, np.where(month == 7, self.season_august, 0.0))

    def hour_logit(self, hour: Any, peak_hour: Any) -> np.ndarray:
        """The open-logit change of sending at ``hour`` rather than at the segment's ``peak_hour`` (0 at the peak)."""
        return self.hour_amplitude * (np.cos(2 * np.pi * (np.asarray(hour) - peak_hour) / 24.0) - 1.0)

    def open_curve(self, open_logit: float, peak_hour: float, hours: Any = None) -> np.ndarray:
        """P(open) by send hour for a fresh email recipient (no fatigue, plain subject, no season, offset 0)."""
        hours = np.arange(24) if hours is None else np.asarray(hours)
        return sigmoid(open_logit + self.hour_logit(hours, peak_hour))

    def p_unsubscribe(self, fatigue: Any) -> np.ndarray:
        """P(an email makes its recipient unsubscribe) at a fatigue level."""
        return sigmoid(self.unsubscribe_logit + self.unsubscribe_per_fatigue * np.asarray(fatigue))

    def steady_fatigue(self, spacing_days: Any) -> np.ndarray:
        """Fatigue just before a message when messages come every ``spacing_days``: ``1 / (e^{d / tau} - 1)``."""
        return 1.0 / np.expm1(np.asarray(spacing_days, float) / self.fatigue_tau_days)

    def respond(
        self,
        *,
        open_logit: np.ndarray,
        click_logit: np.ndarray,
        peak_hour: np.ndarray,
        discount_sensitivity: np.ndarray,
        offset: Any,
        channel: str,
        hour: np.ndarray,
        when: np.ndarray,
        after_drift: np.ndarray,
        subject: Any,
        discount: Any,
        fatigue: Any,
        alive: np.ndarray,
        subject_extra: Any = 0.0,
        content_extra: Any = 0.0,
    ) -> dict[str, np.ndarray]:
        """Per-recipient probabilities of open, click given open, order given click, and unsubscribe.

        Segment parameters come per recipient (already indexed by each one's segment); ``subject`` holds codes
        into :attr:`subjects`; ``when`` the send times (datetime64); ``subject_extra`` and
        ``content_extra`` are an experiment's planted variant effects on the open and click logits.
        """
        subject_before = np.array([self.subject_effect_before[x] for x in self.subjects])[subject]
        subject_after = np.array([self.subject_effect_after[x] for x in self.subjects])[subject]
        eta_open = (
            open_logit
            + offset
            + self.channel_open[channel]
            + self.hour_logit(hour, peak_hour)
            + np.where(after_drift, subject_after, subject_before)
            + subject_extra
            + self.season_logit(when)
            - self.fatigue_gamma * fatigue
            - np.where(alive, 0.0, self.churned_open_penalty)
        )
        d = (
            np.where(after_drift, self.discount_effect_after, self.discount_effect_before)
            * discount_sensitivity
            * discount
        )
        eta_click = click_logit + self.channel_click[channel] + self.click_discount_share * d + content_extra
        eta_conv = self.conv_logit + d
        return dict(
            open=sigmoid(eta_open),
            click=sigmoid(eta_click),
            conv=np.where(alive, sigmoid(eta_conv), 0.0),
            unsub=self.p_unsubscribe(fatigue),
        )

    # ---- truth.json
    def to_dict(self) -> dict[str, Any]:
        """The values written to truth ``response_model``."""
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_truth(cls, truth: Any) -> ResponseModel:
        """The model a truth file describes (a :class:`helpers.world.Truth` or a mapping of key -> value)."""
        return cls(**_truth_fields(cls, truth, "response_model")[0])

    def describe(self) -> str:
        """The description of truth ``response_model``, made from the values."""

        def signed(x: float) -> str:
            return f"+{x:g}" if x >= 0 else f"{x:g}"

        return (
            "Per-recipient campaign response. open: sigmoid(open_logit[segment] + customer offset (normal, sd "
            f"{self.customer_offset_sd:g}) + channel_open + hour_amplitude * (cos(2 pi (hour - peak_hour[segment]) "
            f"/ 24) - 1) + subject effect + season ({signed(self.season_december)} December, "
            f"{signed(self.season_august)} August) - fatigue_gamma * fatigue - {self.churned_open_penalty:g} if "
            "churned). Fatigue: each message adds 1, decaying with time constant fatigue_tau_days. click given "
            f"open: sigmoid(click_logit[segment] + channel_click + {self.click_discount_share:g} * d + content "
            "effect); order given click: sigmoid(conv_logit + d), with d = discount_effect * "
            "discount_sensitivity[segment] * discount; 0 if churned. Unsubscribe (email): "
            f"sigmoid({self.unsubscribe_logit:g} + {self.unsubscribe_per_fatigue:g} * fatigue). Conversions are "
            "customers with an order within attribution_days. Every number named here is a value of this entry."
        )


@dataclass(frozen=True)
class ChurnModel:
    """The planted churn hazard.

    Time to churn runs from ``max(signup, start)`` with a constant monthly hazard
    ``h_segment * exp(loyalty_coef * loyalty_member + age_per_decade_coef * (age - age_centre) / 10)``; from the
    drift date the hazard of the drift segment is multiplied by ``drift_multiplier``.
    """

    loyalty_coef: float = -0.5
    age_per_decade_coef: float = 0.1
    age_centre: float = 40.0
    drift_multiplier: float = 2.0

    def hazard(self, segment_hazard: Any, loyalty: Any, age: Any) -> np.ndarray:
        """Each customer's monthly hazard before the drift date."""
        return segment_hazard * np.exp(
            self.loyalty_coef * np.asarray(loyalty)
            + self.age_per_decade_coef * (np.asarray(age) - self.age_centre) / 10
        )

    def hazard_as_of(self, hazard: Any, in_drift_segment: Any, after_drift: bool) -> np.ndarray:
        """The monthly hazard in force at a date: the drift segment's is multiplied once the drift has begun."""
        hazard = np.asarray(hazard, float)
        if not after_drift:
            return hazard
        return np.where(in_drift_segment, hazard * self.drift_multiplier, hazard)

    def to_dict(self, drift_segment: str) -> dict[str, Any]:
        """The values written to truth ``churn_model`` (with the world's drift segment)."""
        return {**asdict(self), "drift_segment": drift_segment}

    @classmethod
    def from_truth(cls, truth: Any) -> tuple[ChurnModel, str]:
        """The model and the drift segment's name a truth file describes."""
        kw, values = _truth_fields(cls, truth, "churn_model", ("drift_segment",))
        return cls(**kw), values["drift_segment"]

    def describe(self, start: str) -> str:
        """The description of truth ``churn_model``, made from the values (``start``: the world's first day)."""
        return (
            f"Churn: time to churn from max(signup, {start}) has monthly hazard h_segment * "
            f"exp({self.loyalty_coef:g} * loyalty_member + {self.age_per_decade_coef:g} * (age - "
            f"{self.age_centre:g}) / 10); from the drift date the hazard of `drift_segment` is multiplied by "
            f"{self.drift_multiplier:g} (`drift_multiplier`). A churned customer places no orders, starts no "
            "sessions and rarely opens messages."
        )


@dataclass(frozen=True)
class UpliftTest:
    """The planted test campaign of several treatments: who buys in its window, with and without a message.

    Every customer who may receive email on ``send_date`` (consent, not unsubscribed) is drawn at random into one of
    ``arms`` with equal shares; the first arm is the control, sent nothing. A recipient buys in the
    ``window_days`` after the send time if either of two things happens:

    * an **organic** purchase, with probability ``1 - exp(-orders_per_month * window_days / DAYS_PER_MONTH)`` for a
      customer still active (0 once churned) — multiplied by ``sleeping_dog_factor`` when a customer of the
      ``sleeping_dog_segment`` is sent any message (promotions teach regulars to wait for the next deal);
    * a purchase **through the message**: open x click x order of :class:`ResponseModel` at ``send_hour`` with
      the plain subject, the arm's discount (``discounts``), and for the next-best-offer arm the click effect
      ``nbo_click_effect`` when the customer has at least ``nbo_min_orders`` past orders (recommendations need a
      history).

    So a treated recipient buys with ``1 - (1 - f p_organic)(1 - p_message)`` and a control with ``p_organic``;
    the difference is the recipient's true uplift. A buyer's order is worth their segment's mean list value
    (``order_value`` in truth) times a Gamma draw of mean 1 and shape ``order_value_shape``, less the arm's
    discount on every order of the window (organic ones too: the code is in the email). Profit is
    ``gross_margin`` of list value less the discount, less each message's cost.
    """

    arms: tuple[str, ...] = ("control", "reminder", "discount", "nbo")
    discounts: dict[str, float] = _mapping(control=0.0, reminder=0.0, discount=0.10, nbo=0.0)
    send_date: str = "2026-01-06"
    send_hour: int = 10
    window_days: float = 7.0
    nbo_click_effect: float = 0.6
    nbo_min_orders: int = 2
    sleeping_dog_factor: float = 0.93
    order_value_shape: float = 2.0
    gross_margin: float = 0.35

    @property
    def control(self) -> str:
        """The arm sent nothing."""
        return self.arms[0]

    def p_organic(self, orders_per_month: Any, active: Any) -> np.ndarray:
        """P(an organic purchase in the window) at a monthly order rate, 0 for a churned customer."""
        rate = np.where(active, np.asarray(orders_per_month, float), 0.0)
        return -np.expm1(-rate * self.window_days / DAYS_PER_MONTH)

    def p_buy(self, p_organic: Any, p_message: Any, sleeping_dog: Any) -> np.ndarray:
        """P(buying in the window) of a recipient sent a message: organic (damped for sleeping dogs) or through it."""
        organic = np.asarray(p_organic, float) * np.where(sleeping_dog, self.sleeping_dog_factor, 1.0)
        return 1.0 - (1.0 - organic) * (1.0 - np.asarray(p_message, float))

    def to_dict(self, sleeping_dog_segment: str) -> dict[str, Any]:
        """The values written to truth ``uplift_test`` (with the world's sleeping-dog segment)."""
        d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in asdict(self).items()}
        return {**d, "arms": list(self.arms), "sleeping_dog_segment": sleeping_dog_segment}

    @classmethod
    def from_truth(cls, truth: Any) -> tuple[UpliftTest, str]:
        """The test a truth file describes, and its sleeping-dog segment's name."""
        kw, values = _truth_fields(cls, truth, "uplift_test", ("sleeping_dog_segment",))
        return cls(**{**kw, "arms": tuple(kw["arms"])}), values["sleeping_dog_segment"]

    def describe(self) -> str:
        """The description of truth ``uplift_test``, made from the values."""
        arms = ", ".join(self.arms)
        return (
            f"A randomised test sent on {self.send_date} at {self.send_hour}:00 (after the history ends) to every "
            f"customer who may receive email, in equal shares to the arms {arms}; {self.control} is sent nothing. "
            f"Outcome: an order in the {self.window_days:g} days after the send time. A recipient buys organically "
            "with probability 1 - exp(-orders_per_month * window_days / 30.4375) if still active (0 once churned), "
            f"times sleeping_dog_factor ({self.sleeping_dog_factor:g}) when a customer of sleeping_dog_segment is "
            "sent any message; or through the message: open x click x order of the response model (plain subject, "
            f"the arm's discount from `discounts`, and +{self.nbo_click_effect:g} on the click logit in the nbo arm "
            f"for customers with at least {self.nbo_min_orders} past orders). A buyer's order is worth the segment's "
            f"mean list value (`order_value`) times a Gamma draw (mean 1, shape {self.order_value_shape:g}), less the "
            f"arm's discount on every order in the window; profit is gross_margin ({self.gross_margin:g}) of list "
            "value less the discount, less the message's cost. Per recipient, `recipients` gives the arm and the true "
            "probability of buying under each arm (p_<arm>), of opening if sent (p_open) and of clicking under each "
            "sending arm (p_click_<arm>)."
        )
