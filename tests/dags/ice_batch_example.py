"""example_dags/example_ice_batch.py, run from the tests' DAGs folder (Airflow's dag.test() runs DAGs
of its bundle): its own code, compiled under this file's name so that the DAG's file is this one.
(The words "airflow" and "dag" must stay in this file: DagBag's safe mode skips files without them.)"""

from __future__ import annotations

import os

_EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "example_dags", "example_ice_batch.py")
with open(_EXAMPLE) as _f:
    exec(compile(_f.read(), __file__, "exec"))  # the example's code, unchanged
