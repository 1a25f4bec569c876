"""Operations per day: the selector's counts and the inline SVG drawn from them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kms.exceptions import ERRORS, KeyNotFound
from kms.services import crypto_ops
from kms.services.audit_log import DayCount, ops_per_day
from kms.web.charts import bar_chart
from tests.web.conftest import key_page, web_actor


def test_it_counts_data_plane_operations_per_day(clock, bob, aes_key):
    who = web_actor(bob)
    ciphertext = crypto_ops.encrypt(actor=who, name="payments", plaintext=b"x").ciphertext
    clock.advance(days=2)
    crypto_ops.decrypt(actor=who, name="payments", ciphertext=ciphertext)
    with pytest.raises(ERRORS):  # a failed operation counts, apart
        crypto_ops.decrypt(actor=who, name="payments", ciphertext="egide:v9:AAAA")
    days = ops_per_day(actor=who, name="payments")
    assert len(days) == 30 and days[-1].day == clock().date()
    assert (days[-3].ok, days[-3].failed) == (1, 0)
    assert (days[-1].ok, days[-1].failed) == (1, 1)
    assert sum(d.total for d in days) == 3  # the key's creation and views are not operations


def test_it_hides_the_counts_of_a_key_you_may_not_see(mallory, aes_key):
    with pytest.raises(KeyNotFound):
        ops_per_day(actor=web_actor(mallory), name="payments")


def test_it_scales_bars_to_a_round_top():
    start = date(2030, 1, 1)
    days = [DayCount(start + timedelta(days=i), ok=i, failed=1 if i == 29 else 0) for i in range(30)]
    chart = bar_chart(days)
    assert [t.value for t in chart.ticks] == [0, 25, 50]
    tallest = chart.bars[-1]
    assert tallest.label == "2030-01-30: 30 operations (1 failed)"
    assert tallest.failed_y + tallest.failed_height == tallest.ok_y
    assert chart.bars[0].ok_height == 0 and chart.total == sum(range(30)) + 1


def test_it_draws_an_empty_month_without_dividing_by_zero():
    start = date(2030, 1, 1)
    chart = bar_chart([DayCount(start + timedelta(days=i), 0, 0) for i in range(30)])
    assert chart.peak == 0 and [t.value for t in chart.ticks] == [0, 1]


def test_the_key_page_draws_the_chart_inline(as_bob, bob, aes_key):
    crypto_ops.encrypt(actor=web_actor(bob), name="payments", plaintext=b"x")
    html = key_page(as_bob, "payments")
    assert '<svg class="chart"' in html and 'role="img"' in html
    assert ": 1 operation</title>" in html
    assert "1 operation in 30 days (0 failed)" in html
