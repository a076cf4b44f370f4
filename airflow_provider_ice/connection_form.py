"""The connection form: every extra's label, section, choices and stated default, in one place.

Airflow >= 3.2 reads these as ``conn-fields`` from the provider info; older lines get the same
fields as widgets (:func:`connection_form_widgets`). Configuration errors name fields by the labels
given here (:func:`field_label`), so a message reads like the form the user filled in. Plain data:
``get_provider_info`` imports this module on every provider discovery.
"""

from __future__ import annotations

from typing import Any

# Sections, in the order the form shows them (the UI groups fields by ``schema.section``).
ENDPOINT = "Endpoint"
CREDENTIALS = "Credentials"
STS = "Credentials: STS token (credential type sts; optional with ram_role_arn)"
ROLE = "Credentials: RAM role (credential types ram_role_arn, oidc_role_arn)"
ECS = "Credentials: ECS instance role (credential type ecs_ram_role)"
OIDC = "Credentials: OIDC (credential type oidc_role_arn)"
NETWORK = "Network and retries"
PROXY = "Proxy"

#: Region ids offered as examples (any valid region id is accepted).
REGION_EXAMPLES = ["cn-shanghai", "cn-beijing", "cn-hangzhou", "cn-shenzhen", "ap-southeast-1", "eu-central-1"]

#: Choices and how the form shows them; ``None`` (unset) reads as the default it stands for.
PROTOCOLS = {
    None: "https (default)",
    "https": "https",
    "http": "http (local servers only, e.g. the ICE emulator)",
}
CREDENTIAL_TYPE_CHOICES = {
    None: "Automatic: access_key when AccessKey ID is set, else the default chain",
    "access_key": "access_key: AccessKey ID and Secret",
    "sts": "sts: AccessKey ID and Secret with an STS token",
    "ram_role_arn": "ram_role_arn: assume a RAM role with the AccessKey",
    "ecs_ram_role": "ecs_ram_role: the ECS instance's RAM role",
    "oidc_role_arn": "oidc_role_arn: assume a RAM role with an OIDC token (ACK RRSA)",
    "default": "default: the Alibaba Cloud credential chain (environment, config file, instance role)",
}

#: Labels of the standard fields the form relabels (login/password hold the AccessKey pair).
STANDARD_LABELS = {"login": "AccessKey ID", "password": "AccessKey Secret"}


def _field(label: str, section: str, description: str, kind: str = "string", **schema: Any) -> dict[str, Any]:
    """One form field: nullable (unset keeps the provider's default), in ``section``."""
    return {
        "label": label,
        "description": description,
        "schema": {"type": [kind, "null"], "section": section, **schema},
    }


def _text(label: str, section: str, description: str, *, secret: bool = False, **schema: Any) -> dict[str, Any]:
    return _field(label, section, description, **({"format": "password"} if secret else {}), **schema)


def _number(label: str, section: str, description: str, kind: str = "number") -> dict[str, Any]:
    return _field(label, section, description, kind)


def _choice(label: str, section: str, description: str, choices: dict[str | None, str]) -> dict[str, Any]:
    # The UI looks up the label of an unset choice under "null".
    shown = {("null" if value is None else value): label for value, label in choices.items()}
    return _field(label, section, description, enum=list(choices), values_display=shown)


#: Connection extras shown as form fields. No field carries a default value: an unset field keeps
#: the provider's default (stated in its description), so a saved connection pins nothing.
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "region_id": _text("Region ID", ENDPOINT, "Required. The ICE region, e.g. cn-shanghai.", examples=REGION_EXAMPLES),
    "endpoint": _text(
        "Endpoint",
        ENDPOINT,
        "host[:port]. Default: ice.<Region ID>.aliyuncs.com (VPC: ice-vpc.<Region ID>.aliyuncs.com).",
    ),
    "protocol": _choice("Protocol", ENDPOINT, "Default: https.", PROTOCOLS),
    "verify": _text(
        "Verify TLS", ENDPOINT, "true, false (testing only) or the path of a CA bundle. Default: true (system CAs)."
    ),
    "credential_type": _choice(
        "Credential type",
        CREDENTIALS,
        "Default: access_key when AccessKey ID is set, else default (the Alibaba Cloud credential chain).",
        CREDENTIAL_TYPE_CHOICES,
    ),
    "security_token": _text(
        "STS security token",
        STS,
        "Used by credential type sts, with the AccessKey ID and Secret (optional with ram_role_arn).",
        secret=True,
    ),
    "role_arn": _text(
        "Role ARN",
        ROLE,
        "Used by credential types ram_role_arn and oidc_role_arn, e.g. acs:ram::123456789012:role/ice-runner.",
    ),
    "role_session_name": _text(
        "Role session name",
        ROLE,
        "Used by credential types ram_role_arn and oidc_role_arn. Default: airflow-provider-ice.",
    ),
    "role_name": _text(
        "ECS RAM role name", ECS, "Used by credential type ecs_ram_role. Default: the role attached to the instance."
    ),
    "oidc_provider_arn": _text("OIDC provider ARN", OIDC, "Used by credential type oidc_role_arn."),
    "oidc_token_file_path": _text("OIDC token file path", OIDC, "Used by credential type oidc_role_arn."),
    "connect_timeout": _number("Connect timeout (s)", NETWORK, "Default: 5."),
    "read_timeout": _number("Read timeout (s)", NETWORK, "Default: 10."),
    "max_attempts": _number(
        "Max attempts per call",
        NETWORK,
        "Tries of one API call on transient errors; throttled starts use none (retried to the time limit). Default: 5.",
        "integer",
    ),
    "retry_base_delay": _number(
        "Retry base delay (s)", NETWORK, "First backoff, doubled per retry (with jitter). Default: 0.5."
    ),
    "retry_max_delay": _number("Retry max delay (s)", NETWORK, "Longest single backoff. Default: 20."),
    "retry_max_elapsed": _number("Retry time limit (s)", NETWORK, "No retry starts after this long. Default: 120."),
    "max_calls_per_second": _number(
        "Max calls per second (per process)",
        NETWORK,
        "A cap on each ICE action's calls a second, per process (each worker and triggerer counts on its "
        "own): for accounts that know their quota. Default: none; the provider slows down when ICE throttles.",
    ),
    "proxy": _text(
        "Proxy URL",
        PROXY,
        # hidden like a password: the URL may carry the proxy's credentials
        "http://[user:password@]host:port. Default: HTTPS_PROXY / HTTP_PROXY from the environment.",
        secret=True,
    ),
    "no_proxy": _text(
        "No proxy for", PROXY, "Comma-separated hosts reached directly. Default: NO_PROXY from the environment."
    ),
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "schema", "port"],
    "relabeling": dict(STANDARD_LABELS),
    "placeholders": {"login": "LTAI... (empty for the default credential chain)", "region_id": "cn-shanghai"},
}


def field_label(key: str) -> str:
    """How a message names a connection field: its form label with the key, e.g. ``Region ID (region_id)``."""
    label = STANDARD_LABELS.get(key) or CONN_FIELDS.get(key, {}).get("label")
    return f"{label.removesuffix(' (s)')} ({key})" if label else repr(key)


def connection_form_widgets() -> dict[str, Any]:
    """The same fields as WTForms widgets, for Airflow < 3.2 (no sections there: the description says
    which credential type uses a field; choices are validated, unset keeps the default)."""
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import IntegerField, PasswordField, StringField
    from wtforms.validators import Optional, any_of

    widgets: dict[str, Any] = {}
    for name, spec in CONN_FIELDS.items():
        schema = spec["schema"]
        validators: list[Any] = [Optional()]
        description = spec["description"]
        if "enum" in schema:
            validators.append(any_of([value for value in schema["enum"] if value is not None]))
            # No labelled choices in these forms: the description lists them.
            shown = [label for value, label in schema["values_display"].items() if value != "null"]
            description = f"{description} Choices: {'; '.join(shown)}."
        if schema.get("format") == "password":
            field_class, widget = PasswordField, BS3PasswordFieldWidget()
        else:
            field_class = IntegerField if schema["type"][0] == "integer" else StringField
            widget = BS3TextFieldWidget()
        widgets[name] = field_class(
            lazy_gettext(spec["label"]), widget=widget, validators=validators, description=description
        )
    return widgets
