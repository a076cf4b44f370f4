from __future__ import annotations

import os
import tempfile

# Airflow reads its configuration at import: give the test session its own home before that.
_HOME = tempfile.mkdtemp(prefix="ice-tests-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

pytest_plugins = ["airflow_provider_ice.testing.pytest_plugin"]
