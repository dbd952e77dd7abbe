from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.store.rows import to_datetime, to_ms


@given(st.integers(min_value=-62_135_596_800_000 + 86_400_000, max_value=253_402_300_799_999))
def test_milliseconds_round_trip_exactly_through_datetimes(ms: int) -> None:
    moment = to_datetime(ms)
    assert moment.tzinfo is UTC
    assert moment == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    assert to_ms(moment) == ms


@pytest.mark.parametrize("ms", [0, 1_754_400_000_123, 3_999_999_999_999, 4_000_000_000_000, -1, -86_400_001])
def test_both_sides_of_the_fast_range(ms: int) -> None:
    assert to_ms(to_datetime(ms)) == ms


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        to_ms(datetime(2025, 8, 5, 13, 20))
