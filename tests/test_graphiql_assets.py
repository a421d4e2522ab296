"""GraphiQL must work offline: the page and everything it loads come from the app itself.

No server is needed: these tests read ``static/graphiql`` from disk.
"""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

from web.graphiql import GRAPHIQL_STATIC_DIR, graphiql_html

STATIC_PREFIX = "/graphiql/static/"

# Files we write ourselves; everything else in the folder is vendored by update.sh.
OWN_FILES = {"index.html", "boot.js", "boot.css", "update.sh", "VERSIONS.txt"}

# Any absolute or protocol-relative URL with a host: https://x.y, wss://x.y, //x.y ...
HOST_URL = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?//([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")

# Hosts that appear as plain strings in the vendored bundles and are never requested by the
# browser on its own:
# - www.w3.org: XML namespace identifiers (SVG, XLink, MathML) passed to createElementNS.
# - reactjs.org: the error-decoder link React puts in thrown error messages.
# - github.com: license comments and a link in GraphiQL's logo / an error message.
# - codemirror.net: a link in GraphiQL's keyboard-shortcuts dialog (opened only if clicked).
# - en.wikipedia.org, commonmark.org: links in graphql-js's built-in scalar/directive docs.
# An upgrade that brings a new host fails test_bundles_name_only_known_hosts: read the new URL's
# context in the bundle, and add it here only if it is not fetched at run time.
KNOWN_BUNDLE_HOSTS = {
    "www.w3.org",
    "reactjs.org",
    "github.com",
    "codemirror.net",
    "en.wikipedia.org",
    "commonmark.org",
}

# Ways JS loads something over the network, followed directly by an absolute URL literal.
# (GraphiQL's image-preview tooltip does fetch(url, {method: "HEAD"}) for an image URL the user
# hovers in a query *result*; that is data-driven and goes nowhere unless the data says so.)
FETCH_OF_ABSOLUTE_URL = re.compile(
    r"(?:\bsrc\s*=|\bhref\s*=|\bimport\s*\(|\bimportScripts\s*\(|\bfetch\s*\(|"
    r"\bnew\s+(?:WebSocket|Worker|SharedWorker|EventSource)\s*\(|\bsendBeacon\s*\(|"
    r"\.open\s*\(\s*[\"'][A-Za-z]+[\"']\s*,)"
    r"\s*[\"'`](?:[A-Za-z][A-Za-z0-9+.-]*:)?//",
)

CDN_NAMES = re.compile(r"unpkg|jsdelivr|cdnjs|googleapis|gstatic|cloudflare", re.IGNORECASE)


class _RefCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.inline_scripts = 0
        self.event_handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name in {"src", "href", "srcset", "action", "poster", "data"}:
                self.refs.append((tag, value or ""))
            if name.startswith("on"):
                self.event_handlers.append(f"<{tag} {name}>")
        if tag == "script":
            self._in_script = True
            if not values.get("src"):
                self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _parse_page() -> _RefCollector:
    parser = _RefCollector()
    parser.feed(graphiql_html())
    parser.close()
    return parser


def _vendored_files() -> list[Path]:
    return sorted(
        p
        for p in GRAPHIQL_STATIC_DIR.rglob("*")
        if p.is_file() and p.relative_to(GRAPHIQL_STATIC_DIR).as_posix() not in OWN_FILES
    )


def test_page_is_cached_and_loads_the_app() -> None:
    html = graphiql_html()
    assert graphiql_html() is html
    assert 'id="graphiql"' in html
    assert "/graphiql/static/boot.js" in html


def test_page_references_only_local_assets_that_exist() -> None:
    refs = _parse_page().refs
    assert len(refs) >= 5, refs  # CSS x2, React, ReactDOM, GraphiQL, boot.js (+ favicon)
    for tag, url in refs:
        if tag == "link" and url.startswith("data:"):
            continue  # inline favicon: no request at all (avoids a /favicon.ico 404)
        assert url.startswith(STATIC_PREFIX), f"<{tag}> {url!r} is not under {STATIC_PREFIX}"
        rel = url.removeprefix(STATIC_PREFIX)
        assert ".." not in rel.split("/"), url
        assert not any(c in rel for c in "?#"), url
        assert (GRAPHIQL_STATIC_DIR / rel).is_file(), f"{url!r} missing from {GRAPHIQL_STATIC_DIR}"


def test_page_works_under_strict_csp() -> None:
    parser = _parse_page()
    assert parser.inline_scripts == 0, "inline <script> would need script-src 'unsafe-inline'"
    assert parser.event_handlers == [], parser.event_handlers
    assert "<style" not in graphiql_html(), "inline <style> would need style-src 'unsafe-inline'"
    assert "style=" not in graphiql_html()


def test_own_files_name_no_outside_host() -> None:
    # Strict: our own page, boot script and stylesheet contain no absolute URL whatsoever.
    for name in ("index.html", "boot.js", "boot.css"):
        text = (GRAPHIQL_STATIC_DIR / name).read_text(encoding="utf-8")
        assert HOST_URL.findall(text) == [], name
        assert CDN_NAMES.search(text) is None, name


def test_boot_js_uses_same_origin_endpoints() -> None:
    boot = (GRAPHIQL_STATIC_DIR / "boot.js").read_text(encoding="utf-8")
    assert "GraphiQL.createFetcher(" in boot
    assert "graphqlWs.createClient(" in boot
    assert '"/graphql"' in boot
    assert "loc.host" in boot
    assert '"wss:"' in boot
    assert '"ws:"' in boot


def test_bundles_load_nothing_from_absolute_urls() -> None:
    scripts = [p for p in _vendored_files() if p.suffix == ".js"]
    assert {p.name for p in scripts} >= {
        "graphiql.min.js",
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphql-ws.min.js",
    }
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        found = [m.group(0) for m in FETCH_OF_ABSOLUTE_URL.finditer(text)]
        assert found == [], f"{path.name} loads from an absolute URL: {found}"
        assert "sourceMappingURL" not in text, f"{path.name}: map is not vendored (404)"


def test_bundles_name_only_known_hosts() -> None:
    for path in _vendored_files():
        if path.suffix not in {".js", ".css"}:
            continue
        hosts = set(HOST_URL.findall(path.read_text(encoding="utf-8")))
        unknown = hosts - KNOWN_BUNDLE_HOSTS
        assert not unknown, f"{path.name} names new hosts {unknown}: see KNOWN_BUNDLE_HOSTS"


def test_stylesheets_fetch_nothing_remote() -> None:
    # Fonts and icons are embedded as data: URLs; an @import or url(http...) would be fetched.
    for path in GRAPHIQL_STATIC_DIR.rglob("*.css"):
        css = path.read_text(encoding="utf-8")
        assert "@import" not in css, path.name
        for target in re.findall(r"url\(\s*[\"']?([^\"')\s]*)", css):
            assert target.startswith("data:"), f"{path.name}: url({target[:60]})"


def test_versions_txt_matches_vendored_files() -> None:
    listed: dict[str, str] = {}
    for line in (GRAPHIQL_STATIC_DIR / "VERSIONS.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        spec, name, sha256 = line.split()
        assert re.fullmatch(r"[@a-z0-9/._-]+@\d+\.\d+\.\d+", spec), line
        listed[name] = sha256
    on_disk = {p.relative_to(GRAPHIQL_STATIC_DIR).as_posix(): p for p in _vendored_files()}
    assert set(listed) == set(on_disk)
    for name, path in on_disk.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[name], name
    for asset in ("graphiql", "react", "react-dom", "graphql-ws"):
        assert f"LICENSES/{asset}.txt" in listed
