"""The signature verification engine: CMS, PDF signatures, certificates, CRLs.

It knows nothing of units or batches: give it bytes and a trust store, get verdicts.
"""
