"""Client-side flow control (client/ratelimit.py): one adaptive limiter per account, endpoint and
action in the process, shared by both paths; and the emulator's flow control it is measured against."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from airflow_provider_ice.client.ratelimit import BETA, MIN_RATE, AdaptiveRateLimiter, limiter_for
from airflow_provider_ice.exceptions import IceConfigurationError
from airflow_provider_ice.hooks.ice import IceHook
from tests.helpers import call, use_connection
from tests.test_emulator import raw_call


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def sent(limiter: AdaptiveRateLimiter, clock: Clock, n: int, every: float, throttled: bool = False) -> None:
    """``n`` calls sent ``every`` seconds, each answered at once."""
    for _ in range(n):
        clock.now += every
        limiter.reserve()
        limiter.answered(throttled, sent_at=clock.now)


def test_nothing_waits_until_ice_throttles():
    clock = Clock()
    limiter = AdaptiveRateLimiter("GetAIWorkflowTask", clock=clock)
    sent(limiter, clock, 100, 0.01)
    ticket = limiter.reserve()
    assert (limiter.rate, ticket, limiter.nap(ticket)) == (None, None, 0.0)


def test_a_refusal_cuts_the_rate_and_successes_win_it_back_along_the_cubic_curve():
    clock = Clock()
    limiter = AdaptiveRateLimiter("GetAIWorkflowTask", clock=clock)
    sent(limiter, clock, 200, 0.01)  # 100 calls a second, measured
    limiter.answered(throttled=True)
    cut = limiter.rate
    assert cut is not None and cut == pytest.approx(100 * BETA, rel=0.15)
    # paced: each ticket a 1/rate slot after the previous one
    first, second = limiter.reserve(), limiter.reserve()
    assert limiter.nap(first) == 0.0 and limiter.nap(second) == pytest.approx(1 / cut)
    rates: list[float] = []
    for _ in range(10):  # successes at the paced rate: the rate climbs back past where it was cut
        sent(limiter, clock, 50, 1 / 100)
        rates.append(limiter.rate or 0.0)
    assert rates == sorted(rates) and rates[-1] > cut


def test_a_cap_holds_whatever_ice_says():
    clock = Clock()
    limiter = AdaptiveRateLimiter("StartAIWorkflow", max_rate=5, clock=clock)
    assert limiter.rate == 5
    for _ in range(100):  # answers alone never raise it
        limiter.answered(False)
    assert limiter.rate == 5
    waits = [limiter.nap(limiter.reserve()) for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])  # a burst is spaced at the cap


def test_a_first_refusal_after_a_burst_paces_near_the_burst_not_at_the_floor():
    clock = Clock()
    limiter = AdaptiveRateLimiter("GetAIWorkflowTask", clock=clock)
    sent(limiter, clock, 40, 0.002)  # 40 calls in 80 ms: no full measuring bucket yet
    limiter.answered(throttled=True)
    assert limiter.rate is not None and limiter.rate > 50 * MIN_RATE


def test_throttling_is_logged_once_when_it_starts_and_once_when_it_ends(caplog):
    caplog.set_level(logging.INFO, logger="airflow_provider_ice.client.ratelimit")
    clock = Clock()
    limiter = AdaptiveRateLimiter("GetAIWorkflowTask", clock=clock)
    sent(limiter, clock, 100, 0.01)
    sent(limiter, clock, 5, 0.01, throttled=True)
    sent(limiter, clock, 100, 1.0)  # 100 s without a refusal
    lines = [r.getMessage() for r in caplog.records]
    assert len([m for m in lines if m.startswith("ICE throttles GetAIWorkflowTask: pacing it at")]) == 1
    assert len([m for m in lines if m.startswith("ICE no longer throttles GetAIWorkflowTask")]) == 1


def test_one_limiter_per_account_endpoint_and_action():
    a = limiter_for("key:LTAIa", "ice.cn-shanghai.aliyuncs.com", "GetAIWorkflowTask")
    assert limiter_for("key:LTAIa", "ice.cn-shanghai.aliyuncs.com", "GetAIWorkflowTask") is a
    assert limiter_for("key:LTAIb", "ice.cn-shanghai.aliyuncs.com", "GetAIWorkflowTask") is not a
    assert limiter_for("key:LTAIa", "ice.cn-shanghai.aliyuncs.com", "StartAIWorkflow") is not a


def test_the_account_is_the_key_or_the_role_never_an_sts_token(ice_emulator, monkeypatch):
    use_connection(monkeypatch, ice_emulator, credential_type="ram_role_arn", role_arn="acs:ram::1:role/ice")
    assert IceHook().get_connection_config().account == "role:acs:ram::1:role/ice"
    use_connection(monkeypatch, ice_emulator)
    assert IceHook().get_connection_config().account == f"key:{ice_emulator.access_key_id}"


def test_max_calls_per_second_is_checked(ice_emulator, monkeypatch):
    use_connection(monkeypatch, ice_emulator, max_calls_per_second="fast")
    with pytest.raises(IceConfigurationError, match=r"Max calls per second \(per process\)"):
        IceHook().get_connection_config()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_max_calls_per_second_paces_each_action(ice_emulator, monkeypatch, mode):
    use_connection(monkeypatch, ice_emulator, max_calls_per_second=20)
    ice_emulator.backend.add_workflow("wf", running_polls=10**6)
    task_id = ice_emulator.backend.add_task("wf")
    started = time.monotonic()
    for _ in range(11):
        call(mode, "get_workflow_task", task_id)
    assert time.monotonic() - started >= 0.45  # 10 intervals of 1/20 s


async def test_both_paths_share_the_processs_pacing(ice_emulator, monkeypatch):
    use_connection(monkeypatch, ice_emulator)
    ice_emulator.backend.add_workflow("wf", running_polls=10**6)
    task_id = ice_emulator.backend.add_task("wf")
    ice_emulator.backend.inject("throttling", 1)
    await asyncio.to_thread(IceHook().get_workflow_task, task_id)  # the sync path is refused once
    config = IceHook().get_connection_config()
    limiter = limiter_for(config.account, config.endpoint, "GetAIWorkflowTask")
    assert limiter.rate is not None  # the async path now waits for its slot in the same pacing
    async with IceHook() as hook:
        assert (await hook.aget_workflow_task(task_id)).status == "running"


def test_the_emulator_refuses_calls_over_its_flow_control_per_account(ice_emulator):
    ice_emulator.backend.flow_control.set("GetAIWorkflowTask", 5, code="RequestsTooFrequent")
    answers = [raw_call(ice_emulator, "GetAIWorkflowTask", {"TaskId": "t"}) for _ in range(8)]
    refused = [(status, body["Code"]) for status, body in answers if body.get("Code") == "RequestsTooFrequent"]
    assert refused and set(refused) == {(403, "RequestsTooFrequent")}
    assert len(answers) - len(refused) == 5  # a one-second burst
    assert ice_emulator.backend.flow_control.refused["GetAIWorkflowTask"] == len(refused)


async def test_a_hundred_pollers_stay_inside_the_accounts_flow_control(ice_emulator, monkeypatch):
    """A smoke pass of make bench's flow-control row: 100 async pollers, 40 calls a second allowed."""
    use_connection(monkeypatch, ice_emulator, max_attempts=10)
    ice_emulator.backend.add_workflow("wf", running_polls=10**6)
    ids = [ice_emulator.backend.add_task("wf") for _ in range(100)]
    ice_emulator.backend.flow_control.set("GetAIWorkflowTask", 40)
    refused = ice_emulator.backend.flow_control.refused
    async with IceHook() as hook:

        async def poll_all() -> None:
            await asyncio.gather(*(hook.aget_workflow_task(t) for t in ids))

        await poll_all()  # a hundred at once: ICE refuses most of them, once; the pacing starts
        before = (ice_emulator.backend.calls("GetAIWorkflowTask"), refused["GetAIWorkflowTask"])
        await poll_all()
        await poll_all()
    calls = ice_emulator.backend.calls("GetAIWorkflowTask") - before[0]
    assert calls - (refused["GetAIWorkflowTask"] - before[1]) == 200  # every poll answered
    assert (refused["GetAIWorkflowTask"] - before[1]) / calls < 0.1, (refused, calls)
