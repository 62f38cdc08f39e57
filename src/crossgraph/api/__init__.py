"""The HTTP API: FastAPI app, routes, schemas, auth, metrics. Logic lives in crossgraph.recommend."""
