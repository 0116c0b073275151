"""Placeholder: filled in by the owning work item."""

import click


@click.command()
def ingest() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")


@click.command()
def watch() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")

