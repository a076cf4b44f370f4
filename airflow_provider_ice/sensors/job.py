"""IceJobSensor: wait for an ICE job of any kind (:mod:`airflow_provider_ice.kinds`) and hand its
results to XCom; each kind's sensor is this with its kind set."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from warnings import warn

from airflow.providers.common.compat.sdk import AirflowSkipException, BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_ice.exceptions import IceApiError, IceConfigurationError
from airflow_provider_ice.hooks.ice import IceHook
from airflow_provider_ice.links import IceConsoleLink
from airflow_provider_ice.operators.wait_mixin import IceWaitMixin, deferral_timeout, trigger_target
from airflow_provider_ice.params import require_id, require_positive, template_of
from airflow_provider_ice.version_compat import degrade_start_from_trigger, refuse_reschedule
from airflow_provider_ice.waiting import (
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_UNREACHABLE_TIMEOUT,
    Outage,
    Wait,
    next_poll_interval,
)

#: Task state store key of an outage that spans reschedules.
_OUTAGE_KEY = "ice_unreachable"


def warn_queue_ignored(queue: str) -> None:
    """With trigger queues on, a start_from_trigger sensor's trigger has no queue: Airflow (3.3.2)
    writes it with none (``TaskInstance.defer_task``), so it runs only on a triggerer started without
    ``--queues``, whatever the sensor's queue (docs/production.md).

    :param queue: the sensor's ``queue``.
    """
    if conf.getboolean("triggerer", "queues_enabled", fallback=False):
        # `warn`, not `warnings.warn`: Airflow 3 wraps a module's `warnings` when it builds an
        # operator defined there and adds to every stacklevel (sdk/bases/operator.py).
        warn(
            f"start_from_trigger=True with trigger queues enabled: Airflow gives this sensor's trigger no "
            f"queue, so it runs only on a triggerer started without --queues (on none if every triggerer "
            f"has --queues), and its queue={queue!r} does not pick one. Use deferrable=True to wait on "
            f"the {queue!r} triggerers.",
            UserWarning,
            stacklevel=_caller_level(),
        )


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside this package and Airflow: the line that built
    the sensor, however many ``__init__`` wrappers (each kind's class, Airflow's) stand between."""
    frame, level = sys._getframe(2), 2
    while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).startswith(_OURS):
        frame, level = frame.f_back, level + 1
    return level


_OURS = ("airflow_provider_ice.", "airflow.", "functools")


class IceJobSensor(IceWaitMixin, BaseSensorOperator):
    """Wait until an ICE job of the class's ``kind`` is terminal; push its results to XCom.

    :param job_id: the job's id (templated; the attribute is named by the kind: ``job_id``, or
        ``workflow_task_id`` for AI workflows).
    :param ice_conn_id: the ``alibaba_cloud_ice`` connection (templated); default ``ice_default``.
    :param region_id: the ICE region instead of the connection's ``region_id`` (templated); default
        None: the connection's.
    :param accept_partial_success: succeed on a partial success too (AI workflows'
        ``partial-succeeded``; the other kinds have none); default False: it fails.
    :param deferrable: wait in the triggerer, freeing the worker; default ``[operators]
        default_deferrable`` (False unless configured).
    :param poke_interval: seconds between polls at first (all modes); default 30.
    :param max_poll_interval: the interval grows with the time waited, up to this many seconds,
        keeping detection within max(poke_interval, 10% of the time waited); default 600; set it
        equal to ``poke_interval`` (or None) for a fixed rate. Same in every mode.
    :param timeout: seconds before giving up with ``AirflowSensorTimeout`` (skipped with
        ``soft_fail``); default 7 days, Airflow's sensor default.
    :param unreachable_timeout: end with an error once every poll has failed (ICE unreachable, after
        the hook's retries) for this many seconds; default 3600; None: never. In every mode a
        transient error is logged and the next poll tries again. Reschedule mode keeps the outage in
        the task state store (Airflow >= 3.3); below, each poke starts afresh and only ``timeout``
        bounds it.
    :param start_from_trigger: run entirely in the triggerer, never occupying a worker: the trigger
        writes the XCom contract and ends the task (Airflow >= 3.3; below, a warning says the sensor
        defers from a worker instead, as ``deferrable=True`` does); default False.

    Outcomes: the kind's success statuses succeed, its failure statuses fail
    (``AirflowFailException``, no retries: the remote job will not change) with ICE's error; an
    undocumented status is warned about once and polled on. XCom, written in every terminal
    outcome: ``return_value`` (the kind's result) and ``status``.
    """

    template_fields: Sequence[str] = ("job_id", "ice_conn_id", "region_id")
    ui_color = "#ff6a00"
    operator_extra_links = (IceConsoleLink(),)

    def __init__(
        self,
        *,
        job_id: str,
        ice_conn_id: str = IceHook.default_conn_name,
        region_id: str | None = None,
        accept_partial_success: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float = timedelta(days=7).total_seconds(),
        max_poll_interval: float | None = DEFAULT_MAX_POLL_INTERVAL,
        start_from_trigger: bool = False,
        unreachable_timeout: float | None = DEFAULT_UNREACHABLE_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        require_positive("poke_interval", poke_interval)
        require_positive("max_poll_interval", max_poll_interval, allow_none=True)
        require_positive("timeout", timeout)
        require_positive("unreachable_timeout", unreachable_timeout, allow_none=True)
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        setattr(self, self.kind.id_xcom_key, job_id)  # the templated field, named as the kind's id
        self._id_template = template_of(job_id)  # rendering replaces the field: for messages
        self.ice_conn_id = ice_conn_id
        self.region_id = region_id
        self.accept_partial_success = accept_partial_success
        self.deferrable = deferrable
        self.max_poll_interval = max_poll_interval
        self.unreachable_timeout = unreachable_timeout
        self._wait: Wait | None = None
        if self.reschedule:
            refuse_reschedule()
        if start_from_trigger and not degrade_start_from_trigger():
            self.deferrable = True  # below Airflow 3.3: defer from a worker instead (it warned)
        elif start_from_trigger:
            from airflow.triggers.base import StartTriggerArgs

            # No worker at all: the triggerer renders these kwargs (the templated ones among them),
            # runs the same trigger as the deferrable path and ends the task itself, XComs included.
            self.start_from_trigger = True
            warn_queue_ignored(self.queue)
            self.start_trigger_args = StartTriggerArgs(
                trigger_cls=trigger_target(self.kind, job_id)[0],
                trigger_kwargs=self.wait_trigger_kwargs(
                    job_id, poke_interval, timeout, end_from_trigger=True, soft_fail=self.soft_fail
                ),
                next_method="execute_complete",
                next_kwargs=None,
                timeout=deferral_timeout(timeout),
            )

    @property
    def _job_id(self) -> str:
        return str(getattr(self, self.kind.id_xcom_key))

    def execute(self, context: Any) -> Any:
        key = self.kind.id_xcom_key
        setattr(self, key, require_id(key, getattr(self, key), self._id_template))
        self.log_console_hint(self._job_id)
        if not self.deferrable:
            return super().execute(context)
        # One synchronous check first: an already finished job needs no triggerer round trip.
        task = self.first_check(self._job_id)
        if task is not None and task.is_terminal:
            return self.finish(context, task)
        if task is not None:
            self.log.info("%s %s is %s; deferring.", self.kind.noun, self._job_id, task.status)
        self.defer_to_trigger(self._job_id, self.poke_interval, self.timeout)

    def poke(self, context: Any) -> bool | PokeReturnValue:
        # Reschedule mode runs each poke in a new process: the outage is kept in the task state
        # store (Airflow >= 3.3), which lasts across reschedules; poke mode keeps it on the instance.
        # Airflow's own timeout ends poke and reschedule modes: the Wait has no deadline here.
        store = context.get("task_state_store") if self.reschedule else None
        if self._wait is None:
            self._wait = self.new_wait(self._job_id, self.poke_interval, None)
        wait = self._wait
        if store is not None:
            wait.outage = Outage(**(store.get(_OUTAGE_KEY) or {}))
        had_outage = wait.outage.count
        answer = self.poll(self._job_id)
        event = wait.step(answer, self.log)
        if store is not None and (wait.outage.count or had_outage):
            store.set(_OUTAGE_KEY, vars(wait.outage) if wait.outage.count else {})  # the store holds no None
        if wait.error is not None:
            raise wait.error
        if event is None or isinstance(answer, Exception):
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.finish(context, answer))

    def _get_next_poke_interval(self, started_at: Any, run_duration: Any, poke_count: int) -> float:
        # Poke and reschedule modes grow their interval exactly as the trigger does. Not public
        # Airflow API: see version_compat.UPSTREAM_WORKAROUNDS.
        if self.exponential_backoff:
            return super()._get_next_poke_interval(started_at, run_duration, poke_count)
        return next_poll_interval(run_duration(), self.poke_interval, self.max_poll_interval)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSkipException as exc:
            # soft_fail skips on timeouts and failed tasks, never on bad configuration or API errors:
            # Airflow's deferred resume turns *any* AirflowException into a skip under soft_fail, poke
            # mode does not. Re-raising the cause keeps the outcome the same in every mode.
            if isinstance(exc.__cause__, (IceApiError, IceConfigurationError)):
                raise exc.__cause__ from None
            raise
