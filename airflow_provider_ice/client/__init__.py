"""The ICE client stack: connection settings, credentials, proxy and trust store, both transports,
failure classification and retries. No Airflow operator is imported here; the hook uses it."""
