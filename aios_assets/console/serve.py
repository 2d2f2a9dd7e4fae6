"""Start the console under uvicorn (``aios console``)."""

from __future__ import annotations

import os

from aios_assets.console.security import PASSWORD_ENV, check_bind


def serve(host: str = "127.0.0.1", port: int = 8765, *, log_level: str = "warning") -> None:
    """Serve until SIGINT/SIGTERM. Raises ``BindRefused`` for a non-loopback ``host`` without
    ``AIOS_CONSOLE_PASSWORD``, before anything listens."""
    import uvicorn

    from aios_assets.console.app import create_app
    from aios_assets.console.security import Guard

    check_bind(host, os.environ.get(PASSWORD_ENV) or None)
    app = create_app(Guard.from_env())
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                server_header=False, proxy_headers=False)
