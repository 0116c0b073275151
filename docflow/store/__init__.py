"""The SQLite store: schema and migrations, the Store facade, and the pure rules of what a document and a signature add."""
