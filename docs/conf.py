"""Sphinx configuration: `make docs` builds docs/ into build/docs (warnings are errors)."""

from __future__ import annotations

import os
import shutil
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
# autodoc imports Airflow: keep it off the user's ~/airflow, and quiet.
os.environ.setdefault("AIRFLOW_HOME", os.path.join(os.path.dirname(DOCS), "build", "docs-airflow-home"))
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
ROOT = os.path.dirname(DOCS)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(DOCS, "_ext"))

project = "airflow-provider-ice"
author = "airflow-provider-ice contributors"
copyright = "2026, airflow-provider-ice contributors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "snippets",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "reports", "_generated"]  # reports and _generated are included by pages
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = "airflow-provider-ice"
html_static_path: list[str] = []

# Cross-references to our own API must resolve; names of other projects (no intersphinx: CI has
# no network) are listed here.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(airflow|aiohttp|requests|urllib3|alibabacloud_\w+|tenacity|pytest|_pytest|ssl|asyncio)(\..*)?"),
    (r"py:.*", r"(Any|Iterator|AsyncIterator|Mapping|Callable|Awaitable|Sequence|TypedDict|StrEnum|Enum|Self)"),
    (r"py:.*", r"(collections\.abc|typing|datetime|enum|logging|tempfile|subprocess|threading|time)\..*"),
    (r"py:.*", r"(BaseHook|BaseOperator|BaseSensorOperator|BaseTrigger|TriggerEvent|AirflowException)"),
    (r"py:.*", r"(AirflowFailException|ResumableJobMixin|PokeReturnValue|Context|T|timedelta)"),
    (r"py:class", r".*\._\w+"),  # a private base class (show-inheritance names it; it has no page)
    # internal bases of the sensor and operator (their behaviour is on the guide pages)
    (r"py:class", r"airflow_provider_ice\.(operators\.wait_mixin\.IceWaitMixin|lineage\.IceLineageMixin)"),
    # a type alias (documented as data: IceWorkflowTask | IceJob), which Sphinx looks up as a class
    (r"py:class", r"airflow_provider_ice\.models\.JobRecord"),
]
# Names our annotations use under TYPE_CHECKING only, as autodoc should link them.
autodoc_type_aliases = {
    "IceConnectionConfig": "airflow_provider_ice.client.config.IceConnectionConfig",
    "JobRecord": "airflow_provider_ice.models.JobRecord",
}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

#: Files the tests run (relative to the repository): the only sources a page may include code from.
snippet_tested_sources = ("example_dags/", "tests/", "scripts/install_example.sh")
#: Literal blocks that are neither included from a tested file nor run as doctests, by page and
#: exact first line: commands a user types that CI cannot run as shown (a real account's keys),
#: and a diagram.
snippet_exemptions = {
    ("index", "make demo    # example_ice_workflow and example_ice_pipeline end to end against the bundled emulator"),
    ("installation", "make dist"),
    # the version matrix (noxfile.py) installs with these constraints and this date
    ("installation", "uv pip install --exclude-newer 2026-11-29T00:00:00Z \\"),
    (
        "connection",
        "airflow connections add ice_default --conn-type alibaba_cloud_ice --conn-login LTAI... --conn-password ... \\",
    ),
    (
        "connection",
        'export AIRFLOW_CONN_ICE_DEFAULT=\'{"conn_type": "alibaba_cloud_ice", "login": "LTAI...", '
        '"password": "...", "extra": {"region_id": "cn-shanghai"}}\'',
    ),
    ("connection", "export AIRFLOW_CONN_ICE_DEFAULT='alibaba-cloud-ice://LTAI...:...@/?region_id=cn-shanghai'"),
    (
        "contributing",
        "sensors/job.py  ─┬─ operators/wait_mixin.py  the check before deferring, deferral, resumption,",
    ),
}

# Measured figures come from the reports the make targets write (build/*.md); where a report was
# not made on this machine, the reference copy in docs/reports (one 2-core VM, dated) is shown.
REPORTS = {"bench": "make bench", "matrix": "make test-matrix", "e2e-distributed": "make e2e-distributed"}
_generated = os.path.join(DOCS, "_generated")
os.makedirs(_generated, exist_ok=True)
for _name, _command in REPORTS.items():
    _fresh = os.path.join(ROOT, "build", f"{_name}.md")
    _source = _fresh if os.path.exists(_fresh) else os.path.join(DOCS, "reports", f"{_name}.md")
    with open(_source) as _f:
        _text = _f.read()
    _origin = (
        f"*Written by `{_command}` on the machine that built these docs.*"
        if _source == _fresh
        else f"*The reference copy (`docs/reports/{_name}.md`), measured on one 2-core VM: run `{_command}` to "
        "measure on yours.*"
    )
    _body = "\n".join(line if not line.startswith("#") else "#" + line for line in _text.splitlines())
    with open(os.path.join(_generated, f"{_name}.md"), "w") as _f:
        _f.write(_origin + "\n\n" + _body + "\n")
#: The reports' copies: their blocks are a make target's output, not samples to test.
snippet_reports = tuple(f"_generated/{_name}.md" for _name in REPORTS)
for _name in ("CHANGELOG.md", "CONTRIBUTING.md"):
    shutil.copy(os.path.join(ROOT, _name), os.path.join(_generated, _name))

# The contract table, rendered from the code that applies it.
from contract import render_tables  # noqa: E402  (docs/_ext)

with open(os.path.join(_generated, "contract.md"), "w") as _f:
    _f.write(render_tables())
