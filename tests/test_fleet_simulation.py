"""The limiter in a fleet, in simulated time (tests/fleet_sim.py): 1,000 pollers at 5-s polls
through the real attempt, retry and limiter code against the emulator's model of ICE's flow control
(50 calls a second, a one-second burst, 4 ms round trips). Against the limiter before it measured
ICE's answers (issue 28; main at efe368d) the same run fails: 44.9 calls a second steady, 2.4 %
throttled, back at 90 % of the quota 32 s after the forced cut, 38.9 calls a second after it.
The shares of a fleet are the whole span's (over 40-s spans they differ by up to 1.6x)."""

from __future__ import annotations

import logging

from airflow_provider_ice.client.ratelimit import AdaptiveRateLimiter
from tests.fleet_sim import simulate

QUOTA = 50.0
CUT = (60.0, 61.0)  # ICE refuses every call for a second, as when another process empties the bucket
END = 100.0


def test_a_thousand_pollers_use_the_quota_and_recover_from_a_forced_cut(caplog):
    caplog.set_level(logging.ERROR)  # a refusal retried is a warning: hundreds of lines
    run = simulate(pollers=1000, interval=5.0, quota=QUOTA, seconds=END, refuse_all=CUT)
    steady = run.rate(20, CUT[0])
    assert abs(steady - QUOTA) <= 0.05 * QUOTA, f"steady rate {steady:.1f} calls/s against {QUOTA:g}"
    assert run.throttled_share(20, CUT[0]) <= 0.02
    recovered = run.recovered_after(CUT[1], END, share=0.9, quota=QUOTA)
    assert recovered is not None and recovered <= 20, f"back at 90 % of the quota after {recovered} s"
    after = run.rate(CUT[1] + 20, END)
    assert abs(after - QUOTA) <= 0.05 * QUOTA, f"rate {after:.1f} calls/s after the cut"
    assert run.failed_polls == 0


def test_four_processes_on_one_account_share_its_quota_evenly(caplog):
    """Four triggerers, each its own limiter, 250 pollers each, one account's 50 calls a second."""
    caplog.set_level(logging.ERROR)
    run = simulate(pollers=1000, interval=5.0, quota=QUOTA, seconds=80.0, processes=4)
    assert abs(run.rate(20, 80) - QUOTA) <= 0.05 * QUOTA
    assert run.throttled_share(20, 80) <= 0.05
    shares = run.shares(20, 80)
    assert max(shares) / min(shares) <= 1.3, shares


def test_a_thousand_waits_started_at_once_meet_ice_s_bucket_with_few_calls_in_flight(caplog):
    """A triggerer starting 1,000 waits in 0.3 s while its loop is busy (round trips of 250 ms, as
    make bench measured at start-up). Without the slow start (main at b5245c1): 822 refused in the
    first 5 s, 21.9 % of the first minute's calls."""
    caplog.set_level(logging.ERROR)
    run = simulate(pollers=1000, interval=5.0, quota=QUOTA, seconds=60.0, start_spread=0.3, round_trip=0.25)
    assert sum(run.refused[s] for s in range(5)) <= 50
    assert run.throttled_share(0, 60) <= 0.03  # round trips of 250 ms throughout: more in flight at each cut
    assert run.failed_polls == 0


def test_a_slow_start_wakes_the_queued_waits_a_few_times_not_on_every_rise(caplog, monkeypatch):
    """Every wake resumes each queued coroutine: 1,000 waits queued at once are woken on each 25 %
    rise of the slow start (13,783 sleeps in its first 10 s), not on each 5 % (54,114)."""
    caplog.set_level(logging.ERROR)
    sleeps = []
    real = AdaptiveRateLimiter.asleep

    async def counted(self: AdaptiveRateLimiter, seconds: float) -> None:
        sleeps.append(seconds)
        await real(self, seconds)

    monkeypatch.setattr(AdaptiveRateLimiter, "asleep", counted)
    simulate(pollers=1000, interval=60.0, quota=10_000, seconds=10.0, start_spread=0.0)
    assert len(sleeps) <= 20 * 1000, len(sleeps)
