"""The SQLite store: the Store facade (core) over connection, documents, signatures and counters; schema and
migrations; and the pure rules of what a document and a signature add (classify, merging, signature_rows)."""
