"""What a waiting trigger holds while it sleeps: the objects the triggerer's garbage collector walks on
each full collection (at 10,000 waits its pauses are the event loop's longest: docs/scale.md), and the
connection settings a thousand waits share."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys

import pytest
import yarl

import airflow_provider_ice.triggers.ice as trigger_module
from airflow_provider_ice import waiting
from airflow_provider_ice.hooks.ice import IceHook
from airflow_provider_ice.triggers.ice import IceWorkflowTaskTrigger
from tests.helpers import until, use_connection

WAITS = 2000
#: Objects the collector tracks per sleeping wait, this test's own task and coroutine included.
#: Measured 24 (Python 3.11-3.13, Airflow 2.11-3.3); 31.6-32.5 when each wait had its own copy of
#: the connection's settings, a dict of poll queries, an outage record before any failure and (Airflow
#: 3) a structlog logger of its own. The pool's TLS connections (up to 32, and the emulator's) add
#: about one per wait at most: what the 2,000 waits dilute.
MOST_PER_WAIT = 29


def _tracked() -> int:
    """Objects the collector tracks, after a collection; the URL parser's caches (bounded, shared by
    every wait: a few hundred URLs whatever the number of waits) emptied first."""
    yarl.cache_clear()
    gc.collect()
    return len(gc.get_objects())


async def _run(trigger: IceWorkflowTaskTrigger) -> None:
    async for _ in trigger.run():
        return


async def test_a_sleeping_wait_holds_few_objects_for_the_garbage_collector(ice_emulator_tls, monkeypatch):
    emulator = ice_emulator_tls  # over TLS, as in production
    use_connection(monkeypatch, emulator)
    monkeypatch.setattr(trigger_module, "FIRST_POLL_SPREAD", 0.2)  # every first poll within 0.2 s
    emulator.backend.add_workflow("forever", running_polls=10**9)
    warm, *task_ids = (emulator.backend.add_task("forever") for _ in range(WAITS + 1))
    asleep = 0
    next_sleep = waiting.Wait.next_sleep

    def going_to_sleep(wait: waiting.Wait) -> float:  # called as a wait goes to sleep, answer read
        nonlocal asleep
        asleep += 1
        return next_sleep(wait)

    monkeypatch.setattr(waiting.Wait, "next_sleep", going_to_sleep)
    # One wait first: the client stack, the TLS session and the connection's settings exist before
    # the count, as in a triggerer that already runs waits.
    tasks = [asyncio.ensure_future(_run(IceWorkflowTaskTrigger(warm, poll_interval=60)))]
    logging.disable(logging.CRITICAL)  # pytest keeps every log record: not the trigger's objects
    try:
        await until(lambda: asleep == 1, "the first wait's sleep")
        before = _tracked()
        tasks += [asyncio.ensure_future(_run(IceWorkflowTaskTrigger(t, poll_interval=60))) for t in task_ids]
        await until(lambda: asleep == WAITS + 1, "every wait's sleep after its first poll")  # of 60 s
        per_wait = (_tracked() - before) / WAITS
    finally:
        logging.disable(logging.NOTSET)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert per_wait <= MOST_PER_WAIT, f"{per_wait:.1f} tracked objects per sleeping wait"


def test_hooks_of_one_connection_share_its_settings_and_a_changed_connection_gets_new_ones(ice_emulator, monkeypatch):
    use_connection(monkeypatch, ice_emulator)
    first, second = IceHook().get_connection_config(), IceHook().get_connection_config()
    assert first is second
    assert IceHook(region_id="cn-beijing").get_connection_config().region_id == "cn-beijing"
    assert IceHook().get_connection_config() is first

    use_connection(monkeypatch, ice_emulator, password="rotated-secret")
    rotated = IceHook().get_connection_config()
    assert rotated.access_key_secret == "rotated-secret"
    assert first.access_key_secret == ice_emulator.access_key_secret  # shared settings never change


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_connection_with_a_bad_field_fails_every_hook_not_just_the_first(ice_emulator, monkeypatch, mode):
    from airflow_provider_ice.exceptions import IceConfigurationError

    use_connection(monkeypatch, ice_emulator, region_id="not a region")
    for _ in range(2):  # a failed build is not remembered as a config
        with pytest.raises(IceConfigurationError, match="region_id"):
            if mode == "sync":
                IceHook().get_connection_config()
            else:
                asyncio.run(IceHook().aget_connection_config())


def test_each_trigger_class_logs_under_its_own_name_whichever_ran_first():
    """A wait logs through its class's logger (one per class, not one per trigger), which Airflow's
    LoggingMixin keeps on the class: a subclass must not inherit its parent's once the parent's
    trigger ran first in the process (a fresh one here)."""
    script = (
        "from airflow_provider_ice.triggers.ice import IceJobTrigger, IceWorkflowTaskTrigger as W\n"
        "parent = IceJobTrigger.logger()\n"
        "print(W.logger() is not parent, W.logger() is W.logger(), W('t').log is W.logger())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split()[-3:] == ["True", "True", "True"], done.stdout + done.stderr
