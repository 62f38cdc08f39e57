"""The local Neo4j server the project starts itself."""
