#!/usr/bin/env bash
# Re-vendor GraphiQL's browser assets from the npm registry.
#
# Usage:   static/graphiql/update.sh
#          GRAPHIQL_VERSION=3.9.0 REACT_VERSION=18.3.1 GRAPHQL_WS_VERSION=6.4.2 static/graphiql/update.sh
#
# Needs: npm, tar, sha256sum. Downloads the npm tarballs (npm pack) into a temp folder, copies
# only the minified browser (UMD) builds plus each package's LICENSE into this folder, and
# rewrites VERSIONS.txt (package@version, file, sha256). index.html and boot.js are ours and are
# never touched. Afterwards run `pytest tests/test_graphiql_assets.py` and open /graphiql.
#
# Constraints when upgrading:
# - GraphiQL must ship a self-contained UMD build (graphiql.min.js / graphiql.min.css). 3.x does;
#   4.x still does, 5.x dropped it (ESM only), so 5.x needs a bundler and is not a drop-in upgrade.
# - GraphiQL 3.x supports React 16.8-18 only (not 19); react/react-dom 19 have no UMD build.
# - The GraphiQL UMD bundle embeds graphql-js (exported as GraphiQL.GraphQL) and a graphql-ws
#   client, but does not export that client, and its createFetcher decides "subscription?" from
#   the editor's cached AST (absent or stale, it POSTs the subscription). boot.js therefore routes
#   operations itself and opens sockets with graphql-ws's own UMD build (global `graphqlWs`).
# - The trailing `//# sourceMappingURL=...` comment is stripped: the .map files are not vendored
#   (they are ~4 MB) and browser devtools would otherwise report a 404 for them.
set -euo pipefail

GRAPHIQL_VERSION="${GRAPHIQL_VERSION:-3.9.0}"
REACT_VERSION="${REACT_VERSION:-18.3.1}"
GRAPHQL_WS_VERSION="${GRAPHQL_WS_VERSION:-6.4.2}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "graphiql@${GRAPHIQL_VERSION}" "react@${REACT_VERSION}" \
    "react-dom@${REACT_VERSION}" "graphql-ws@${GRAPHQL_WS_VERSION}" >/dev/null
for pkg in graphiql react react-dom graphql-ws; do
    mkdir -p "$pkg"
    tar -xzf "$pkg"-[0-9]*.tgz -C "$pkg" --strip-components=1
done

# "package@version  source-path-in-tarball  vendored-name"
files=(
    "graphiql@${GRAPHIQL_VERSION} graphiql/graphiql.min.js graphiql.min.js"
    "graphiql@${GRAPHIQL_VERSION} graphiql/graphiql.min.css graphiql.min.css"
    "react@${REACT_VERSION} react/umd/react.production.min.js react.production.min.js"
    "react-dom@${REACT_VERSION} react-dom/umd/react-dom.production.min.js react-dom.production.min.js"
    "graphql-ws@${GRAPHQL_WS_VERSION} graphql-ws/umd/graphql-ws.min.js graphql-ws.min.js"
)

mkdir -p "$here/LICENSES"
rm -f "$here"/LICENSES/*.txt
versions="$here/VERSIONS.txt"
{
    echo "# Vendored from the npm registry by update.sh; do not edit by hand."
    echo "# package@version  file  sha256"
} >"$versions"

for entry in "${files[@]}"; do
    read -r spec src dest <<<"$entry"
    sed -e '/^\/\/# sourceMappingURL=/d' -e 's#/\*\# sourceMappingURL=[^*]*\*/##' \
        "$src" >"$here/$dest"
    echo "$spec  $dest  $(sha256sum "$here/$dest" | cut -d' ' -f1)" >>"$versions"
done

for pkg in graphiql react react-dom graphql-ws; do
    license="$pkg/LICENSE"
    [[ -f "$license" ]] || license="$pkg/LICENSE.md"  # graphql-ws names it LICENSE.md
    cp "$license" "$here/LICENSES/$pkg.txt"
    version="$(node -p "require('./$pkg/package.json').version")"
    echo "$pkg@$version  LICENSES/$pkg.txt  $(sha256sum "$here/LICENSES/$pkg.txt" | cut -d' ' -f1)" \
        >>"$versions"
done

cat "$versions"
du -ch "$here"/*.min.js "$here"/*.min.css | tail -1
