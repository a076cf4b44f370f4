"""The connection form's definition, as Airflow's UI reads it (the browser test renders it for real)."""

from __future__ import annotations

import pytest

from airflow_provider_ice.client.config import CREDENTIAL_TYPES, KNOWN_EXTRAS
from airflow_provider_ice.connection_form import CONN_FIELDS, field_label
from airflow_provider_ice.get_provider_info import get_provider_info


def api_fields() -> dict[str, dict]:
    """The extra fields as Airflow's API serves them to the UI (ProvidersManager's own conversion)."""
    from airflow.providers_manager import ProvidersManager

    if not hasattr(ProvidersManager, "_to_api_format"):
        pytest.skip("conn-fields need Airflow >= 3.2 (older lines use the hook's widgets)")
    pm = ProvidersManager()
    return {name: pm._to_api_format(name, spec) for name, spec in CONN_FIELDS.items()}


def test_no_field_prefills_a_default():
    for name, field in api_fields().items():
        assert field["value"] is None, name
        assert "default" not in field["schema"], name


def test_choices_have_labels_and_unset_reads_as_the_default():
    for name in ("protocol", "credential_type"):
        schema = api_fields()[name]["schema"]
        shown = schema["values_display"]
        # The UI labels an unset choice by values_display["null"]; every choice has a readable label.
        assert set(shown) == {"null" if value is None else value for value in schema["enum"]}
        assert "null" not in [label.lower() for label in shown.values()]
    assert api_fields()["protocol"]["schema"]["values_display"]["null"] == "https (default)"
    assert api_fields()["credential_type"]["schema"]["values_display"]["null"].startswith("Automatic: access_key when")
    assert set(api_fields()["credential_type"]["schema"]["enum"]) - {None} == set(CREDENTIAL_TYPES)


def test_every_field_has_a_section_and_states_its_default_or_use():
    fields = api_fields()
    assert set(fields) == KNOWN_EXTRAS
    for name, field in fields.items():
        assert field["schema"]["section"], name
        assert field["schema"]["title"], name
        description = field["description"]
        assert "Default:" in description or "Required" in description or "Used by credential type" in description, name
    assert fields["region_id"]["schema"]["examples"][0] == "cn-shanghai"


def test_credential_fields_say_which_credential_type_uses_them():
    for credential_type, keys in CREDENTIAL_TYPES.items():
        for key in keys:
            assert credential_type in CONN_FIELDS[key]["description"], key
            assert credential_type in CONN_FIELDS[key]["schema"]["section"], key


def test_messages_name_fields_by_their_form_label():
    assert field_label("region_id") == "Region ID (region_id)"
    assert field_label("read_timeout") == "Read timeout (read_timeout)"
    assert field_label("password") == "AccessKey Secret (password)"
    assert field_label("typo_key") == "'typo_key'"


def test_widgets_for_airflow_before_3_2_carry_the_same_fields():
    pytest.importorskip("flask_appbuilder", reason="the widget form is built on Airflow < 3.2, where FAB is installed")
    from airflow_provider_ice.hooks.ice import IceHook

    widgets = IceHook.get_connection_form_widgets()
    assert set(widgets) == KNOWN_EXTRAS
    protocol = widgets["protocol"]
    assert protocol.kwargs["description"] == (
        "Default: https. Choices: https; http (local servers only, e.g. the ICE emulator)."
    )
    assert "ram_role_arn: assume a RAM role with the AccessKey" in widgets["credential_type"].kwargs["description"]
    (_, any_of) = protocol.kwargs["validators"]
    assert list(any_of.values) == ["https", "http"]
    assert all("default" not in w.kwargs for w in widgets.values())


def test_provider_info_carries_the_form():
    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["conn-fields"] is CONN_FIELDS


def test_widgets_as_the_airflow_3_ui_serves_them_without_fab():
    """Airflow 3.0/3.1 read the hook's widgets through the API server's FAB-free stand-ins
    (HookMetaService); the same stand-ins here show what their form gets: no default, choices
    enumerated and labelled in the description."""
    import sys
    from unittest import mock

    services = pytest.importorskip(
        "airflow.api_fastapi.core_api.services.ui.connections", reason="Airflow 3's API server"
    )
    meta = services.HookMetaService
    if not hasattr(meta, "MockEnum"):
        pytest.skip("this Airflow's API server has no FAB-free widget stand-ins")
    from airflow_provider_ice.connection_form import connection_form_widgets

    stand_ins = {m: mock.MagicMock() for m in ("wtforms", "wtforms.validators", "flask_babel")}
    stand_ins |= {m: mock.MagicMock() for m in ("flask_appbuilder", "flask_appbuilder.fieldwidgets")}
    with (
        mock.patch.dict(sys.modules, stand_ins),
        mock.patch("wtforms.StringField", meta.MockStringField),
        mock.patch("wtforms.IntegerField", meta.MockIntegerField),
        mock.patch("wtforms.PasswordField", meta.MockPasswordField),
        mock.patch("flask_babel.lazy_gettext", lambda text: text),
        mock.patch("flask_appbuilder.fieldwidgets.BS3TextFieldWidget", meta.MockAnyWidget),
        mock.patch("flask_appbuilder.fieldwidgets.BS3PasswordFieldWidget", meta.MockAnyWidget),
        mock.patch("wtforms.validators.Optional", meta.MockOptional),
        mock.patch("wtforms.validators.any_of", meta.MockEnum),
    ):
        fields = {name: widget.param.dump() for name, widget in connection_form_widgets().items()}
    assert set(fields) == KNOWN_EXTRAS
    assert all(field["value"] is None for field in fields.values())
    assert fields["protocol"]["schema"]["enum"] == ["https", "http"]
    assert fields["protocol"]["description"].startswith("Default: https. Choices: https; http (local servers")
    assert fields["credential_type"]["schema"]["enum"] == list(CREDENTIAL_TYPES)
    assert fields["max_attempts"]["schema"]["type"] == ["integer", "null"]
    assert fields["proxy"]["schema"]["format"] == "password"
