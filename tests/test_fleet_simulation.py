"""The limiter in a fleet, in simulated time (tests/fleet_sim.py): 1,000 pollers at 5-s polls
through the real attempt, retry and limiter code against the emulator's model of ICE's flow control
(50 calls a second, a one-second burst, 4 ms round trips). Against the limiter before it measured
ICE's answers (issue 28; main at efe368d) the same run fails: 44.9 calls a second steady, 2.4 %
throttled, back at 90 % of the quota 32 s after the forced cut, 38.9 calls a second after it."""

from __future__ import annotations

import logging

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
    shares = [run.useful_by_process[p] / sum(run.useful_by_process.values()) for p in range(4)]
    assert max(shares) / min(shares) <= 1.15, shares
