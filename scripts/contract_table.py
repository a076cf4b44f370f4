"""Write the ICE contract table (airflow_provider_ice.client.contract.render_tables) into README.md,
between its ``<!-- contract-table -->`` markers. tests/test_contract.py fails while the two differ."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from airflow_provider_ice.client.contract import render_tables

BEGIN, END = "<!-- contract-table -->\n", "<!-- /contract-table -->\n"


def main() -> None:
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
    with open(path) as f:
        text = f.read()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + render_tables() + "\n" + END + tail)


if __name__ == "__main__":
    main()
