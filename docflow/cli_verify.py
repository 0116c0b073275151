"""Placeholder: filled in by the owning work item."""

import click


@click.command()
def verify() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")

