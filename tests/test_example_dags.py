"""The example DAGs parse with no connection and no network, and import no SDK."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import IMPORT_DAGBAG

pytestmark = pytest.mark.slow

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "example_dags")


def test_example_dags_parse_without_connection_or_network():
    code = (
        "import sys\n" + IMPORT_DAGBAG + f"bag = DagBag(dag_folder={os.path.abspath(EXAMPLES)!r}, )\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "assert {'example_ice_workflow', 'example_ice_sensor', 'example_ice_media'} <= set(bag.dag_ids), bag.dag_ids\n"
        "assert not [m for m in sys.modules if m.startswith(('alibabacloud', 'darabonba'))]\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["no_proxy"] = env["NO_PROXY"] = ""
    env["HTTPS_PROXY"] = env["HTTP_PROXY"] = "http://127.0.0.1:9"  # any network use would fail
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
