"""``[core] hostname_callable`` for the distributed test: each component reports the host name it is
given in ICE_E2E_HOSTNAME, as if it ran on a machine of its own (one machine here)."""

from __future__ import annotations

import os
import socket


def from_env() -> str:
    return os.environ.get("ICE_E2E_HOSTNAME") or socket.getfqdn()
