"""Lineage of an ICE job: the OSS objects it reads and writes (an AI workflow task's Inputs and
Outputs; another kind's fields its :mod:`~airflow_provider_ice.kinds` entry names).

Naming rule (OpenLineage's object-storage convention, as for S3): a dataset's namespace is
``oss://<bucket>`` and its name is the object key. Both the ``oss://bucket/key`` form and the
``https://bucket.oss-<region>[-internal].aliyuncs.com/key`` form are found, at any depth of the JSON
(strings holding a JSON document are looked into too).

Reported two ways, both optional: OpenLineage facets (``apache-airflow-providers-openlineage``,
imported only when its listener asks) and Airflow's hook-level lineage collector.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from airflow_provider_ice.hooks.ice import IceHook
    from airflow_provider_ice.models import JobRecord

_BUCKET = r"(?P<bucket>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])"
# oss:// keys are not URL-encoded: everything after the bucket is the key.
_OSS_URI = re.compile(rf"oss://{_BUCKET}/(?P<key>.+)")
# Virtual-hosted URLs: regional (oss-<region>[-internal]), legacy (oss, oss-internal) and accelerate
# endpoints, any port; the key is URL-encoded and ends at the query (a signature) or fragment.
_OSS_URL = re.compile(
    rf"https?://{_BUCKET}\.oss(?:-[a-z0-9-]+)?\.aliyuncs\.com(?::\d+)?/(?P<key>[^?#]+)(?:[?#].*)?", re.IGNORECASE
)
#: Run facet key for the ICE AI workflow task (``_schemaURL`` points at the provider's docs).
RUN_FACET = "iceWorkflowTask"
#: Run facet key for a job of another kind.
JOB_RUN_FACET = "iceJob"


@dataclass(frozen=True)
class OssObject:
    """One OSS object: OpenLineage namespace ``oss://<bucket>``, name = key."""

    bucket: str
    key: str

    @property
    def namespace(self) -> str:
        return f"oss://{self.bucket}"

    @property
    def uri(self) -> str:
        """The asset URI: the key percent-encoded (Airflow's assets take ASCII URIs without ``?``/``#``)."""
        return f"oss://{self.bucket}/{quote(self.key, safe='/')}"


def oss_objects(value: Any) -> list[OssObject]:
    """The OSS objects named anywhere in ``value`` (parsed JSON), each once, in order of appearance."""
    return list(dict.fromkeys(_walk(value, depth=0)))


def _walk(value: Any, depth: int) -> Iterator[OssObject]:
    if depth > 32:  # a pathological document; lineage is best effort
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)
    elif isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                parsed = json.loads(text)
            except ValueError:
                return
            yield from _walk(parsed, depth + 1)
            return
        match = _OSS_URI.fullmatch(text) or _OSS_URL.fullmatch(text)
        if match:
            key = unquote(match["key"]) if match.re is _OSS_URL else match["key"]
            yield OssObject(match["bucket"].lower(), key)


class IceLineageMixin:
    """Lineage for an operator that ends on an ICE job (:class:`~.operators.wait_mixin.IceWaitMixin` uses it)."""

    _lineage_task: JobRecord | None = None

    def record_lineage(self, task: JobRecord, hook: IceHook) -> None:
        """Keep the finished job for OpenLineage, and report its objects to Airflow's hook lineage."""
        self._lineage_task = task
        inputs, outputs = (oss_objects(value) for value in task.lineage_values())
        if not (inputs or outputs):
            return
        try:
            from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

            collector = get_hook_lineage_collector()
            for obj in inputs:
                collector.add_input_asset(context=hook, uri=obj.uri)
            for obj in outputs:
                collector.add_output_asset(context=hook, uri=obj.uri)
        except Exception as exc:  # lineage is best effort: it must never change the task's outcome
            hook.log.warning("Hook lineage of ICE task %s not reported: %s", task.job_id, exc)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the objects the job read as input datasets, those it wrote as outputs, and
        the ICE job as a run facet (also on failure: the OpenLineage provider falls back to this method)."""
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import InputDataset, OutputDataset

        task = self._lineage_task
        if task is None:  # ended before ICE had a task (e.g. a configuration error)
            return OperatorLineage()
        from airflow_provider_ice.models import IceWorkflowTask

        inputs, outputs = (oss_objects(value) for value in task.lineage_values())
        if isinstance(task, IceWorkflowTask):
            workflow_id = getattr(self, "workflow_id", None) or (task.workflow or {}).get("workflow_id")
            facet = RUN_FACET, _run_facet_class()(taskId=task.task_id, workflowId=workflow_id, status=task.status)
        else:
            facet = JOB_RUN_FACET, _job_facet_class()(jobId=task.job_id, kind=task.kind_name, status=task.status)
        return OperatorLineage(
            inputs=[InputDataset(namespace=o.namespace, name=o.key) for o in inputs],
            outputs=[OutputDataset(namespace=o.namespace, name=o.key) for o in outputs],
            run_facets=dict([facet]),
        )


@cache
def _run_facet_class() -> type:
    """The ICE run facet, defined on first use (openlineage-python is an optional dependency)."""
    import attr
    from openlineage.client.facet_v2 import RunFacet

    @attr.define
    class IceWorkflowTaskRunFacet(RunFacet):
        """The ICE AI workflow task behind this run."""

        taskId: str
        workflowId: str | None
        status: str

        @staticmethod
        def _get_schema() -> str:
            # No published JSON schema: the docs' Lineage page documents the facet.
            return "https://airflow-provider-ice.readthedocs.io/en/latest/lineage.html"

    return IceWorkflowTaskRunFacet


@cache
def _job_facet_class() -> type:
    """The run facet of an ICE job of another kind than AI workflows, defined on first use."""
    import attr
    from openlineage.client.facet_v2 import RunFacet

    @attr.define
    class IceJobRunFacet(RunFacet):
        """The ICE job behind this run: its id, kind (``media_convert``…) and final status."""

        jobId: str
        kind: str
        status: str

        @staticmethod
        def _get_schema() -> str:
            return "https://airflow-provider-ice.readthedocs.io/en/latest/lineage.html"

    return IceJobRunFacet
