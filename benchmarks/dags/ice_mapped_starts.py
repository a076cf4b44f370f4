"""100 mapped StartAIWorkflow tasks at once (benchmarks/mapped_starts.py): each its own process,
so no per-process limiter sees the others; the throttling retries with jitter pace them."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_ice.operators.ice import IceStartAIWorkflowOperator

with DAG("ice_mapped_starts", schedule=None, max_active_tasks=100) as dag:
    IceStartAIWorkflowOperator.partial(
        task_id="start",
        workflow_id="bench",
        wait_for_completion=False,
        user_data="{{ run_id }}#{{ ti.map_index }}",  # tells a duplicate apart
        retries=0,
    ).expand(inputs=[{"clip": i} for i in range(100)])
