"""The ``docflow`` command: a thin click layer over the library.

Each command lives beside the concept it drives; this module only assembles them.
"""

from __future__ import annotations

import click

from docflow import __version__
from docflow.cli_ingest import ingest, watch
from docflow.cli_report import audit, certs, demo, sql, summary, units
from docflow.cli_verify import verify


@click.group()
@click.version_option(__version__, prog_name="docflow")
def main() -> None:
    """Monitor electronic issuance and digital signatures of official documents."""


for command in (verify, ingest, watch, summary, units, certs, sql, audit, demo):
    main.add_command(command)


if __name__ == "__main__":
    main()
