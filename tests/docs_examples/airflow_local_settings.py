"""docs/scale.md's airflow_local_settings.py: Airflow's objects out of the garbage collector's walks
(tests/test_docs.py runs it where Airflow would import it)."""

# [START howto_gc_freeze]
import gc

gc.collect()
gc.freeze()  # what Airflow has loaded so far is never walked again
# [END howto_gc_freeze]
