#!/usr/bin/env bash
# The walkthrough of docs/own-project.md ("The emulator with your own Airflow"), run as it is by
# tests/test_user_project.py: a fresh AIRFLOW_HOME, the emulator, a stored connection, `airflow
# dags test` of this project's DAG.
set -euo pipefail
cd "$(dirname "$0")"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT  # the emulator started below
# [START walkthrough]
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags"   # your DAGs: here dags/translate.py
python -m airflow_provider_ice.testing.emulator --port 8765 --tls-dir ~/.ice-emulator \
    --scenario scenario.json &              # it prints the `airflow connections add` line below
airflow db migrate
airflow connections add ice_default --conn-type alibaba_cloud_ice \
    --conn-login LTAIemulatorKeyId --conn-password emulator-secret-do-not-use \
    --conn-extra '{"region_id": "cn-shanghai", "endpoint": "127.0.0.1:8765", "protocol": "https", "verify": "'"$HOME"'/.ice-emulator/ca.pem"}'
AIRFLOW__CORE__TEST_CONNECTION=Enabled airflow connections test ice_default   # "Connection success!"
airflow dags test translate_talk
# [END walkthrough]
