"""timeline: the dates lessons derive from the data; on the course world they are the dates the lessons name."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import timeline as tl


def test_course_world_dates_are_the_lessons_dates(course_world):
    orders = course_world.transactions["order_date"]
    assert tl.last_as_of(orders, 90) == pd.Timestamp("2025-10-01")
    assert [str(t.date()) for t in tl.as_of_dates(orders, 90)] == [
        "2024-04-01",
        "2024-07-01",
        "2024-10-01",
        "2025-01-01",
        "2025-04-01",
        "2025-07-01",
        "2025-10-01",
    ]
    assert tl.first_month(course_world.leads["created_date"]) == "2024-07"
    # a lead's outcome is known when its 30 + 60-day conversion window closes, as the data card says
    leads = course_world.leads
    assert tl.outcome_window_days(leads["created_date"], leads["converted_date"]) == 90
    assert course_world.truth["timeline"]["lead_outcome_days"] == 90


def test_another_date_range():
    dates = pd.to_datetime(["2022-03-15", "2023-11-20"])
    assert tl.last_as_of(dates, 90) == pd.Timestamp("2023-08-01")  # 2023-08-01 + 90 days = 2023-10-30
    got = tl.as_of_dates(dates, 90)
    assert got[0] == pd.Timestamp("2022-07-01") and got[-1] == pd.Timestamp("2023-07-01")
    assert all(t + pd.Timedelta(days=90) <= dates.max() + pd.Timedelta(days=1) for t in got)
    assert tl.first_month(dates, 3) == "2022-06"


def test_too_short_or_empty_data_is_refused():
    with pytest.raises(ValueError, match="too short"):
        tl.last_as_of(pd.to_datetime(["2024-01-01", "2024-02-15"]), 90)
    with pytest.raises(ValueError, match="fewer than two quarters"):
        tl.as_of_dates(pd.to_datetime(["2024-01-01", "2024-08-15"]), 90)
    with pytest.raises(ValueError, match="nothing left to score"):
        tl.first_month(pd.to_datetime(["2024-01-01", "2024-03-01"]))
    with pytest.raises(ValueError, match="no row has an outcome date"):
        tl.outcome_window_days(pd.to_datetime(["2024-01-01"]), pd.Series([pd.NaT]))
    with pytest.raises(ValueError, match="before their start date"):
        tl.outcome_window_days(pd.to_datetime(["2024-01-05"]), pd.to_datetime(["2024-01-01"]))
    with pytest.raises(ValueError, match="empty"):
        tl.last_as_of(pd.Series([], dtype="datetime64[ns]"), 90)
