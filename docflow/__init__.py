"""docflow: document-interchange and digital-signature monitor for provincial e-government."""

__version__ = "0.1.0"
