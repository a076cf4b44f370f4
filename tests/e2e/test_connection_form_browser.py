"""The connection form in a real browser: Debian's Chromium, driven by Playwright, against a real
``airflow api-server`` (PostgreSQL). Adds an ICE connection as a user would, saves it, and tests the
saved connection against the emulator. Screenshots go to ``build/browser/``.

Skipped where Chromium is absent, unless ICE_REQUIRE_BROWSER=1 (``.ci/run`` installs Chromium and sets
it, so CI cannot skip it silently)."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_ice.testing.emulator import IceEmulator
from tests.e2e.services import CHROMIUM, CHROMIUM_ARGS, AirflowStack, require_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(600)]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = os.path.join(ROOT, "build", "browser")
SECTIONS = [
    "Standard Fields",
    "Endpoint",
    "Credentials",
    "Credentials: STS token (credential type sts; optional with ram_role_arn)",
    "Credentials: RAM role (credential types ram_role_arn, oidc_role_arn)",
    "Credentials: ECS instance role (credential type ecs_ram_role)",
    "Credentials: OIDC (credential type oidc_role_arn)",
    "Network and retries",
    "Proxy",
    "Extra Fields JSON",
]


@pytest.fixture(scope="module")
def browser_and_ui(tmp_path_factory) -> Iterator[tuple[Any, AirflowStack]]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    home = str(tmp_path_factory.mktemp("airflow-ui"))
    stack = AirflowStack(
        home, os.path.join(ROOT, "tests", "dags"), {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}, ("api-server",)
    )
    try:
        stack.start()
        _wait_until_serving(stack)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser, stack
            finally:
                browser.close()
    finally:
        stack.stop()
        print(f"----- api-server (tail) -----\n{stack.log_tail('api-server', 1500)}")


def _wait_until_serving(stack: AirflowStack, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        stack.check_alive()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{stack.port}/api/v2/monitor/health", timeout=5)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _open_add_connection(page: Any, port: int) -> None:
    page.goto(f"http://127.0.0.1:{port}/connections", wait_until="networkidle")
    page.get_by_role("button", name="Add Connection").click()
    connection_type = page.get_by_role("dialog").get_by_role("combobox").first
    connection_type.click()
    connection_type.fill("Alibaba Cloud ICE")
    page.get_by_role("option", name="Alibaba Cloud ICE", exact=True).click()
    page.get_by_role("button", name="Endpoint", exact=True).wait_for()


def _open_section(page: Any, name: str) -> Any:
    """Open an accordion section (one is open at a time) and return the dialog's text."""
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_timeout(300)
    return page.get_by_role("dialog").inner_text()


def _choices(page: Any, field: str) -> list[str]:
    page.locator(f"#element_{field} input[role=combobox]").click()
    options = page.get_by_role("option").all_inner_texts()
    page.locator(f"#element_{field} input[role=combobox]").press("Tab")  # closes the menu, not the dialog
    return options


def test_the_form_reads_well_and_saves_a_working_connection(browser_and_ui):
    browser, stack = browser_and_ui
    os.makedirs(SHOTS, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    _open_add_connection(page, stack.port)

    headings = page.get_by_role("dialog").locator("[data-part=item-trigger]").all_inner_texts()
    assert [h.strip() for h in headings] == SECTIONS
    standard = page.get_by_role("dialog").inner_text()
    assert "AccessKey ID" in standard and "AccessKey Secret" in standard
    assert "Host" not in standard and "Port" not in standard and "Schema" not in standard

    endpoint = _open_section(page, "Endpoint")
    for text in (
        "Region ID",
        "Required. The ICE region, e.g. cn-shanghai.",
        "Protocol",
        "Default: https.",
        "Verify TLS",
    ):
        assert text in endpoint
    regions = page.locator("#list_region_id option").evaluate_all("els => els.map(e => e.value)")
    assert regions[:2] == ["cn-shanghai", "cn-beijing"]
    # An unset choice reads as its default; "null" is never shown or offered.
    assert page.locator("#element_protocol").inner_text().strip() == "https (default)"
    protocols = _choices(page, "protocol")
    assert protocols == ["https (default)", "https", "http (local servers only, e.g. the ICE emulator)"]
    page.screenshot(path=os.path.join(SHOTS, "connection-form-endpoint.png"), full_page=True)

    credentials = _open_section(page, "Credentials")
    assert "Automatic: access_key when AccessKey ID is set, else the default chain" in credentials
    credential_types = _choices(page, "credential_type")
    assert credential_types[0].startswith("Automatic:") and len(credential_types) == 7
    assert all(" null" not in f" {c.lower()}" for c in protocols + credential_types)
    sts = _open_section(page, "Credentials: STS token (credential type sts; optional with ram_role_arn)")
    assert "Used by credential type sts" in sts
    role = _open_section(page, "Credentials: RAM role (credential types ram_role_arn, oidc_role_arn)")
    assert "Used by credential types ram_role_arn and oidc_role_arn" in role
    network = _open_section(page, "Network and retries")
    for text in ("Connect timeout (s)", "Default: 5.", "Max attempts per call", "Default: 120."):
        assert text in network
    # Nothing is prefilled: a saved connection pins no default.
    values = page.locator("[name^=element_]").evaluate_all("els => els.map(e => [e.name, e.value])")
    assert {name: value for name, value in values if value not in ("", "__null__")} == {}

    # Fill it in for the emulator, as a user would, and save.
    with IceEmulator() as emulator:
        page.locator("input[name=connection_id]").fill("ice_from_the_form")
        _open_section(page, "Standard Fields")
        page.locator("input[name=login]").fill(emulator.access_key_id)
        page.locator("input[name=password]").fill(emulator.access_key_secret)
        _open_section(page, "Endpoint")
        page.locator("#element_region_id").fill("cn-shanghai")
        page.locator("#element_endpoint").fill(emulator.endpoint)
        page.locator("#element_protocol input[role=combobox]").click()
        page.get_by_role("option", name="http (local servers only, e.g. the ICE emulator)").click()
        page.screenshot(path=os.path.join(SHOTS, "connection-form-filled.png"), full_page=True)
        page.get_by_role("button", name="Save").click()
        page.get_by_text("ice_from_the_form").first.wait_for()
        page.screenshot(path=os.path.join(SHOTS, "connection-list.png"), full_page=True)

        saved = json.loads(stack.airflow("connections", "get", "ice_from_the_form", "-o", "json").stdout)[0]
        assert saved["conn_type"] == "alibaba_cloud_ice"
        # The UI saves every form field; the untouched ones are null, so no default is pinned.
        extras = {key: value for key, value in saved["extra_dejson"].items() if value is not None}
        assert extras == {"region_id": "cn-shanghai", "endpoint": emulator.endpoint, "protocol": "http"}
        # The saved connection works: the CLI's test makes one real call to the emulator.
        tested = stack.airflow("connections", "test", "ice_from_the_form")
        assert "Connection success!" in tested.stdout
        assert emulator.backend.calls("GetAIWorkflowTask") == 1
    for name in ("connection-form-endpoint.png", "connection-form-filled.png", "connection-list.png"):
        assert os.path.getsize(os.path.join(SHOTS, name)) > 10_000
