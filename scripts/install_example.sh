#!/usr/bin/env bash
# The install that docs/installation.md shows (between the markers), run as it is by
# tests/test_dist.py: from a folder holding the built wheel under dist/ and this repository's
# constraints/, into the virtualenv that VIRTUAL_ENV names (your Airflow's, activated).
set -euo pipefail
# [START install]
uv pip install --exclude-newer 2026-11-29T00:00:00Z -c constraints/airflow-3.3.txt \
    dist/airflow_provider_ice-0.1.0-py3-none-any.whl
# [END install]
