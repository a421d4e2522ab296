"""How one GraphQL operation runs: admission (limits, cost, budget, the session check),
the plain-field executor and the per-operation scope (loaders, errors, metrics)."""
