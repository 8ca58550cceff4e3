"""``smartx models-sandbox``: run the loopback model manager in the foreground."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import click


@click.command(name="models-sandbox")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 to listen on; 0 picks a free one (the URL is printed).")
@click.option("--files", "files", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the models as canonical CSV files into this directory (created if missing).")
def models_sandbox(port: int, files: Path | None) -> None:
    """Run the loopback model manager (Acme Asset Mgmt's seeded models) until Ctrl-C.

    It listens on 127.0.0.1 only and prints its base URL (ending in /api/v1); point the
    manager-api feed at it with SMARTX_MODELS_URL. The seed is GRO-80-20 (2026.1 FULL, 2026.2
    DELTA) and INC-30-70 (2026.1 FULL). With --files, the same versions are written as CSV files
    for the files feed (SMARTX_MODELS_DIRECTORY).

    \b
    Examples:
      smartx models-sandbox                        a free port
      smartx models-sandbox --port 8184 --files ./model-drop
      curl http://127.0.0.1:8184/api/v1/models
    """
    previous = signal.signal(signal.SIGTERM, _interrupt)  # first, so that an early SIGTERM ends cleanly
    try:
        from .sandbox import ManagerSandbox, write_model_files

        try:
            sandbox = ManagerSandbox(port=port)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
        sandbox.start()
        try:
            click.echo(f"Model manager sandbox listening on {sandbox.base_url} (Ctrl-C to stop)")
            for notice in sandbox.notices():
                click.echo(f"  model {notice['model_id']} version {notice['version']} ({notice['change_type']},"
                           f" effective {notice['effective_date']})")
            click.echo(f"  export SMARTX_MODELS_URL={sandbox.base_url}")
            if files is not None:
                written = write_model_files(files, sandbox.notices())
                click.echo(f"  wrote {len(written)} model file(s) to {files}")
                click.echo(f"  export SMARTX_MODELS_DIRECTORY={files.resolve()}")
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            sandbox.stop()
        click.echo("Model manager sandbox stopped.")
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
