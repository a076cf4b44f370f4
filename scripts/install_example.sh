#!/usr/bin/env bash
# The install the README and docs/installation.md show (between the markers), run as it is by
# tests/test_dist.py: into the virtualenv your Airflow runs in (activated), from any directory, with
# ICE_WHEEL naming the wheel `make dist` built. It keeps the Airflow release installed there.
set -euo pipefail
# [START install]
airflow_version="$(python -c 'from importlib.metadata import version; print(version("apache-airflow"))')"
uv pip install --reinstall-package airflow-provider-ice "apache-airflow==${airflow_version}" "${ICE_WHEEL}"
# [END install]
