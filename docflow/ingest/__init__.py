"""Taking one batch into the store exactly once: ``run`` (ingest_batch and its retries), ``batch_run`` (each
item into the store), ``chunks`` (long batches committed in chunks and resumed), ``outcome`` and the verifier pool."""
