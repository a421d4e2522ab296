"""The HTTP and websocket side: the GraphQL endpoint, middleware and routes."""
