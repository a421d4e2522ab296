/*
 * Boots GraphiQL for Shutter. Loaded by index.html after the vendored React, ReactDOM, GraphiQL
 * and graphql-ws UMD bundles (globals React, ReactDOM, GraphiQL, graphqlWs). Kept in its own file
 * so that a strict Content-Security-Policy (script-src 'self') works: index.html has no inline
 * script.
 *
 * Every run goes through `fetcher` below, which parses the editor's document itself (with the
 * graphql-js GraphiQL embeds) and picks the operation GraphiQL names (several operations may sit
 * in one editor):
 * - queries and mutations: HTTP POST to /graphql on the same origin (GraphiQL's own fetcher);
 * - subscriptions: a WebSocket to ws(s)://<same host>/graphql speaking graphql-transport-ws
 *   (graphql-ws's client), one socket per run, whose connection_init payload is the Headers tab
 *   with lower-cased names ({"authorization": "Bearer ..."}, what the server reads). Each event
 *   is shown as it comes; GraphiQL's stop button sends `complete` and closes the socket.
 * GraphiQL's createFetcher({subscriptionUrl}) is not used for subscriptions: it decides from the
 * editor's cached AST, and POSTs the subscription when that AST is absent or stale.
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
    "# 3. Live notifications: run a subscription (it goes over a",
    "#    WebSocket with the same headers; events appear on the",
    "#    right as they happen; the stop button ends it):",
    "#",
    "# subscription Live {",
    "#   notificationReceived { kind actorCount actor { username } }",
    "# }",
    "#",
    "# Ctrl-Enter runs; Ctrl-Space completes.",
    "",
    "query {",
    "  __typename",
    "}",
    "",
  ].join("\n");

  var httpFetcher = GraphiQL.createFetcher({ url: httpUrl });

  /** The operation `operationName` names in `query` ("query", "mutation", "subscription"),
   * or null when the document does not parse or names no single operation (the server then
   * answers with the reason, over HTTP). */
  function operationType(query, operationName) {
    var graphql = GraphiQL.GraphQL;
    try {
      var operation = graphql.getOperationAST(graphql.parse(query), operationName || null);
      return operation ? operation.operation : null;
    } catch (error) {
      return null;
    }
  }

  /** HTTP header names are case-insensitive; the socket's connection_init payload is read with
   * lower-case keys (web/graphql_endpoint.py on_ws_connect). */
  function connectionParams(headers) {
    var params = {};
    Object.keys(headers || {}).forEach(function (name) {
      params[name.toLowerCase()] = headers[name];
    });
    return params;
  }

  /** One subscription over its own graphql-transport-ws socket, as the Observable GraphiQL's
   * fetcher contract accepts: `subscribe(sink)` returns `{unsubscribe}`, which completes the
   * operation on the server and closes the socket. */
  function subscriptionOverWebSocket(params, headers) {
    return {
      subscribe: function (sink) {
        var client = graphqlWs.createClient({
          url: wsUrl,
          connectionParams: connectionParams(headers),
          lazy: true,
          retryAttempts: 0,
        });
        var closed = false;
        function close() {
          if (!closed) {
            closed = true;
            client.dispose();
          }
        }
        var unsubscribe = client.subscribe(
          {
            query: params.query,
            variables: params.variables,
            operationName: params.operationName,
          },
          {
            next: function (value) {
              sink.next(value);
            },
            error: function (error) {
              close();
              sink.error(socketError(error));
            },
            complete: function () {
              close();
              sink.complete();
            },
          }
        );
        return {
          unsubscribe: function () {
            unsubscribe();
            close();
          },
        };
      },
    };
  }

  /** What the result pane shows when a subscription fails: GraphiQL renders an array as the
   * response's `errors`. GraphQL errors (an `error` message) are such an array already; a close
   * (e.g. 4403, the token refused) becomes one error naming its code and reason. */
  function socketError(error) {
    if (error && typeof error.code === "number" && !Array.isArray(error)) {
      return [
        {
          message:
            "The WebSocket closed with " + error.code + (error.reason ? ": " + error.reason : ""),
        },
      ];
    }
    return error;
  }

  function fetcher(params, options) {
    if (operationType(params.query, params.operationName) === "subscription") {
      return subscriptionOverWebSocket(params, options && options.headers);
    }
    return httpFetcher(params, options);
  }

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
