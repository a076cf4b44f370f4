"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_ice.connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR

#: Every module with a sensor or an operator users import (not the bases of each kind's classes).
SENSOR_MODULES = [
    "airflow_provider_ice.sensors.ice",
    "airflow_provider_ice.sensors.media",
]
OPERATOR_MODULES = [
    "airflow_provider_ice.operators.ice",
    "airflow_provider_ice.operators.media",
    "airflow_provider_ice.operators.batch",
    "airflow_provider_ice.operators.snapshot",
    "airflow_provider_ice.operators.workflow",
]


def package_version() -> str:
    """The installed package's version: it lives in one place, pyproject.toml, and reaches the code
    through the package metadata."""
    from importlib import metadata

    try:
        return metadata.version("airflow-provider-ice")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-ice",
        "name": "Alibaba Cloud ICE",
        "description": (
            "Alibaba Cloud Intelligent Media Services (ICE): AI workflows, media producing (single and batch), "
            "MediaConvert, snapshots, media workflows."
        ),
        "versions": [package_version()],
        "integrations": [
            {
                "integration-name": "Alibaba Cloud ICE",
                "external-doc-url": "https://www.alibabacloud.com/help/en/ims/",
                "tags": ["alibaba"],
            }
        ],
        "hooks": [
            {"integration-name": "Alibaba Cloud ICE", "python-modules": ["airflow_provider_ice.hooks.ice"]},
        ],
        "sensors": [
            {"integration-name": "Alibaba Cloud ICE", "python-modules": SENSOR_MODULES},
        ],
        "triggers": [
            {"integration-name": "Alibaba Cloud ICE", "python-modules": ["airflow_provider_ice.triggers.ice"]},
        ],
        "operators": [
            {"integration-name": "Alibaba Cloud ICE", "python-modules": OPERATOR_MODULES},
        ],
        "extra-links": ["airflow_provider_ice.links.IceConsoleLink"],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_ice.hooks.ice.IceHook",
                "hook-name": "Alibaba Cloud ICE",
                "connection-type": "alibaba_cloud_ice",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
