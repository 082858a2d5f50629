"""Campaign workflows as data: a trigger event, then waits, conditions and actions (touchpoints), with branches.

A workflow is a dict (or YAML text) that :meth:`Workflow.from_dict` (:meth:`Workflow.from_yaml`) validates: unknown
trigger events, step types,
conditions, channels or offers, dangling links, unreachable steps and cycles are refused with a message that
names the step. :meth:`Workflow.draw` draws it; :func:`cart_recovery` and :func:`cross_sell` are the two ready
workflows of lesson 05.

:func:`simulate` replays the world's history through a workflow. Every trigger event (an abandoned cart, an
order) is an *entry*; customers are split at random into a target group, whose entries walk the workflow, and a
control group, whose entries get nothing. What customers did anyway is read from the data (orders,
unsubscribes); what a touchpoint adds is drawn from a :class:`Response` — the world's planted response
(:meth:`Response.planted`) or, on a team's own data, stated assumptions (:meth:`Response.assumed`). A
simulation also returns the oracle: the expected uplift of the workflow on exactly these entries, which the
target-versus-control estimate (:func:`helpers.kpis.uplift_by_customer`) must cover.

Example (a workflow as data)::

    {"name": "abandoned-cart recovery", "trigger": "cart_abandon", "goal_hours": 72,
     "steps": [{"id": "wait_1h", "type": "wait", "hours": 1, "next": "check_1"},
               {"id": "check_1", "type": "condition", "if": ["purchased", "unsubscribed"],
                "yes": "end", "no": "reminder"},
               {"id": "reminder", "type": "action", "channel": "email", "offer": "reminder", "next": "end"},
               {"id": "end", "type": "stop"}]}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .kpis import clustered_uplift
from .planted import ResponseModel
from .sampling import sample_positions
from .timeline import unix_seconds
from .world import EVENT_TYPES

__all__ = [
    "WorkflowError",
    "Workflow",
    "Response",
    "Simulation",
    "cart_recovery",
    "cross_sell",
    "simulate",
    "Simulator",
    "STEP_TYPES",
    "CONDITIONS",
    "CHANNELS",
    "OFFERS",
    "TRIGGERS",
    "MESSAGE_COST",
    "COVERAGE_CUSTOMERS",
]

TRIGGERS = (*EVENT_TYPES, "purchase")
STEP_TYPES = ("wait", "condition", "action", "stop")
CONDITIONS = {
    "purchased": "the customer ordered since the trigger",
    "unsubscribed": "the customer unsubscribed from email before now",
    "email_consent": "the customer consented to email and has not unsubscribed",
}
CHANNELS = ("email", "sms", "push")
OFFERS = {
    "reminder": "a reminder of the abandoned cart",
    "discount": "a discount on the cart (field discount, e.g. 0.1)",
    "nbo": "the customer's next best offer (lesson 03's offers.csv)",
}
#: cost per message; email and push are the world's planted costs, SMS is an assumption of the course
MESSAGE_COST = {**ResponseModel().channel_cost_per_send, "sms": 0.05}
#: customers a lesson checks interval coverage on at most (:meth:`Simulator.sample`): a hundred replays of every
#: entry of a large export cost minutes, while coverage is a property of the interval settled on far fewer
COVERAGE_CUSTOMERS = 200_000
#: the keys of a step that link to other steps, by step type
_LINKS = {"wait": ("next",), "action": ("next",), "condition": ("yes", "no"), "stop": ()}


class WorkflowError(ValueError):
    """A workflow that cannot run; the message names the step and the fix."""


@dataclass(frozen=True)
class Workflow:
    """A validated workflow: ``steps`` maps step id -> step dict; ``start`` is the first step.

    Parameters
    ----------
    name : str
        The workflow's name.
    trigger : str
        The event type that enters a customer.
    goal_hours : float
        Hours after entry within which a purchase counts as the goal.
    steps : dict of str to dict
        Step id to step (``type`` wait, condition, action or stop, and its fields).
    start : str
        The first step's id.
    description : str, default ""
        What the workflow is for.
    order : tuple of str, default ()
        The order to list the steps in; default: as in ``steps``.
    """

    name: str
    trigger: str
    goal_hours: float
    steps: dict[str, dict[str, Any]]
    start: str
    description: str = ""
    order: tuple[str, ...] = field(default=(), repr=False)

    # ------------------------------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Workflow:
        """Validate a workflow given as data; see the module docstring for the layout.

        Parameters
        ----------
        spec : mapping
            The workflow: ``name``, ``trigger``, ``goal_hours``, ``start`` and ``steps`` (see the module docstring).
        """
        if not isinstance(spec, Mapping):
            raise WorkflowError("a workflow is a mapping with name, trigger, goal_hours and steps")
        name = str(spec.get("name", "workflow"))
        where = f"workflow {name!r}"
        for key in ("trigger", "steps"):
            if key not in spec:
                raise WorkflowError(f"{where}: missing {key!r}")
        trigger = spec["trigger"]
        if trigger not in TRIGGERS:
            raise WorkflowError(
                f"{where}: unknown trigger event {trigger!r}; the events table has {', '.join(TRIGGERS)}"
            )
        goal = float(spec.get("goal_hours", 72))
        if not goal > 0:
            raise WorkflowError(f"{where}: goal_hours must be > 0 (conversions are counted in that window)")
        raw = spec["steps"]
        if not raw:
            raise WorkflowError(f"{where}: no steps")
        steps: dict[str, dict[str, Any]] = {}
        for i, st in enumerate(raw):
            sid = st.get("id")
            if not sid:
                raise WorkflowError(f"{where}: step {i} has no id")
            if sid in steps:
                raise WorkflowError(f"{where}: two steps are called {sid!r}; step ids must be unique")
            steps[sid] = dict(st)
        for sid, st in steps.items():
            _check_step(where, sid, st, steps)
        start = spec.get("start", raw[0]["id"])
        if start not in steps:
            raise WorkflowError(f"{where}: start step {start!r} does not exist")
        order = _topological(where, start, steps)
        unreachable = [s for s in steps if s not in order]
        if unreachable:
            raise WorkflowError(
                f"{where}: step(s) {', '.join(unreachable)} cannot be reached from {start!r}; link them or remove them"
            )
        return cls(
            name=name,
            trigger=trigger,
            goal_hours=goal,
            steps=steps,
            start=start,
            description=str(spec.get("description", "")),
            order=tuple(order),
        )

    def to_dict(self) -> dict[str, Any]:
        """The workflow as data again (``Workflow.from_dict(w.to_dict()) == w``)."""
        return {
            "name": self.name,
            "description": self.description,
            "trigger": self.trigger,
            "goal_hours": self.goal_hours,
            "start": self.start,
            "steps": [copy.deepcopy(self.steps[s]) for s in self.order],
        }

    @classmethod
    def from_yaml(cls, text: str) -> Workflow:
        """Validate a workflow written in YAML (the same layout as the dict).

        Parameters
        ----------
        text : str
            The workflow in YAML, in the layout of :meth:`from_dict`.
        """
        import yaml

        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise WorkflowError(f"the workflow is not valid YAML: {error}") from None
        return cls.from_dict(spec)

    def to_yaml(self) -> str:
        """The workflow as YAML text (``Workflow.from_yaml(w.to_yaml()) == w``)."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def edges(self) -> list[tuple[str, str, str]]:
        """(from, to, label) for every link; labels are "yes"/"no" after a condition, "" otherwise."""
        return [
            (sid, st[key], "" if key == "next" else key)
            for sid in self.order
            for st in [self.steps[sid]]
            for key in _LINKS[st["type"]]
        ]

    def table(self) -> pd.DataFrame:
        """One row per step in walking order: type, what it does, where it goes."""
        rows = []
        for sid in self.order:
            st = self.steps[sid]
            rows.append(
                dict(
                    step=sid,
                    type=st["type"],
                    does=_label(st).replace("\n", " "),
                    next=st.get("next", "")
                    or (f"yes: {st['yes']}, no: {st['no']}" if st["type"] == "condition" else ""),
                )
            )
        return pd.DataFrame(rows).set_index("step")

    def draw(self, ax=None):
        """Draw the workflow top-down: trigger, then steps by depth, branches side by side.

        Parameters
        ----------
        ax : Axes, optional
            The axis to draw on; default: a new figure.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 7))
        depth = {"__trigger__": 0, self.start: 1}
        for a, b, _ in self.edges():  # edges follow the topological order: longest path depth
            depth[b] = max(depth.get(b, 0), depth[a] + 1)
        levels: dict[int, list[str]] = {}
        for sid in self.order:
            levels.setdefault(depth[sid], []).append(sid)
        pos = {"__trigger__": (0.0, 0.0)}
        for d, ids in levels.items():
            for j, sid in enumerate(ids):
                pos[sid] = (j - (len(ids) - 1) / 2, -float(d))
        colours = {"wait": "#f2f2f2", "condition": "#fff2cc", "action": "#d9ead3", "stop": "#f4cccc"}
        ax.text(
            *pos["__trigger__"],
            f"trigger\n{self.trigger}",
            ha="center",
            va="center",
            fontsize=8,
            bbox=dict(boxstyle="round,pad=0.4", fc="#cfe2f3", ec="0.3"),
        )
        for sid in self.order:
            st = self.steps[sid]
            ax.text(
                *pos[sid],
                _label(st),
                ha="center",
                va="center",
                fontsize=8,
                bbox=dict(
                    boxstyle="round,pad=0.4" if st["type"] != "condition" else "sawtooth,pad=0.4",
                    fc=colours[st["type"]],
                    ec="0.3",
                ),
            )
        lane = max(p[0] for p in pos.values()) + 0.75  # edges that skip levels run down a lane on the right
        for a, b, lab in [("__trigger__", self.start, ""), *self.edges()]:
            (x0, y0), (x1, y1) = pos[a], pos[b]
            if depth[b] - depth[a] == 1:
                ax.annotate(
                    "",
                    xy=(x1, y1 + 0.28),
                    xytext=(x0, y0 - 0.28),
                    arrowprops=dict(arrowstyle="->", color="0.35", shrinkA=0, shrinkB=0),
                )
                if lab:
                    ax.text((x0 + x1) / 2 + 0.06, (y0 + y1) / 2, lab, fontsize=7, color="0.25", va="center")
            else:
                ax.plot([x0 + 0.5, lane, lane], [y0, y0, y1], color="0.35", lw=1)
                ax.annotate(
                    "",
                    xy=(x1 + 0.3, y1),
                    xytext=(lane, y1),
                    arrowprops=dict(arrowstyle="->", color="0.35", shrinkA=0, shrinkB=0),
                )
                if lab:
                    ax.text(x0 + 0.55, y0 + 0.06, lab, fontsize=7, color="0.25", va="bottom")
                lane += 0.18
        xs = [p[0] for p in pos.values()] + [lane]
        ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
        ax.set_ylim(-max(depth.values()) - 0.6, 0.6)
        ax.set_axis_off()
        ax.set_title(f"{self.name} (conversions counted for {self.goal_hours:g} h)", fontsize=9)
        return ax


def _label(st: dict[str, Any]) -> str:
    t = st["type"]
    if t == "wait":
        return f"wait {st['hours']:g} h"
    if t == "condition":
        return " or\n".join(_conditions(st)) + "?"
    if t == "action":
        extra = f" {st['discount']:.0%}" if st["offer"] == "discount" else ""
        return f"{st['channel']}: {st['offer']}{extra}"
    return "stop"


def _conditions(st: dict[str, Any]) -> list:
    """A condition step's ``if`` as a list (a single name or a list meaning "any of")."""
    cond = st.get("if")
    return cond if isinstance(cond, list) else [cond]


def _check_step(where: str, sid: str, st: dict[str, Any], steps: dict[str, dict]) -> None:
    t = st.get("type")
    here = f"{where}, step {sid!r}"
    if t not in STEP_TYPES:
        raise WorkflowError(f"{here}: unknown type {t!r}; a step is one of {', '.join(STEP_TYPES)}")
    for key in _LINKS[t]:
        if key not in st:
            raise WorkflowError(f"{here}: a {t} step needs {key!r}")
        if st[key] not in steps:
            raise WorkflowError(f"{here}: {key} -> {st[key]!r}, which is not a step")
    if t == "wait":
        h = st.get("hours")
        if not isinstance(h, (int, float)) or not h > 0:
            raise WorkflowError(f"{here}: a wait needs hours > 0, got {h!r}")
    elif t == "condition":
        conds = _conditions(st)
        unknown = [c for c in conds if c not in CONDITIONS]
        if not conds or unknown:
            raise WorkflowError(
                f"{here}: unknown condition {unknown or st.get('if')!r}; known: {', '.join(CONDITIONS)}"
            )
    elif t == "action":
        if st.get("channel") not in CHANNELS:
            raise WorkflowError(f"{here}: unknown channel {st.get('channel')!r}; known: {', '.join(CHANNELS)}")
        if st.get("offer") not in OFFERS:
            raise WorkflowError(f"{here}: unknown offer {st.get('offer')!r}; known: {', '.join(OFFERS)}")
        if st["offer"] == "discount":
            d = st.get("discount")
            if not isinstance(d, (int, float)) or not 0 < d < 1:
                raise WorkflowError(f"{here}: a discount offer needs discount in (0, 1), got {d!r}")


def _topological(where: str, start: str, steps: dict[str, dict]) -> list[str]:
    """Steps reachable from ``start`` in an order where every link points forward; a cycle is an error."""

    def nxt(sid: str) -> list[str]:
        return [steps[sid][k] for k in _LINKS[steps[sid]["type"]]]

    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    post: list[str] = []
    stack: list[tuple[str, int]] = [(start, 0)]
    path: list[str] = []
    while stack:
        sid, i = stack.pop()
        if i == 0:
            state[sid] = 1
            path.append(sid)
        children = nxt(sid)
        if i < len(children):
            stack.append((sid, i + 1))
            c = children[i]
            if state.get(c) == 1:
                cyc = path[path.index(c) :] + [c]
                raise WorkflowError(
                    f"{where}: the steps form a cycle {' -> '.join(cyc)}; a workflow must "
                    "end (use a wait and a stop instead of looping back)"
                )
            if c not in state:
                stack.append((c, 0))
        else:
            state[sid] = 2
            path.pop()
            post.append(sid)
    return post[::-1]


# ----------------------------------------------------------------------------------------------------------------
# The two ready workflows
# ----------------------------------------------------------------------------------------------------------------
def cart_recovery(
    first_wait_hours: float = 1.0,
    second_wait_hours: float = 24.0,
    discount: float = 0.10,
    channel: str = "email",
    goal_hours: float = 72.0,
) -> Workflow:
    """cart_abandon -> wait 1 h -> reminder -> wait 24 h -> discount; stop on purchase or unsubscribe.

    Parameters
    ----------
    first_wait_hours : float, default 1.0
        Hours from the abandoned cart to the reminder.
    second_wait_hours : float, default 24.0
        Hours from the reminder to the discount.
    discount : float, default 0.1
        The discount offered.
    channel : str, default "email"
        The channel of both messages.
    goal_hours : float, default 72.0
        Hours within which a purchase counts as recovered.
    """
    stop_if = ["purchased", "unsubscribed"] if channel == "email" else ["purchased"]
    return Workflow.from_dict(
        {
            "name": "abandoned-cart recovery",
            "trigger": "cart_abandon",
            "goal_hours": goal_hours,
            "description": "Remind the customer of the cart, then offer a discount if they still have not bought.",
            "steps": [
                {"id": "wait_1", "type": "wait", "hours": first_wait_hours, "next": "check_1"},
                {"id": "check_1", "type": "condition", "if": stop_if, "yes": "end", "no": "reminder"},
                {"id": "reminder", "type": "action", "channel": channel, "offer": "reminder", "next": "wait_2"},
                {"id": "wait_2", "type": "wait", "hours": second_wait_hours, "next": "check_2"},
                {"id": "check_2", "type": "condition", "if": stop_if, "yes": "end", "no": "discount"},
                {
                    "id": "discount",
                    "type": "action",
                    "channel": channel,
                    "offer": "discount",
                    "discount": discount,
                    "next": "end",
                },
                {"id": "end", "type": "stop"},
            ],
        }
    )


def cross_sell(wait_hours: float = 72.0, goal_hours: float = 240.0) -> Workflow:
    """Purchase -> wait 3 days -> (bought again? stop) -> email consent? -> email the next best offer.

    Parameters
    ----------
    wait_hours : float, default 72.0
        Hours from the purchase to the offer.
    goal_hours : float, default 240.0
        Hours within which a purchase counts as the goal.
    """
    return Workflow.from_dict(
        {
            "name": "cross-sell mailing",
            "trigger": "purchase",
            "goal_hours": goal_hours,
            "description": "After an order, wait, then email the customer's next best offer unless they ordered again.",
            "steps": [
                {"id": "wait", "type": "wait", "hours": wait_hours, "next": "bought_again"},
                {"id": "bought_again", "type": "condition", "if": "purchased", "yes": "end", "no": "consent"},
                {"id": "consent", "type": "condition", "if": "email_consent", "yes": "offer", "no": "end"},
                {"id": "offer", "type": "action", "channel": "email", "offer": "nbo", "next": "end"},
                {"id": "end", "type": "stop"},
            ],
        }
    )


# ----------------------------------------------------------------------------------------------------------------
# Response to touchpoints
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PlantedCustomers:
    """What :meth:`Response.planted` needs per customer and segment to evaluate the planted response model."""

    index: pd.Index  # customer ids
    segment: np.ndarray  # each customer's segment number
    churn_day: np.ndarray  # days since 1970-01-01 of the planted churn (inf: never)
    open_logit: np.ndarray  # per segment
    click_logit: np.ndarray
    peak_hour: np.ndarray
    discount_sensitivity: np.ndarray
    drift_day: float
    response: ResponseModel


@dataclass
class Response:
    """P(a touchpoint makes a customer buy who has not bought yet), per offer.

    ``cart`` holds constant probabilities for the cart offers (reminder, discount); ``nbo`` is a constant or,
    for the planted world, computed per customer and send time from the planted response model
    (:class:`helpers.planted.ResponseModel`: open x click x order). ``source`` says where the numbers come from.

    Parameters
    ----------
    cart : dict of str to float
        Persuasion probability of each cart offer (``reminder``, ``discount``).
    nbo : float, optional
        Persuasion probability of a next-best-offer message; None when it comes from the planted model.
    source : str, default "assumed"
        Where the numbers come from (``"assumed"``, ``"planted"``).
    """

    cart: dict[str, float]
    nbo: float | None = None
    source: str = "assumed"
    _planted: _PlantedCustomers | None = field(default=None, init=False, repr=False)

    @classmethod
    def assumed(cls, reminder: float = 0.05, discount: float = 0.05, nbo: float = 0.01) -> Response:
        """Stated assumptions for a team's own data (no planted truth): persuasion probability per offer.

        Parameters
        ----------
        reminder : float, default 0.05
            Probability that a cart reminder persuades a customer who would not have bought.
        discount : float, default 0.05
            The same for the discount message.
        nbo : float, default 0.01
            The same for a next-best-offer message.
        """
        for name, v in (("reminder", reminder), ("discount", discount), ("nbo", nbo)):
            if not 0 <= v < 1:
                raise WorkflowError(f"Response.assumed: {name} must be a probability in [0, 1), got {v!r}")
        return cls(cart={"reminder": reminder, "discount": discount}, nbo=nbo, source="assumed")

    @classmethod
    def planted(cls, truth) -> Response:
        """The world's planted response: truth ``cart_recovery`` and ``response_model``.

        The planted cart numbers are extra recovery probabilities over the organic rate: a reminder adds
        ``reminder`` and a reminder followed by a discount adds ``discount`` in all. As probabilities of
        persuading a customer who would not have bought: q_reminder = reminder / (1 - organic), and q_discount
        such that 1 - (1 - q_reminder)(1 - q_discount) = discount / (1 - organic).

        Parameters
        ----------
        truth : Truth
            The world's planted truth.
        """
        cr = truth["cart_recovery"]
        q_rem = cr["reminder"] / (1 - cr["organic"])
        q_disc = 1 - (1 - cr["discount"] / (1 - cr["organic"])) / (1 - q_rem)
        cust = truth.customers
        churn = pd.to_datetime(cust["churn_date"])
        churn_day = (churn - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy() / 86400.0
        churn_day = np.where(np.isnan(churn_day), np.inf, churn_day)
        segs = truth["segments"]
        planted = _PlantedCustomers(
            index=pd.Index(cust["customer_id"]),
            segment=cust["segment"].to_numpy(),
            churn_day=churn_day,
            open_logit=np.array([s["open_logit"] for s in segs]),
            click_logit=np.array([s["click_logit"] for s in segs]),
            peak_hour=np.array([s["peak_hour"] for s in segs], float),
            discount_sensitivity=np.array([s["discount_sensitivity"] for s in segs]),
            drift_day=float(unix_seconds([truth["drift"]["date"]])[0] / 86400.0),
            response=ResponseModel.from_truth(truth),
        )
        response = cls(cart={"reminder": q_rem, "discount": q_disc}, nbo=None, source="planted")
        response._planted = planted
        return response

    def prob(self, offer: str, channel: str, customer_id: np.ndarray, t_days: np.ndarray) -> np.ndarray:
        """Persuasion probability of each message (``t_days``: days since 1970-01-01).

        Parameters
        ----------
        offer : str
            The offer sent (``reminder``, ``discount``, ``nbo``).
        channel : str
            The channel (``email``, ``push``, ``sms``).
        customer_id : ndarray
            The recipients.
        t_days : ndarray
            The send times, in days since 1970-01-01.
        """
        if offer in self.cart:
            return np.full(len(customer_id), self.cart[offer])
        if offer != "nbo":
            raise WorkflowError(f"Response: no probability for offer {offer!r}")
        m = self._planted
        if m is None:
            return np.full(len(customer_id), float(self.nbo or 0.0))
        pos = m.index.get_indexer(customer_id)
        if (pos < 0).any():
            raise WorkflowError("Response.planted: customers missing from the truth (was the world changed?)")
        s = m.segment[pos]
        ch = "push" if channel == "sms" else channel  # SMS is not planted: it answers like a push message
        # a fresh recipient (no fatigue), plain subject, no discount, the customer's own offset unknown (0)
        p = m.response.respond(
            open_logit=m.open_logit[s],
            click_logit=m.click_logit[s],
            peak_hour=m.peak_hour[s],
            discount_sensitivity=m.discount_sensitivity[s],
            offset=0.0,
            channel=ch,
            hour=(t_days * 24.0) % 24.0,
            when=np.datetime64("1970-01-01") + (t_days * 86400).astype("int64").astype("timedelta64[s]"),
            after_drift=t_days >= m.drift_day,
            subject=0,
            discount=0.0,
            fatigue=0.0,
            alive=t_days < m.churn_day[pos],
        )
        return p["open"] * p["click"] * p["conv"]


# ----------------------------------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Simulation:
    """What :func:`simulate` returns.

    ``entries``: one row per trigger (customer_id, trigger_at, group, converted, purchase_at, revenue,
    discount_cost, messages, message_cost, persuaded); ``steps``: per step, how many target entries reached
    it, messages sent and undeliverable (no consent), customers persuaded; ``true_uplift``: the oracle — the
    expected conversion uplift of the workflow on these entries under ``response`` (what the estimate aims at).
    """

    workflow: Workflow
    entries: pd.DataFrame
    steps: pd.DataFrame
    true_uplift: float
    response_source: str


_DAY = 86400.0


def _days(ts) -> np.ndarray:
    return unix_seconds(ts) / _DAY


def _runs(ids: pd.Series) -> np.ndarray | None:
    """Start of each run of equal ids when numbered ``ids`` ascend and none is missing (None otherwise).

    Then every id is one run, and the runs are the distinct ids in order of first appearance.
    """
    numbered = pd.api.types.is_integer_dtype(ids.dtype) or isinstance(ids.dtype, pd.CategoricalDtype)
    if not numbered or len(ids) == 0 or ids.hasnans or not ids.is_monotonic_increasing:
        return None  # text ids are factorized (comparing text neighbours costs about as much)
    v = ids.to_numpy()
    return np.flatnonzero(np.r_[True, v[1:] != v[:-1]])


def _stable_order(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` for 32-bit unsigned keys, as two stable sorts of 16-bit digits.

    numpy sorts 16-bit integers by radix (linear time) and wider ones by timsort; the low digit first, then the
    high one, gives the same permutation (least-significant-digit radix sort) 2-3x faster at ten million keys.
    """
    order = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
    return order[np.argsort((key[order] >> 16).astype(np.uint16), kind="stable")]


def _orders(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per order (customer, date of its first line, value of its lines), by customer and then date."""
    for col in ("order_id", "customer_id", "order_date", "quantity", "unit_price"):
        if col not in transactions:
            raise WorkflowError(f"simulate: transactions has no column {col!r}")
    value = transactions["quantity"].to_numpy(float) * transactions["unit_price"].to_numpy(float)
    # one order per distinct order_id, in order of first appearance, with its first line's customer and date and
    # the sum of its lines' values, from the columns themselves: a copy of the table to group it (as
    # ``assign(...).groupby``) held every column of 10^7 lines twice
    runs = _runs(transactions["order_id"])
    if runs is not None and not np.isnan(value).any():
        # order ids in ascending order (an export by order number or by time): each order's lines are one run,
        # found by comparing neighbours; its value is the run's sum, as pandas sums sorted groups (np.add.reduceat)
        first = runs
        sums = np.add.reduceat(value, first) if len(first) else np.empty(0)
    else:
        codes, _ = pd.factorize(transactions["order_id"], sort=False)
        if (codes < 0).any():
            raise WorkflowError(
                f"simulate: transactions has lines without an order_id (e.g. row {int(np.argmax(codes < 0))}); "
                "every order line needs the order it belongs to"
            )
        _, first = np.unique(codes, return_index=True)
        sums = pd.Series(value).groupby(codes, sort=False).sum().to_numpy()
        del codes
    cust = transactions["customer_id"].to_numpy()[first]
    date = transactions["order_date"].to_numpy()[first]
    del first, value
    # by customer, then date, ties in order of appearance: one stable argsort of a 64-bit (customer, second) key
    # when the ids and whole-second dates fit it (pandas' two-key sort factorizes both keys: 3x slower at 10 M);
    # orders already in time order need only a stable sort by customer (two 16-bit radix passes)
    order = _customer_time_order(cust, date)
    if order is None:
        o = pd.DataFrame({"customer_id": cust, "order_date": date, "value": sums})
        return o.sort_values(["customer_id", "order_date"], kind="stable").reset_index(drop=True)
    # the columns taken in that order, each once (a frame built and then taken copied every column twice)
    return pd.DataFrame(
        {
            "customer_id": cust[order],
            "order_date": date[order],
            "value": sums[order],
        },
        copy=False,
    )


def _customer_time_order(cust: np.ndarray, date: np.ndarray) -> np.ndarray | None:
    """The stable order by (customer, time) of numbered customers' whole-second times (None: not that case)."""
    if date.dtype == np.dtype("datetime64[s]"):
        sec = date.view(np.int64)
    else:
        ns = pd.to_datetime(date).to_numpy().astype("datetime64[ns]").view(np.int64)
        sec, frac = np.divmod(ns, 10**9)
        if frac.any():
            return None
    return _key_order(cust, sec)


def _key_order(cust: np.ndarray, sec: np.ndarray) -> np.ndarray | None:
    """``np.argsort`` (stable) of the (customer, second) pairs, or None when the ids or seconds do not fit 32 bits.

    Pairs in time order need only a stable sort by customer (:func:`_stable_order`); pairs already in order, the
    identity.
    """
    if not len(cust) or not np.issubdtype(cust.dtype, np.integer) or cust.min() < 0 or cust.max() >= 2**31:
        return None
    if sec.min() < 0 or sec.max() >= 2**32:
        return None
    if bool((sec[1:] >= sec[:-1]).all()):  # in time order: a stable sort by customer keeps it
        return _stable_order(cust.astype(np.uint32))
    key = (cust.astype(np.int64) << 32) | sec
    if bool((key[1:] >= key[:-1]).all()):
        return np.arange(len(key))
    return np.argsort(key, kind="stable")


def _mean_value(ocust: np.ndarray, value: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Each of the ``known`` customers' mean order value; the mean of all orders for one without orders.

    ``pd.Series(value).groupby(ocust).mean().reindex(known).fillna(value.mean())``; for orders by customer (as
    :func:`_orders` gives them) as pandas averages sorted groups (np.add.reduceat over each customer's run, divided
    by its size), and matched by binary search instead of hashing every customer.
    """
    overall = pd.Series(value).mean()
    if not len(ocust) or np.isnan(value).any() or not bool((ocust[1:] >= ocust[:-1]).all()):
        mean = pd.Series(value).groupby(ocust).mean()
        return mean.reindex(known).fillna(overall).to_numpy()
    starts = np.flatnonzero(np.r_[True, ocust[1:] != ocust[:-1]])
    mean = np.add.reduceat(value, starts) / np.diff(starts, append=len(ocust)).astype(np.float64)
    ids = ocust[starts]
    at = np.minimum(np.searchsorted(ids, known), len(ids) - 1)
    return np.where(ids[at] == known, mean[at], overall)


def _next_after(key_sorted: np.ndarray, key: np.ndarray) -> np.ndarray:
    return np.searchsorted(key_sorted, key, side="right")


def simulate(
    workflow: Workflow,
    events: pd.DataFrame,
    transactions: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    response: Response | None = None,
    control_share: float = 0.5,
    seed: int = 0,
    lag_hours: float = 3.0,
    since=None,
) -> Simulation:
    """Replay the history through ``workflow`` for a random target group, the rest held out as control.

    Entries are the trigger events (``purchase``: each order) whose goal window ends inside the data (and
    after ``since``). Customers, not entries, are randomised (``control_share`` of them to control). A
    target entry walks the steps: waits move its clock, conditions read the data at that moment (orders,
    unsubscribes, consent), actions send a message — if email is allowed — that persuades a customer who has
    not bought yet with the response's probability; a persuaded customer buys ``Exp(lag_hours)`` later (at
    the latest at the end of the goal window) for their mean order value, less any discount they were sent.
    A discount also costs its share of any order after it, persuaded or not.
    """
    return Simulator(workflow, events, transactions, customers, response, lag_hours=lag_hours, since=since).run(
        seed=seed, control_share=control_share
    )


ORACLE_ENTRIES = 1_000_000  # entries the oracle walks at a time (bounds its memory; the same numbers)


class Simulator:
    """:func:`simulate` in two parts: the entries and the oracle once, then :meth:`run` per seed.

    Parameters
    ----------
    workflow : Workflow
        The workflow to replay.
    events : DataFrame
        The events table (triggers such as ``cart_abandon``).
    transactions : DataFrame
        Order lines (goals: a purchase stops the workflow).
    customers : DataFrame, optional
        The customers table (``email_consent``); default: everyone may be emailed.
    response : Response
        The response to touchpoints: :meth:`Response.planted` on the course world, :meth:`Response.assumed` on a
        team's data (required; None is refused).
    lag_hours : float, default 3.0
        Mean hours from a persuading message to the purchase it causes (exponential).
    since : date, optional
        Replay only triggers from this date on.
    """

    def __init__(
        self,
        workflow: Workflow,
        events: pd.DataFrame,
        transactions: pd.DataFrame,
        customers: pd.DataFrame | None = None,
        response: Response | None = None,
        lag_hours: float = 3.0,
        since=None,
    ) -> None:
        if response is None:
            raise WorkflowError(
                "simulate: pass response=Response.planted(truth) on the course world, or "
                "Response.assumed(...) with your own assumptions on your data"
            )
        self.workflow, self.response, self.lag_hours = workflow, response, lag_hours
        orders = _orders(transactions)
        ocust = orders["customer_id"].to_numpy(np.int64)
        osec = unix_seconds(orders["order_date"])
        okey = ocust * (1 << 32) + osec
        if workflow.trigger == "purchase":
            trig = pd.DataFrame({"customer_id": ocust, "sec": osec})
        else:
            ev = events.loc[events["event_type"] == workflow.trigger, ["customer_id", "timestamp"]]
            trig = pd.DataFrame(
                {"customer_id": ev["customer_id"].to_numpy(np.int64), "sec": unix_seconds(ev["timestamp"])}
            )
        ts = events["timestamp"]
        last_event = ts.max() if pd.api.types.is_datetime64_any_dtype(ts) else pd.to_datetime(ts).max()
        end_sec = max(
            int(osec.max()) if len(osec) else 0, int(pd.Timestamp(last_event).value // 10**9) if len(events) else 0
        )
        goal_sec = int(round(workflow.goal_hours * 3600))
        keep = trig["sec"].to_numpy() + goal_sec <= end_sec
        if since is not None:
            keep &= trig["sec"].to_numpy() >= pd.Timestamp(since).value // 10**9
        trig = trig[keep]
        by_time = _key_order(trig["customer_id"].to_numpy(), trig["sec"].to_numpy())
        if by_time is None:
            trig = trig.sort_values(["customer_id", "sec"], kind="stable").reset_index(drop=True)
        else:  # the same order, without pandas' factorizing of both keys
            trig = trig.take(by_time).reset_index(drop=True)
        n = len(trig)
        if n == 0:
            raise WorkflowError(
                f"simulate: no {workflow.trigger!r} events with a complete goal window of "
                f"{workflow.goal_hours:g} h in the data"
            )
        cust = trig["customer_id"].to_numpy(np.int64)
        t0 = trig["sec"].to_numpy(np.int64)
        # what happened anyway: the first order strictly after the trigger, inside the goal window
        after = _next_after(okey, cust * (1 << 32) + t0)
        pos = np.minimum(after, len(okey) - 1)
        has = (after < len(okey)) & (ocust[pos] == cust)
        nxt_sec = np.where(has, osec[pos], np.iinfo(np.int64).max)
        organic = nxt_sec <= t0 + goal_sec
        self.organic = organic
        self.organic_value = np.where(organic, orders["value"].to_numpy()[pos], 0.0)
        self.t0 = t0
        self._group_labels = pd.Series(np.array(["target", "control"], dtype=object)).array
        self._index_entries(cust)
        # what belongs to the customer (mean order value, consent, first unsubscribe) is kept once per customer
        known = self.customers_unique
        by_customer = dict(value=_mean_value(ocust, orders["value"].to_numpy(), known))
        un = events.loc[events["event_type"] == "unsubscribe", ["customer_id", "timestamp"]]
        first_unsub = pd.Series(_days(un["timestamp"]), index=un["customer_id"].to_numpy()).groupby(level=0).min()
        by_customer["unsub_t"] = first_unsub.reindex(known).fillna(np.inf).to_numpy()
        if customers is not None and "email_consent" in customers:
            consent = customers.set_index("customer_id")["email_consent"]
            by_customer["consent"] = consent.reindex(known).fillna(False).astype(bool).to_numpy()
        else:
            by_customer["consent"] = np.ones(len(known), bool)
        self.base = _Entries(
            t0=t0,
            goal_sec=goal_sec,
            organic_t=np.where(organic, nxt_sec / _DAY, np.inf),
            cust=cust,
            code=self.customer_code,
            by_customer=by_customer,
        )
        del orders, ocust, osec, okey, trig, after, pos, has, nxt_sec
        # the oracle: expected conversion of every entry if it were treated, minus what happened anyway; entries
        # are independent, so they walk ORACLE_ENTRIES at a time (the same numbers; a walk's arrays for 10^7
        # entries took 1.7 GiB at once)
        p_treat = np.concatenate(
            [
                _walk(workflow, self.base, np.arange(a, min(a + ORACLE_ENTRIES, n)), response, None, lag_hours)[0]
                for a in range(0, n, ORACLE_ENTRIES)
            ]
        )
        self._gain = p_treat - organic
        self.true_uplift = float(np.mean(self._gain))

    @property
    def value(self) -> np.ndarray:
        """Each entry's customer's mean order value (what a persuaded purchase is worth)."""
        return self.base["value"]

    def _index_entries(self, cust: np.ndarray) -> None:
        """The customers and each entry's customer code; the columns every replay's table shares.

        Made once, not once per replay, over the entries' own arrays (customer ids and trigger seconds as they
        are, without a copy): at 10^7 entries each copy is 80 MB.
        """
        self._customer_column = pd.Series(cust, copy=False).array
        self._trigger_column = pd.Series(self.t0.view("datetime64[s]"), copy=False).array
        if len(cust) and bool((cust[1:] >= cust[:-1]).all()):  # entries by customer, as __init__ orders them
            change = np.empty(len(cust), bool)
            change[0], change[1:] = True, cust[1:] != cust[:-1]
            self.customers_unique, code = cust[change], np.cumsum(change) - 1
        else:
            self.customers_unique, code = np.unique(cust, return_inverse=True)
        self.customer_code = code.astype(np.int32) if len(self.customers_unique) < 2**31 else code

    def __len__(self) -> int:
        """Number of entries."""
        return len(self.t0)

    def sample(self, max_customers: int | None, random_state: int = 0) -> Simulator:
        """The same replay restricted to at most ``max_customers`` customers drawn at random (all their entries).

        Checking an interval's coverage replays every entry ``n_runs`` times; on a large export the check needs
        no more than a sample, with the sample's own oracle (the mean true uplift of its entries). Returns
        ``self`` when there are no more customers than ``max_customers`` (or it is None).

        Parameters
        ----------
        max_customers : int or None
            The most customers kept (:func:`helpers.sampling.sample_positions`).
        random_state : int, default 0
            Random seed of the draw.
        """
        keep = sample_positions(len(self.customers_unique), max_customers, random_state, what="max_customers")
        if keep is None:
            return self
        rows = np.isin(self.customer_code, keep)
        out = copy.copy(self)
        out.t0, out.organic, out.organic_value = self.t0[rows], self.organic[rows], self.organic_value[rows]
        out._gain = self._gain[rows]
        out._index_entries(self.base.cust[rows])  # the kept customers, in the same (sorted) order as keep
        out.base = self.base.subset(rows, keep, out.customer_code)
        out.true_uplift = float(np.mean(out._gain))
        return out

    def run(self, seed: int = 0, control_share: float = 0.5) -> Simulation:
        """One randomised replay: customers split at random, target entries walk the workflow.

        Parameters
        ----------
        seed : int, default 0
            Random seed of the split and the responses.
        control_share : float, default 0.5
            Share of customers held out as control.
        """
        base, n = self.base, len(self)
        control, tgt, res, steps = self._draw(seed, control_share)
        purchase_t = base["organic_t"].copy()
        purchase_t[tgt] = res["purchase_t"]
        persuaded = np.zeros(n, bool)
        persuaded[tgt] = res["persuaded"]
        converted = purchase_t <= base["end"]
        disc_t, disc = np.full(n, np.inf), np.zeros(n)
        disc_t[tgt], disc[tgt] = res["discount_t"], res["discount"]
        gross = np.where(persuaded, self.value, self.organic_value) * converted
        discount_cost = np.where(converted & (disc_t <= purchase_t), gross * disc, 0.0)
        messages, message_cost = np.zeros(n, np.int64), np.zeros(n)
        messages[tgt], message_cost[tgt] = res["messages"], res["message_cost"]
        purchase_s = np.where(converted, np.round(np.where(converted, purchase_t, 0) * _DAY), 0).astype(np.int64)
        revenue = np.round(gross - discount_cost, 2)
        del res, purchase_t, disc_t, disc, gross
        entries = pd.DataFrame(
            {
                "customer_id": self._customer_column,
                "trigger_at": self._trigger_column,
                "group": self._group_labels.take(control.astype(np.intp)),
                "converted": converted,
                "purchase_at": pd.Series(purchase_s.astype("datetime64[s]")).where(converted),
                "revenue": revenue,
                "discount_cost": np.round(discount_cost, 2),
                "messages": messages,
                "message_cost": message_cost,
                "persuaded": persuaded,
            },
            copy=False,  # the arrays are this replay's own: no second copy of 10^7 entries' columns
        )
        return Simulation(
            workflow=self.workflow,
            entries=entries,
            steps=steps,
            true_uplift=self.true_uplift,
            response_source=self.response.source,
        )

    def _draw(self, seed: int, control_share: float):
        """The random part of a replay: who is control (per entry), the target entries and their walk."""
        if not 0 < control_share < 1:
            raise WorkflowError(
                f"simulate: control_share must be in (0, 1), got {control_share!r}; with no "
                "control group there is nothing to compare with"
            )
        rng_assign = np.random.default_rng([seed, 1])
        rng = np.random.default_rng([seed, 2])
        control = (rng_assign.random(len(self.customers_unique)) < control_share)[self.customer_code]
        tgt = np.flatnonzero(~control)
        res, steps = _walk(self.workflow, self.base, tgt, self.response, rng, self.lag_hours)
        return control, tgt, res, steps

    def coverage(
        self, n_runs: int = 100, level: float = 0.95, control_share: float = 0.5, seed: int = 0
    ) -> pd.DataFrame:
        """Repeat :meth:`run` ``n_runs`` times and check the uplift intervals.

        Per run: the uplift estimate, its interval, and whether the interval holds the oracle's true uplift (it
        should, in about ``level`` of the runs).

        Parameters
        ----------
        n_runs : int, default 100
            Replays.
        level : float, default 0.95
            Confidence level of the uplift intervals.
        control_share : float, default 0.5
            Share of customers held out as control.
        seed : int, default 0
            Random seed of the first replay (the k-th uses ``seed + k``).
        """
        # per replay only who converted matters: counted per customer with bincount, as uplift_by_customer would
        # from the replay's table (entries are sorted by customer, so the sums run in the same order)
        code, entries = self.customer_code, np.bincount(self.customer_code).astype(float)
        end = self.base["end"]
        rows = []
        for r in range(n_runs):
            control, tgt, res, _ = self._draw(seed + r, control_share)
            purchase_t = self.base["organic_t"].copy()
            purchase_t[tgt] = res["purchase_t"]
            y = np.bincount(code, weights=(purchase_t <= end).astype(float), minlength=len(entries))
            held = np.zeros(len(entries), bool)
            held[code] = control
            u = clustered_uplift(y[~held], entries[~held], y[held], entries[held], level=level)
            rows.append(
                dict(
                    run=r,
                    uplift=u["uplift"],
                    low=u["low"],
                    high=u["high"],
                    covered=bool(u["low"] <= self.true_uplift <= u["high"]),
                )
            )
        return pd.DataFrame(rows)


class _Entries:
    """What the walk reads of each entry, stored compactly; ``entries[name]`` or ``entries.take(name, rows)``.

    ``t`` and ``end`` (days since 1970 of the trigger and of the goal window's end) are computed from the trigger
    second when read, by the same expression as once stored; ``value``, ``unsub_t`` and ``consent`` are kept per
    customer and read through each entry's customer code. At 10^7 entries each column stored per entry costs
    80 MB.
    """

    def __init__(self, t0, goal_sec: int, organic_t, cust, code, by_customer: dict[str, np.ndarray]) -> None:
        self.t0, self.goal_sec, self.organic_t, self.cust, self.code = t0, goal_sec, organic_t, cust, code
        self.by_customer = by_customer

    def take(self, name: str, rows=slice(None)) -> np.ndarray:
        """The column ``name`` at ``rows`` (positions, a mask or a slice)."""
        if name == "t":
            return self.t0[rows] / _DAY
        if name == "end":
            return (self.t0[rows] + self.goal_sec) / _DAY
        if name in self.by_customer:
            return self.by_customer[name][self.code[rows]]
        return getattr(self, name)[rows]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.take(name)

    def subset(self, rows, customers, code) -> _Entries:
        """The entries at ``rows``, whose customers are ``customers`` (positions) coded anew as ``code``."""
        return _Entries(
            self.t0[rows],
            self.goal_sec,
            self.organic_t[rows],
            self.cust[rows],
            code,
            {name: values[customers] for name, values in self.by_customer.items()},
        )


def _walk(
    wf: Workflow, base: _Entries, idx: np.ndarray, response: Response, rng: np.random.Generator | None, lag_hours: float
):
    """Walk entries ``idx`` through the steps. ``rng=None``: expected conversion probabilities (the oracle)."""
    m = len(idx)
    tau = base.take("t", idx)
    end = base.take("end", idx)
    purchase = base.take("organic_t", idx)
    survive = np.ones(m)
    persuaded = np.zeros(m, bool)
    disc_t, disc = np.full(m, np.inf), np.zeros(m)
    messages, cost = np.zeros(m, np.int64), np.zeros(m)
    at: dict[str, list[np.ndarray]] = {wf.start: [np.arange(m)]}
    rows = []

    def email_ok(loc: np.ndarray) -> np.ndarray:  # consented and not unsubscribed at the entry's clock
        return base.take("consent", idx[loc]) & (base.take("unsub_t", idx[loc]) > tau[loc])

    for sid in wf.order:
        loc = np.concatenate(at.pop(sid, [np.empty(0, np.int64)]))
        st = wf.steps[sid]
        row = dict(
            step=sid,
            type=st["type"],
            does=_label(st).replace("\n", " "),
            entered=len(loc),
            sent=0,
            undeliverable=0,
            persuaded=0,
        )
        if st["type"] == "wait":
            tau[loc] += st["hours"] / 24.0
            at.setdefault(st["next"], []).append(loc)
        elif st["type"] == "condition":
            val = np.zeros(len(loc), bool)
            for c in _conditions(st):
                if c == "purchased":
                    val |= purchase[loc] <= tau[loc]
                elif c == "unsubscribed":
                    val |= base.take("unsub_t", idx[loc]) <= tau[loc]
                else:  # email_consent
                    val |= email_ok(loc)
            at.setdefault(st["yes"], []).append(loc[val])
            at.setdefault(st["no"], []).append(loc[~val])
        elif st["type"] == "action":
            ok = tau[loc] <= end[loc]
            if st["channel"] == "email":
                ok &= email_ok(loc)
            live = loc[ok]
            row["sent"], row["undeliverable"] = len(live), int((~ok).sum())
            messages[live] += 1
            cost[live] += MESSAGE_COST[st["channel"]]
            q = response.prob(st["offer"], st["channel"], base.take("cust", idx[live]), tau[live])
            if st["offer"] == "discount":
                first = disc_t[live] == np.inf
                disc_t[live[first]], disc[live[first]] = tau[live[first]], st["discount"]
            if rng is None:
                survive[live] *= 1 - q
            else:
                open_ = purchase[live] > tau[live]
                hit = open_ & (rng.random(len(live)) < q)
                lag = rng.exponential(lag_hours / 24.0, len(live))
                t_buy = np.minimum(tau[live] + lag, end[live])
                win = hit & (t_buy < purchase[live])
                purchase[live[win]] = t_buy[win]
                persuaded[live[win]] = True
                row["persuaded"] = int(win.sum())
            at.setdefault(st["next"], []).append(loc)
        rows.append(row)
    steps = pd.DataFrame(rows).set_index("step")
    if rng is None:
        organic = base.take("organic_t", idx) <= end
        return np.where(organic, 1.0, 1.0 - survive), steps
    return dict(
        purchase_t=purchase, persuaded=persuaded, discount_t=disc_t, discount=disc, messages=messages, message_cost=cost
    ), steps
