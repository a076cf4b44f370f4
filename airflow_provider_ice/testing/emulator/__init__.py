"""A local ICE AI-workflow service for tests, benchmarks, the demo and your own DAG tests.

Protocol (``protocol``, ``gateway``, ``signature``) and backend (``backend``, ``records``) are separate, as in
moto. Start it with :class:`IceEmulator` (in-process) or :class:`IceEmulatorProcess`.
"""

from airflow_provider_ice.testing.emulator.backend import IceBackend
from airflow_provider_ice.testing.emulator.endpoint import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_REGION,
)
from airflow_provider_ice.testing.emulator.records import FAULT_KINDS, REALTIME_TYPES, WorkflowTemplate
from airflow_provider_ice.testing.emulator.server import IceEmulator, IceEmulatorProcess

__all__ = [
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_ACCESS_KEY_SECRET",
    "DEFAULT_REGION",
    "FAULT_KINDS",
    "REALTIME_TYPES",
    "IceBackend",
    "IceEmulator",
    "IceEmulatorProcess",
    "WorkflowTemplate",
]
