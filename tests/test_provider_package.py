"""Packaging: provider info valid against Airflow's schema, discoverable, and cheap to import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

import airflow
import jsonschema
import pytest

from airflow_provider_ice import get_provider_info
from airflow_provider_ice.client.config import KNOWN_EXTRAS
from airflow_provider_ice.hooks.ice import IceHook

pytestmark = pytest.mark.slow


def test_provider_info_is_valid_against_airflows_schema():
    with open(os.path.join(os.path.dirname(airflow.__file__), "provider_info.schema.json")) as f:
        schema = json.load(f)
    info = get_provider_info()
    jsonschema.validate(info, schema)
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == IceHook.conn_type == "alibaba_cloud_ice"
    assert conn_type["hook-class-name"] == "airflow_provider_ice.hooks.ice.IceHook"
    # The form shows every connection extra, and nothing else.
    assert set(conn_type["conn-fields"]) == KNOWN_EXTRAS


def test_every_declared_module_imports():
    info = get_provider_info()
    for kind in ("hooks", "sensors", "triggers", "operators"):
        for entry in info.get(kind, []):
            for module in entry["python-modules"]:
                __import__(module)


def test_entry_point_is_registered():
    (ep,) = [ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_provider_ice")]
    assert ep.load() is get_provider_info


def test_airflow_lists_the_provider_and_its_hook(tmp_path):
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    bin_dir = os.path.dirname(sys.executable)
    providers = subprocess.run(
        [os.path.join(bin_dir, "airflow"), "providers", "list", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    assert "airflow-provider-ice" in providers.stdout
    hooks = subprocess.run(
        [os.path.join(bin_dir, "airflow"), "providers", "hooks", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    # Airflow 3.0 prints log lines ("[2026-...] {plugins.py:37} INFO ...") before the JSON list
    lines = hooks.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("[{", "[]")) or line.strip() == "[")
    listing = "\n".join(lines[start:])
    rows = [r for r in json.loads(listing) if r.get("connection_type") == "alibaba_cloud_ice"]
    assert rows and rows[0]["class"] == "airflow_provider_ice.hooks.ice.IceHook"


def test_importing_the_provider_does_not_import_the_sdk():
    code = (
        "import sys, importlib\n"
        "from airflow_provider_ice.get_provider_info import get_provider_info\n"
        "for kind in ('hooks', 'sensors', 'triggers', 'operators'):\n"
        "    for entry in get_provider_info().get(kind, []):\n"
        "        for module in entry['python-modules']:\n"
        "            importlib.import_module(module)\n"
        "import airflow_provider_ice.testing.emulator\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('alibabacloud_ice20201109', 'alibabacloud_tea_openapi',"
        " 'alibabacloud_credentials', 'darabonba', 'openlineage', 'airflow.providers.openlineage.extractors')))\n"
        "print(heavy)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
