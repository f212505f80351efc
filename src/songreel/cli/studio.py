"""``songreel studio [PROJECT_DIR]``: the studio in a browser (``pip install 'songreel[studio]'``).

Binds 127.0.0.1 unless ``--host`` says otherwise (with a warning: anyone who can reach the port can
render, and spend what the project's paid backends cost); never makes a public share link.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Optional

import typer

from .shell import console, escape, out_console, run


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def check_extra() -> None:
    """Raise MissingExtraError naming the pip command when gradio or ruamel.yaml is missing."""
    import importlib.util

    from ..errors import MissingExtraError

    for module in ("gradio", "ruamel"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError("studio", "ruamel.yaml" if module == "ruamel" else module, "the studio")


def studio(project: Optional[Path] = typer.Argument(
               None, metavar="PROJECT_DIR",
               help="The project folder (default: this one). Created if missing; "
                    "nothing outside it is read or written."),
           host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only)."),
           port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
           no_browser: bool = typer.Option(False, "--no-browser", help="Don't open a browser tab.")):
    """Direct the whole video in a browser: song, beat grid, shots, previews, takes, render."""
    folder = project if project is not None else Path.cwd()

    def go():
        check_extra()
        from ..errors import InputError

        if folder.exists() and not folder.is_dir():
            raise InputError(f"PROJECT_DIR: got {folder}, a file; expected a folder")
        if not is_loopback(host):
            console.print(f"[bold yellow]warning:[/] listening on {escape(host)}: anyone who can reach this port "
                          "can read this project and render with its backends (including paid ones)")
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            try:
                s.bind((host, port))
            except OSError as e:
                raise InputError(f"--port: {host}:{port} is not free ({e.strerror}); expected a free port "
                                 "(try --port 7861)") from None
        from ..studio import launch

        out_console.print(f"songreel studio for {escape(str(folder.resolve()))} at http://{escape(host)}:{port}/ "
                          "(Ctrl-C stops it)")
        launch(folder, host=host, port=port, browser=not no_browser, block=True)

    run(go)
