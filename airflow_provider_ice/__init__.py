"""Apache Airflow provider for Alibaba Cloud Intelligent Media Services (ICE) AI workflows."""

from __future__ import annotations

from airflow_provider_ice.get_provider_info import get_provider_info, package_version

__version__ = package_version()
#: The default ``alibaba_cloud_ice`` connection id of the hook, sensor, trigger and operator.
DEFAULT_CONN_ID = "ice_default"
__all__ = ["DEFAULT_CONN_ID", "__version__", "get_provider_info"]
