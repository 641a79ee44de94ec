"""The embedded AWS's SES account: sends and feedback counted at their own time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emulator.ses_account import SesAccount
from lambdas import clock

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_the_quota_counts_the_last_24_hours_and_the_statistics_14_days_in_15_minute_points():
    account = SesAccount()
    account.record("send", 3, NOW - timedelta(hours=3, minutes=2))  # 05:58
    account.record("send", 2, NOW - timedelta(hours=2, minutes=50))  # 06:10
    account.record("send", 4, NOW - timedelta(hours=25))  # yesterday: statistics only
    account.record("Bounce", 1, NOW - timedelta(days=3))
    account.record("send", 9, NOW - timedelta(days=15))  # older than the statistics keep

    with clock.pinned(NOW):
        quota, points, summary = account.quota(), account.statistics(), account.account()

    assert quota == {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 5}
    assert [(p["Timestamp"], p["DeliveryAttempts"], p["Bounces"]) for p in points] == [
        (datetime(2026, 11, 24, 9, 0, tzinfo=UTC), 0, 1),
        (datetime(2026, 11, 26, 8, 0, tzinfo=UTC), 4, 0),
        (datetime(2026, 11, 27, 5, 45, tzinfo=UTC), 3, 0),
        (datetime(2026, 11, 27, 6, 0, tzinfo=UTC), 2, 0),
    ]
    assert summary["SendQuota"] == quota and summary["ProductionAccessEnabled"] is True
    account.reset()
    with clock.pinned(NOW):
        assert account.statistics() == [] and account.quota()["SentLast24Hours"] == 0


@pytest.mark.parametrize(("kind", "count", "message"), [("Delivery", 1, "kind must be"), ("send", 0, "count must be")])
def test_an_unknown_event_is_refused(kind, count, message):
    with pytest.raises(ValueError, match=message):
        SesAccount().record(kind, count, NOW)
