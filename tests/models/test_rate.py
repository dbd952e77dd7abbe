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

