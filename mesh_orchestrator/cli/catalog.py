"""``mesh catalog``: build the product catalogue from the data folder's catalog and Dagster instance,
and optionally serve it on the loopback interface."""

from __future__ import annotations

import contextlib
import functools
import http.server
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from mesh_orchestrator.governance.catalogue import Catalogue

#: Only the loopback interface: the catalogue shows table locations and run ids of the mesh.
HOST = "127.0.0.1"


def build_catalogue(output: Path, ui_url: str, progress: Callable[[str], None]) -> tuple[Catalogue, Path]:
    """Collect every product's facts and write the site; returns the catalogue and its index."""
    import dagster as dg

    from mesh_orchestrator.governance.catalogue import collect
    from mesh_orchestrator.governance.catalogue_site import write_site
    from mesh_orchestrator.orchestration.instance import ensure_dagster_home

    ensure_dagster_home()
    with dg.DagsterInstance.get() as instance:
        catalogue = collect(instance, ui_url, progress=progress)
    return catalogue, write_site(catalogue, output)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(folder: Path, port: int, ready: Callable[[str], None]) -> None:
    """Serve ``folder`` on ``HOST:port`` until Ctrl-C or SIGTERM.

    Both are handled here: a process started in the background (``nohup``, ``&``, some CI runners)
    inherits SIGINT, and sometimes SIGTERM, as ignored, and would then never stop when asked.
    """
    handler = functools.partial(_QuietHandler, directory=str(folder))
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with http.server.ThreadingHTTPServer((HOST, port), handler) as server:
            ready(f"http://{HOST}:{server.server_address[1]}/")
            with contextlib.suppress(KeyboardInterrupt):
                server.serve_forever()
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)
