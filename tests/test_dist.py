"""The built wheel, not the source tree, installs into a fresh venv and works there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import IMPORT_DAGBAG

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*cmd: str, env: dict[str, str] | None = None, cwd: str | None = None) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=cwd)
    assert result.returncode == 0, f"{cmd}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


#: An Airflow line older than the newest: installing the provider must leave it where it is.
OLDER_LINE = "3.1"
#: What that line itself accepts (apache-airflow-core 3.1.8 asks >= 1.7.4), older than the provider needs.
OLDER_COMMON_COMPAT = "1.7.4"


def freeze(uv: str, python: str) -> dict[str, str]:
    """Each installed distribution's version (or, for a wheel installed from a file, its location)."""
    lines = run(uv, "pip", "freeze", "--python", python).splitlines()
    return dict(re.split(r"==| @ ", line, maxsplit=1) for line in lines if "==" in line or " @ " in line)


def test_the_built_wheel_installs_into_an_older_airflow_without_moving_it(tmp_path):
    uv = shutil.which("uv", path=os.path.dirname(sys.executable)) or "uv"
    run(uv, "build", "--quiet", "--wheel", "--out-dir", str(tmp_path / "dist"), cwd=ROOT)
    (wheel,) = (tmp_path / "dist").glob("airflow_provider_ice-*.whl")
    venv = tmp_path / "venv"
    run(uv, "venv", "--quiet", "--python", sys.executable, str(venv))
    python = str(venv / "bin" / "python")
    # a user's environment: an Airflow of an older line, as the version matrix resolves it, with the
    # oldest common-compat that line accepts
    with open(os.path.join(ROOT, "noxfile.py")) as f:
        resolved_on = re.search(r'RESOLVED_ON = "(.+)"', f.read()).group(1)  # type: ignore[union-attr]
    constraints = os.path.join(ROOT, "constraints", f"airflow-{OLDER_LINE}.txt")
    compat = f"apache-airflow-providers-common-compat=={OLDER_COMMON_COMPAT}"
    run(
        uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        python,
        "--exclude-newer",
        resolved_on,
        "-c",
        constraints,
        "apache-airflow",
        compat,
    )
    before = freeze(uv, python)
    assert before["apache-airflow"].startswith(f"{OLDER_LINE}."), before["apache-airflow"]
    # the install the docs show, as they show it: the venv activated, from a folder that is neither
    # the repository nor the wheel's
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = os.pathsep.join((str(venv / "bin"), os.path.dirname(uv), os.environ["PATH"]))
    # (the same resolution date as the environment, so that a later release cannot move more)
    install_env = dict(os.environ, VIRTUAL_ENV=str(venv), PATH=path, ICE_WHEEL=str(wheel), UV_EXCLUDE_NEWER=resolved_on)
    run("bash", os.path.join(ROOT, "scripts", "install_example.sh"), env=install_env, cwd=str(elsewhere))
    after = freeze(uv, python)
    assert set(before) <= set(after), f"removed: {sorted(set(before) - set(after))}"
    moved = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    # what the provider needs at a minimum version moved, and nothing else (Airflow included)
    assert list(moved) == ["apache-airflow-providers-common-compat"], moved
    assert after["airflow-provider-ice"].endswith(wheel.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__CORE__DAGS"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "home"), PYTHONPATH="", AIRFLOW__CORE__LOAD_EXAMPLES="False")
    work = str(tmp_path)  # not the source tree: every import below must come from the wheel
    listed = run(str(venv / "bin" / "airflow"), "providers", "list", env=env, cwd=work)
    # every example DAG file holds one DAG
    example_dags = [name for name in os.listdir(os.path.join(ROOT, "example_dags")) if name.endswith(".py")]
    assert "airflow-provider-ice" in listed
    code = (
        "import importlib, pkgutil, airflow_provider_ice as p\n"
        "assert '/site-packages/' in p.__file__, p.__file__\n"
        "for m in pkgutil.walk_packages(p.__path__, 'airflow_provider_ice.'):\n"
        "    if not m.name.endswith(('__main__', 'pytest_plugin')):  # a program and a pytest plugin\n"
        "        importlib.import_module(m.name)\n"
        "from airflow_provider_ice.get_provider_info import get_provider_info\n"
        "assert get_provider_info()['versions'] == [p.__version__] != ['0+unknown']\n"
        + IMPORT_DAGBAG
        + f"bag = DagBag(dag_folder={os.path.join(ROOT, 'example_dags')!r})\n"
        f"assert not bag.import_errors and len(bag.dag_ids) == {len(example_dags)}, (bag.import_errors, bag.dag_ids)\n"
        "print(p.__version__)\n"
    )
    assert run(python, "-c", code, env=env, cwd=work).strip().splitlines()[-1] == "0.1.0"


def test_the_published_metadata_has_no_development_extra(tmp_path):
    """Test, lint, docs and bench tools are PEP 735 dependency groups: not in the wheel's metadata."""
    import zipfile

    uv = shutil.which("uv", path=os.path.dirname(sys.executable)) or "uv"
    run(uv, "build", "--quiet", "--wheel", "--out-dir", str(tmp_path), cwd=ROOT)
    (wheel,) = tmp_path.glob("airflow_provider_ice-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(name).decode()
    extras = sorted(
        line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Provides-Extra:")
    )
    assert extras == ["openlineage"]
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert not [r for r in requires if "pytest" in r or "playwright" in r or "ruff" in r], requires


def test_the_published_description_links_the_docs_site_and_names_the_tested_pythons(tmp_path, monkeypatch):
    """The README links docs/*.md (for a clone); the index shows the same pages on the docs site."""
    import re
    import tomllib
    import zipfile
    from email import message_from_string

    uv = shutil.which("uv", path=os.path.dirname(sys.executable)) or "uv"
    run(uv, "build", "--quiet", "--wheel", "--out-dir", str(tmp_path), cwd=ROOT)
    (wheel,) = tmp_path.glob("airflow_provider_ice-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = message_from_string(archive.read(name).decode())
    description = str(metadata.get_payload())
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        site = tomllib.load(f)["project"]["urls"]["Documentation"].rstrip("/")
    with open(os.path.join(ROOT, "README.md")) as f:
        readme_pages = [
            page or "changelog" for page in re.findall(r"\]\((?:docs/([\w-]+)\.md|CHANGELOG\.md)\)", f.read())
        ]
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert not re.search(r"\]\((?!https?://)", description), "a relative link breaks on the package index"
    assert re.findall(re.escape(site) + r"/([\w-]+)\.html\)", description) == readme_pages != []
    monkeypatch.setenv("PATH", os.environ["PATH"])  # importing the noxfile puts pyenv's Pythons on PATH
    monkeypatch.syspath_prepend(ROOT)
    import noxfile

    tested = sorted({python for python, _ in noxfile.CELLS})
    classifiers = metadata.get_all("Classifier") or []
    assert sorted(c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r".*Python :: 3\.\d+", c)) == tested


def test_the_sdist_holds_what_its_tests_read(tmp_path):
    """Tests import benchmarks.common, read docs/ and scripts/, and install with constraints/."""
    import tarfile

    uv = shutil.which("uv", path=os.path.dirname(sys.executable)) or "uv"
    run(uv, "build", "--quiet", "--sdist", "--out-dir", str(tmp_path), cwd=ROOT)
    (sdist,) = tmp_path.glob("airflow_provider_ice-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    needed = {
        "benchmarks/common.py",
        "docs/conf.py",
        "docs/api.md",
        "docs/_ext/snippets.py",
        "scripts/install_example.sh",
        "constraints/airflow-3.3.txt",
        "noxfile.py",
        "Makefile",
        "tests/docs_examples/scenario.json",
    }
    assert needed <= names, sorted(needed - names)
    assert not [n for n in names if n.startswith("docs/_generated/")]
