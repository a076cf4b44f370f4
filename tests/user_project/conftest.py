# Load the plugin first, before anything imports Airflow: with no AIRFLOW_HOME set, it gives the
# test session a throwaway one.
pytest_plugins = ["airflow_provider_ice.testing.pytest_plugin"]
