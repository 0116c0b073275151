"""Taking one batch into the store exactly once: the batch run and the signature verifier pool."""
