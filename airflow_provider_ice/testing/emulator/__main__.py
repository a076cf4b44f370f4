"""``python -m airflow_provider_ice.testing.emulator [--port N] [--tls | --tls-dir DIR] [--scenario FILE]
[--no-date-check] [--no-nonce-check] [--max-request-line BYTES]``

Serves until interrupted. Prints one JSON line first (``{"url", "port", "ca_file", ...}``) so a
parent process knows where it listens, then (on stderr) an ``export AIRFLOW_CONN_ICE_DEFAULT=...``
line and an ``airflow connections add`` command that point Airflow at it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading

from airflow_provider_ice.testing.emulator.server import IceEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_ice.testing.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--tls", action="store_true", help="HTTPS with a certificate from a private CA made at start")
    parser.add_argument(
        "--tls-dir",
        help="HTTPS (implies --tls) with the CA kept in this folder across restarts (ca.pem: the connection's verify)",
    )
    parser.add_argument("--scenario", help="JSON file: workflows, tasks, faults, flow_control and access_keys to load")
    parser.add_argument(
        "--no-date-check", action="store_true", help="accept any x-acs-date (for tests that freeze time)"
    )
    parser.add_argument("--no-nonce-check", action="store_true", help="accept a reused signature nonce")
    parser.add_argument(
        "--max-request-line", type=int, default=8192, help="longer request lines are answered 414 (default 8192)"
    )
    args = parser.parse_args(argv)
    scenario: dict = {}
    if args.scenario:
        with open(args.scenario) as f:
            scenario = json.load(f)
    emulator = IceEmulator(
        host=args.host,
        port=args.port,
        tls=args.tls or bool(args.tls_dir),
        tls_dir=args.tls_dir,
        access_keys=scenario.pop("access_keys", None),
        check_date=not args.no_date_check,
        check_nonce=not args.no_nonce_check,
        max_request_line=args.max_request_line,
    )
    emulator.backend.load_scenario(scenario)
    emulator.start()
    print(
        json.dumps(
            {
                "url": emulator.url,
                "port": emulator.port,
                "ca_file": emulator.ca_file,
                "access_key_id": emulator.access_key_id,
                "connection": json.loads(emulator.connection_uri()),
            }
        ),
        flush=True,
    )
    print(
        f"ICE emulator at {emulator.url}. Point Airflow at it either way:\n"
        f"  {emulator.export_line()}\n"
        f"  airflow {shlex.join(emulator.connections_add_args())}\n"
        "(`airflow connections test ice_default` needs AIRFLOW__CORE__TEST_CONNECTION=Enabled.)",
        file=sys.stderr,
        flush=True,
    )
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
