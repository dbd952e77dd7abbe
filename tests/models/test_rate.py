from app.models import format_bytes, format_duration, format_speed
from app.models.rate import RateMeter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_speed_and_time_left_over_the_recent_window() -> None:
    clock = Clock()
    meter = RateMeter(window_seconds=5, clock=clock)
    assert meter.speed() == 0.0 and meter.eta(1000) is None
    for second in range(11):
        clock.now = 100.0 + second
        meter.add(second * 2_000_000 if second <= 5 else 10_000_000 + (second - 5) * 1_000_000)
    assert meter.speed() == 1_000_000  # only the last five seconds count
    assert meter.eta(30_000_000) == 30.0


def test_a_stalled_transfer_slows_down_the_estimate() -> None:
    clock = Clock()
    meter = RateMeter(window_seconds=5, clock=clock)
    meter.add(0)
    clock.now += 1
    meter.add(1_000_000)
    clock.now += 9  # nothing arrived for nine seconds
    assert meter.speed() == 100_000


def test_people_read_sizes_speeds_and_durations() -> None:
    assert format_bytes(12_109_566_624) == "12.1 GB"
    assert format_bytes(999) == "999 B"
    assert format_speed(45_300_000) == "45.3 MB/s"
    assert format_duration(None) == "unknown"
    assert format_duration(242) == "4 min 2 s"
    assert format_duration(7_500) == "2 h 5 min"
