"""What the docs show is what runs: their examples (tests/docs_examples) against the emulator, the
README as a front page whose links exist, and docstrings that describe every parameter."""

from __future__ import annotations

import inspect
import io
import os
import re
import tomllib

import pytest

from tests.docs_examples import emulator_usage, hook_usage
from tests.helpers import use_connection

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_hook_examples_run(ice_emulator, monkeypatch):
    use_connection(monkeypatch, ice_emulator)
    ice_emulator.backend.add_workflow("wf-subtitles", running_polls=10)
    started, status, errors = hook_usage.run_all()
    assert started["status"] == status == "running"
    assert ice_emulator.backend.tasks[started["task_id"]].user_data == "airflow-run-42"
    assert len(errors) == 1 and errors[0].startswith("InvalidParameter (HTTP 400): ICE stops only real-time")
    ice_emulator.backend.jobs.plan("media_convert", running_polls=5)
    job_id, job_status = hook_usage.job_kinds()
    [job] = ice_emulator.backend.jobs.snapshot()
    assert (job["job_id"], job_status) == (job_id, "Running")
    assert job["params"]["ClientToken"]


def test_the_emulator_example_runs(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ICE_DEFAULT", "{}")  # the example sets it; teardown restores this
    assert emulator_usage.emulated_run() == {"status": "running", "calls": 3}


def test_the_readme_is_a_front_page_whose_links_exist():
    """Its links are relative (docs/*.md read in a clone and on the forge before a site exists); the
    published description swaps them for the site's pages (tests/test_dist.py)."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    assert len(readme.splitlines()) <= 250
    targets = re.findall(r"\]\(([^)]+)\)", readme)
    local = [target for target in targets if not re.match(r"https?://", target)]
    assert [t for t in local if t.startswith("docs/")], "the README links into the docs"
    for target in local:
        assert os.path.exists(os.path.join(ROOT, target.split("#")[0])), target


def test_the_readme_example_is_the_example_dag_that_runs():
    with open(os.path.join(ROOT, "README.md")) as f:
        example = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)  # type: ignore[union-attr]
    with open(os.path.join(ROOT, "example_dags", "example_ice_workflow.py")) as f:
        dag = f.read()
    start = dag.index("# [START howto_operator_start]")
    lines = dag[start : dag.index("# [END howto_sensor_deferrable]")].splitlines()
    code = [line.removeprefix("    ") for line in lines if line.strip() and "[START" not in line and "[END" not in line]
    assert example == "\n".join(code) + "\n"


def test_the_emulator_page_lists_every_workflow_option():
    import dataclasses

    from airflow_provider_ice.testing.emulator.records import WorkflowTemplate

    with open(os.path.join(ROOT, "docs", "emulator.md")) as f:
        listed = re.findall(r"^\| `(\w+)` \|", f.read(), re.M)
    options = [field.name for field in dataclasses.fields(WorkflowTemplate) if field.name != "workflow_id"]
    assert [name for name in listed if name in options] == options, listed


def test_the_install_shown_is_the_one_the_dist_test_runs():
    """The README shows scripts/install_example.sh's install (tests/test_dist.py runs it); the
    installation page adds the constraints and the date the version matrix resolved with."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    with open(os.path.join(ROOT, "noxfile.py")) as f:
        resolved_on = re.search(r'RESOLVED_ON = "(.+)"', f.read()).group(1)  # type: ignore[union-attr]
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        version = tomllib.load(f)["project"]["version"]
    with open(os.path.join(ROOT, "scripts", "install_example.sh")) as f:
        script = f.read()
    shown = script[script.index("# [START install]\n") + 18 : script.index("# [END install]")]
    assert shown in readme
    assert f"dist/airflow_provider_ice-{version}-py3-none-any.whl" in readme
    with open(os.path.join(ROOT, "docs", "installation.md")) as f:
        assert f"--exclude-newer {resolved_on} " in f.read()


def documented_api() -> tuple[list[str], list[str]]:
    """The modules and the single classes docs/api.md documents: the public API."""
    with open(os.path.join(ROOT, "docs", "api.md")) as f:
        text = f.read()
    return re.findall(r"^\.\. automodule:: (\S+)", text, re.M), re.findall(r"^\.\. autoclass:: (\S+)", text, re.M)


def _airflow_interface(cls: type, name: str) -> bool:
    """A method Airflow defines and we override (execute, poke, run, serialize…): Airflow documents it."""
    return any(name in vars(base) for base in cls.__mro__[1:] if not base.__module__.startswith("airflow_provider_ice"))


def _with_methods(name: str, cls: type) -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = [(name, cls)]
    seen: set[str] = set()
    for base in cls.__mro__:  # and a private base's (the reference shows them as the class's own)
        if base is not cls and not (
            base.__name__.startswith("_") and base.__module__.startswith("airflow_provider_ice")
        ):
            continue
        for member, value in vars(base).items():
            function = getattr(value, "fget", None) or getattr(value, "__func__", value)  # property, classmethod
            if member.startswith("_") or member in seen or not inspect.isfunction(function):
                continue
            seen.add(member)
            if not _airflow_interface(cls, member):
                found.append((f"{name}.{member}", function))
    return found


def public_callables() -> list[tuple[str, object]]:
    import importlib

    modules, classes = documented_api()
    found: list[tuple[str, object]] = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if name.startswith(("_", "pytest_")) or getattr(obj, "__module__", None) != module_name:
                continue  # private, or a pytest hook (pytest documents those)
            if inspect.isfunction(obj):
                found.append((name, obj))
            elif inspect.isclass(obj) and not issubclass(obj, (dict, tuple)) and "Enum" not in str(obj.__mro__):
                found += _with_methods(name, obj)
    for path in classes:
        module_name, _, name = path.rpartition(".")
        found.append((name, getattr(importlib.import_module(module_name), name)))
    return found


def test_the_reference_covers_the_public_api():
    modules, _ = documented_api()
    for role in ("hooks.ice", "sensors.ice", "triggers.ice", "operators.ice", "exceptions", "testing.emulator.server"):
        assert f"airflow_provider_ice.{role}" in modules


def test_every_public_callable_has_a_docstring():
    undocumented = [name for name, obj in public_callables() if not inspect.getdoc(obj)]
    assert not undocumented, undocumented


def with_own_parameters() -> list[tuple[str, object]]:
    """A class that inherits ``__init__`` is described by its base's docstring."""
    return [(n, o) for n, o in public_callables() if not inspect.isclass(o) or "__init__" in vars(o)]


@pytest.mark.parametrize(("name", "obj"), with_own_parameters(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_parameter_is_described(name, obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = [p for p in inspect.signature(target).parameters if p not in ("self", "cls", "kwargs", "args")]
    doc = inspect.getdoc(obj) or ""
    described = dict(re.findall(r":param (\w+):((?:.(?!:param |:raises |:returns? ))*)", doc, re.S))
    missing = [p for p in params if p not in described]
    assert not missing, f"{name}: no :param: for {missing}"
    signature = inspect.signature(target).parameters
    no_default = [
        p
        for p in params
        if signature[p].default is not inspect.Parameter.empty and "default" not in described[p].lower()
    ]
    assert not no_default, f"{name}: the :param: of {no_default} does not say its default"


def test_a_code_block_no_test_runs_fails_the_docs_build(tmp_path):
    """docs/_ext/snippets.py: a literal block that is not included from a tested file, not a doctest
    and not exempt is a warning (an error under make docs' -W); so is an exemption no block uses."""
    sphinx_app = pytest.importorskip("sphinx.application", reason="Sphinx is in the docs group (make test has it)")
    (tmp_path / "conf.py").write_text(
        f"import sys; sys.path.insert(0, {os.path.join(ROOT, 'docs', '_ext')!r})\n"
        "extensions = ['myst_parser', 'snippets']\n"
        "snippet_root = '.'\n"
        "snippet_tested_sources = ('tested/',)\n"
        "snippet_exemptions = {('index', 'make demo'), ('index', 'make gone')}\n"
    )
    for folder in ("tested", "untested"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "example.py").write_text("x = 1\n")
    (tmp_path / "index.md").write_text(
        "# t\n\n```{literalinclude} tested/example.py\n```\n\n```{literalinclude} untested/example.py\n```\n\n"
        "```bash\nmake demo\n```\n\n```bash\nmake demo && rm -rf /\n```\n\n```python\nimport untested\n```\n"
    )
    warnings = io.StringIO()
    app = sphinx_app.Sphinx(
        str(tmp_path),
        str(tmp_path),
        str(tmp_path / "out"),
        str(tmp_path / "doctrees"),
        "html",
        status=None,
        warning=warnings,
    )
    app.build()
    found = [line for line in warnings.getvalue().splitlines() if "WARNING" in line]
    assert len(found) == 4, found
    for expected in ("untested/example.py", "make demo && rm -rf /", "import untested", "make gone"):
        assert any(expected in line for line in found), (expected, found)


@pytest.mark.slow
def test_the_custom_deferrable_operator_example_runs(ice_emulator, ice_stored_connection):
    from tests.dagrun import run_dag

    ice_emulator.backend.add_workflow("wf", outputs={"srt": "oss://b/en.srt"})
    ice_emulator.backend.add_workflow("wf-bad", final_status="failed")
    done, failed = ice_emulator.backend.add_task("wf"), ice_emulator.backend.add_task("wf-bad")
    result = run_dag("ice_custom_trigger.py", "ice_custom_trigger", task_id=done)
    assert (result.state, result.xcoms_of("wait")["return_value"]) == ("success", done)
    assert run_dag("ice_custom_trigger.py", "ice_custom_trigger", task_id=failed).task_states["wait"] == "failed"


def test_the_gc_freeze_recipe_freezes_airflow_where_airflow_imports_it(tmp_path):
    """docs/scale.md's airflow_local_settings.py, found where Airflow looks for it: once Airflow is
    imported, its objects are frozen."""
    import shutil
    import subprocess
    import sys

    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(os.path.join(os.path.dirname(__file__), "docs_examples", "airflow_local_settings.py"), config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update(AIRFLOW_HOME=str(tmp_path))
    # counted from start-up's own count: Python 3.12 starts with a few hundred objects frozen already
    code = "import gc; before = gc.get_freeze_count(); import airflow; print(gc.get_freeze_count() - before)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 10_000
