"""Apache Airflow provider for Alibaba Cloud Intelligent Media Services (ICE) AI workflows."""

from __future__ import annotations

from importlib import metadata as _metadata

from airflow_provider_ice.get_provider_info import get_provider_info

try:  # the version lives in one place, pyproject.toml, and reaches the code through package metadata
    __version__ = _metadata.version("airflow-provider-ice")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
#: The default ``alibaba_cloud_ice`` connection id of the hook, sensor, trigger and operator.
DEFAULT_CONN_ID = "ice_default"
__all__ = ["DEFAULT_CONN_ID", "__version__", "get_provider_info"]
