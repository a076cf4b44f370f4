"""No snippet can rot: every literal block of the docs is included from a file the tests run
(``literalinclude`` of a path under ``snippet_tested_sources``), a doctest the docs build runs, part
of a report a make target wrote (``snippet_reports``), or on the short list of exemptions in ``conf.py``
(``snippet_exemptions``: page and exact first line).
Anything else, and an exemption no block uses, is a warning, which ``make docs`` (``-W``) turns
into an error."""

from __future__ import annotations

import os
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

log = logging.getLogger(__name__)


def check(app: Sphinx, doctree: nodes.document) -> None:
    """At read time, so that the exemptions a page uses are known on incremental builds too."""
    docname = app.env.docname
    root = os.path.normpath(os.path.join(app.confdir, app.config.snippet_root))
    used: set[str] = set()
    reports = {os.path.normpath(os.path.join(app.srcdir, path)) for path in app.config.snippet_reports}
    for block in doctree.findall(nodes.literal_block):
        if block.get("testnodetype"):  # a doctest: the doctest builder runs it
            continue
        if os.path.normpath(block.source or "") in reports:  # a report a make target wrote
            continue
        source = block.get("source")
        if source:  # literalinclude (a page's own blocks carry no "source" attribute)
            path = os.path.relpath(os.path.normpath(source), root)
            if not path.startswith(tuple(app.config.snippet_tested_sources)):
                log.warning("included from %s, which no test runs (snippet_tested_sources)", path, location=block)
            continue
        text = block.astext().strip()
        first = text.splitlines()[0].strip() if text else ""
        if (docname, first) in app.config.snippet_exemptions:
            used.add(first)
            continue
        log.warning("a code sample that no test runs: %r (include it from a tested file)", first[:80], location=block)
    _used(app.env)[docname] = used


def _used(env: BuildEnvironment) -> dict[str, set[str]]:
    """The exemptions each page uses, kept in the (pickled) build environment."""
    if not hasattr(env, "snippet_exemptions_used"):
        env.snippet_exemptions_used = {}  # type: ignore[attr-defined]
    return env.snippet_exemptions_used  # type: ignore[attr-defined, no-any-return]


def purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _used(env).pop(docname, None)


def merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    _used(env).update({name: _used(other)[name] for name in docnames if name in _used(other)})


def unused_exemptions(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.name == "html":
        used = {(page, first) for page, firsts in _used(app.env).items() for first in firsts}
        for page, first in sorted(set(app.config.snippet_exemptions) - used):
            log.warning("snippet_exemptions: no block of %r starts with %r (remove it)", page, first)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("snippet_exemptions", set(), "env")
    app.add_config_value("snippet_tested_sources", (), "env")
    app.add_config_value("snippet_root", "..", "env")
    app.add_config_value("snippet_reports", (), "env")
    app.connect("doctree-read", check)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("build-finished", unused_exemptions)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
