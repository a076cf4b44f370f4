"""The "ICE console" extra link of the sensors and the operators (:class:`IceConsoleLink`).

ICE's documentation gives no console page per AI-workflow task (no per-task URL) and no URL for the
console's list of AI-workflow tasks; the page its API reference links for the console itself is
``https://ims.console.aliyun.com/summary`` (the IMS console, e.g. on the UpdateLiveTranscodeTemplate
page, https://help.aliyun.com/zh/ims/developer-reference/api-ice-2020-11-09-updatelivetranscodetemplate),
and the console chooses the region in its own top bar, not in the URL. So the link opens the console,
and the task log names what to look up there: the TaskId and the region (:func:`console_hint`).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink

#: The IMS console, as ICE's API reference links it.
ICE_CONSOLE_URL = "https://ims.console.aliyun.com/summary"


def console_hint(workflow_task_id: str, region_id: str, label: str = "AI workflow task") -> str:
    """The task log's line that goes with the link: where to look, and for what.

    :param workflow_task_id: the ICE TaskId (or JobId) to look up.
    :param region_id: the region it runs in.
    :param label: what it is; default ``AI workflow task``.
    """
    return f"ICE console: {ICE_CONSOLE_URL} (region {region_id}; {label} {workflow_task_id})"


class IceConsoleLink(BaseOperatorLink):
    """Opens the ICE (IMS) console from the task instance page."""

    name = "ICE console"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The console's URL (the same for every task: ICE has no per-task page).

        :param operator: the task's operator.
        :param ti_key: the task instance's key.
        """
        return ICE_CONSOLE_URL
