"""IceStartAIWorkflowOperator: start an ICE AI workflow task and (optionally) wait for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_ice.operators.job import IceSubmitJobOperator
from airflow_provider_ice.params import check_literal_json, require_id, start_query, template_of


class IceStartAIWorkflowOperator(IceSubmitJobOperator):
    """Start a task from an ICE AI workflow template (StartAIWorkflow); wait for it by default.

    :param workflow_id: the workflow template id (templated).
    :param inputs: the task's Inputs: a dict or list (rendered, then JSON-encoded), a JSON string
        (templated), or an upstream task's output (XComArg); default None: no Inputs. A literal
        that is not JSON fails at DAG parse.
    :param user_data: UserData: any string (sent unchanged), or a dict or list (JSON-encoded);
        templated; default None. Give it something that identifies the run: a Start that may have
        run without an answer can be found by it.
    :param dispatch_tag: DispatchTag (templated); default None.

    Every other parameter is :class:`~airflow_provider_ice.operators.job.IceSubmitJobOperator`'s:
    ``wait_for_completion`` (False: push the TaskId and end at once), ``deferrable``,
    ``poll_interval``, ``max_poll_interval``, ``timeout``, ``unreachable_timeout``,
    ``accept_partial_success`` (succeed on ``partial-succeeded`` too), ``ice_conn_id``, ``region_id``.

    XCom (none with ``do_xcom_push=False``): ``workflow_task_id`` right after the start; when waiting,
    the sensor's contract (``return_value`` = Outputs, ``node_results``, ``status``) with the same
    outcome rules.
    On Airflow >= 3.3 a retry reattaches to the task this operator already started (the TaskId is
    kept in the task state store) instead of starting a duplicate; below 3.3 Airflow keeps nothing
    across tries, so a retry starts a new task and its start is logged as a warning saying so
    (``durable=True`` there warns that it has no effect).
    ``on_kill`` asks ICE to stop the task. ICE stops real-time (live, RTC) tasks only: an offline
    task keeps running (and billing) until it ends, and the refusal is logged saying so.
    """

    template_fields: Sequence[str] = ("workflow_id", "inputs", "user_data", "dispatch_tag", "ice_conn_id", "region_id")
    template_fields_renderers = {"inputs": "json", "user_data": "json"}
    external_id_key = "ice_workflow_task_id"
    workflow_task_id: str | None

    def __init__(
        self,
        *,
        workflow_id: str,
        inputs: Any = None,
        user_data: Any = None,
        dispatch_tag: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_literal_json(self.task_id, "inputs", inputs)
        check_literal_json(self.task_id, "user_data", user_data, any_string=True)
        self.workflow_id = workflow_id
        self._id_template = template_of(workflow_id)  # rendering replaces the field: for messages
        self.inputs = inputs
        self.user_data = user_data
        self.dispatch_tag = dispatch_tag

    def execute(self, context: Any) -> Any:
        # Unencodable inputs/user_data fail in submit_query, before StartAIWorkflow.
        self.workflow_id = require_id("workflow_id", self.workflow_id, self._id_template)
        return super().execute(context)

    def submit_query(self, context: Any) -> dict[str, str]:
        """StartAIWorkflow's parameters, checked and encoded.

        :param context: the task's context.
        """
        return start_query(self.workflow_id, self.inputs, self.user_data, self.dispatch_tag or None)

    def submitted_from(self) -> str:
        return f" from workflow {self.workflow_id}"
