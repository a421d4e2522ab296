/*
 * Boots GraphiQL for Shutter. Loaded by index.html after the vendored React, ReactDOM and
 * GraphiQL UMD bundles (globals React, ReactDOM, GraphiQL). Kept in its own file so that a
 * strict Content-Security-Policy (script-src 'self') works: index.html has no inline script.
 *
 * - Queries and mutations: HTTP POST to /graphql on the same origin.
 * - Subscriptions: WebSocket to ws(s)://<same host>/graphql, graphql-transport-ws protocol.
 *   The GraphiQL UMD bundle embeds the graphql-ws client, so passing `subscriptionUrl` is
 *   enough. Headers typed in the Headers editor are sent over HTTP as request headers and, for
 *   subscriptions, as the connection_init payload (graphql-ws `connectionParams`).
 */
(function () {
  "use strict";

  var loc = window.location;
  var httpUrl = loc.protocol + "//" + loc.host + "/graphql";
  var wsUrl = (loc.protocol === "https:" ? "wss:" : "ws:") + "//" + loc.host + "/graphql";

  var defaultQuery = [
    "# Welcome to Shutter's GraphQL API.",
    "#",
    "# 1. Get an access token: uncomment and run signUp",
    "#    (or log in; the Docs panel, top left, lists fields).",
    "#",
    "# mutation SignUp {",
    "#   signUp(input: {",
    '#     email: "you@example.com"',
    '#     username: "you"',
    '#     password: "a long passphrase"',
    "#   }) {",
    "#     accessToken",
    "#     userErrors { code message }",
    "#   }",
    "# }",
    "#",
    "# 2. Put the token in Headers (below):",
    '#    {"Authorization": "Bearer <accessToken>"}',
    "#",
    "# Ctrl-Enter runs; Ctrl-Space completes.",
    "",
    "query {",
    "  __typename",
    "}",
    "",
  ].join("\n");

  var fetcher = GraphiQL.createFetcher({
    url: httpUrl,
    subscriptionUrl: wsUrl,
  });

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(
      GraphiQL,
      {
        fetcher: fetcher,
        defaultQuery: defaultQuery,
        isHeadersEditorEnabled: true,
        defaultEditorToolsVisibility: "headers",
      },
      React.createElement(GraphiQL.Logo, null, "Shutter")
    )
  );
})();
