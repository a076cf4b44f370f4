# Load the plugin first, before anything imports Airflow: it gives the test session a throwaway
# AIRFLOW_HOME and metastore, whatever your shell has set (your own Airflow is never touched).
pytest_plugins = ["airflow_provider_ice.testing.pytest_plugin"]
