"""Self-hosted GraphiQL page: HTML and vendored assets served by the app, never from a CDN.

``static/graphiql`` holds the page (``index.html``), its boot script and the vendored GraphiQL,
React, ReactDOM and graphql-ws browser builds (see ``static/graphiql/VERSIONS.txt`` and
``update.sh``). The boot script sends queries and mutations over HTTP and subscriptions over a
graphql-transport-ws socket whose ``connection_init`` payload is the Headers tab.
The app serves :func:`graphiql_html` at ``/graphiql`` and mounts :data:`GRAPHIQL_STATIC_DIR` at
``/graphiql/static``, e.g.::

    Mount("/graphiql/static", StaticFiles(directory=GRAPHIQL_STATIC_DIR), name="graphiql-static")

The page has no inline script, so it works under ``Content-Security-Policy: script-src 'self'``
(GraphiQL's CSS embeds its fonts and icons as ``data:`` URLs: allow ``font-src``/``img-src
'self' data:``; subscriptions need ``connect-src 'self'`` to cover the same-host WebSocket).
"""

from __future__ import annotations

import functools
from pathlib import Path

GRAPHIQL_STATIC_DIR: Path = Path(__file__).resolve().parent.parent / "static" / "graphiql"
"""Folder to mount at ``/graphiql/static``."""


@functools.cache
def graphiql_html() -> str:
    """Return the GraphiQL page (``static/graphiql/index.html``), read once and cached."""
    return (GRAPHIQL_STATIC_DIR / "index.html").read_text(encoding="utf-8")
