"""`flask backup create | restore | list`: backups of the whole instance (docs/backups.md)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import AppGroup

from ringround.backups import (
    BackupError,
    PassphraseNeededError,
    create_backup,
    list_backups,
    restore_backup,
)
from ringround.extensions import db

backup_cli = AppGroup("backup", help="Back up and restore the whole instance.")


def _passphrase(var: str | None) -> str | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if not value:
        raise click.ClickException(f"The environment variable {var} is empty or not set.")
    return value


@backup_cli.command("create")
@click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write into. Default: BACKUP_DIR, else instance/backups.")
@click.option("--passphrase-env", "passphrase_var", default=None, metavar="VAR",
              help="Encrypt with the passphrase in this environment variable.")
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="Then delete the oldest backups beyond the newest N.")
def create(folder: Path | None, passphrase_var: str | None, keep: int | None) -> None:
    """Write a consistent backup while the app runs."""
    try:
        info = create_backup(db.engine, folder, _passphrase(passphrase_var), keep)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backup written: {info.path} ({info.size} bytes, schema {info.revision}"
               f"{', encrypted' if info.encrypted else ''}).")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--passphrase-env", "passphrase_var", default=None, metavar="VAR",
              help="The environment variable holding the backup's passphrase.")
@click.option("--force", is_flag=True, help="Replace an instance that already holds data.")
def restore(file: Path, passphrase_var: str | None, force: bool) -> None:
    """Restore FILE into this instance, then replay the erasure ledger."""
    try:
        report = restore_backup(db.engine, file, _passphrase(passphrase_var), force)
    except PassphraseNeededError as error:
        raise click.ClickException(
            f"{error} Put it in an environment variable and name that variable with "
            "--passphrase-env VAR. Nothing was changed.") from error
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored {sum(report.rows.values())} rows from schema {report.revision}; "
               f"{report.erased_again} erased people erased again.")


@backup_cli.command("list")
@click.option("--in", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to look in. Default: BACKUP_DIR, else instance/backups.")
def list_(folder: Path | None) -> None:
    """Show the backups in the folder, newest first: date, size, schema revision."""
    backups = list_backups(folder)
    if not backups:
        click.echo("No backups.")
    for info in backups:
        click.echo(f"{info.created_at:%Y-%m-%d %H:%M:%S} UTC  {info.size:>12} bytes  "
                   f"{info.revision}  {'encrypted  ' if info.encrypted else ''}{info.path.name}")
