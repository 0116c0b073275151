"""Placeholder: filled in by the owning work item."""

import click


@click.command()
def audit() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")


@click.command()
def certs() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")


@click.command()
def demo() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")


@click.command()
def sql() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")


@click.command()
def summary() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")


@click.command()
def units() -> None:
    """Not implemented yet."""
    raise click.ClickException("not implemented yet")

