"""Neo4j access: driver, named queries, schema, ingest, export, write-back."""
