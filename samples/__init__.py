"""A sample PKI shaped like the Vietnamese government one, and generators of realistic batches."""
