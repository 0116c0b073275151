"""Reading what clerks drop: batches (zips, folders), edXML packages, register exports, their limits and identity."""
