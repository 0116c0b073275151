"""The DSA public-key class, fetched once without ``cryptography``'s deprecation warning.

From cryptography 46 on, every read of ``dsa.DSAPublicKey`` (and every DSA operation) warns that DSA support
will go. docflow must still recognise DSA signers (PKITS has them; old archives may too), and the warning is
meant for the library's user, not for the clerk reading docflow's output. Modules that tell key types apart
take the class from here instead of touching ``dsa`` themselves.
"""

from __future__ import annotations

import warnings

from cryptography.utils import CryptographyDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from cryptography.hazmat.primitives.asymmetric.dsa import DSAPublicKey

__all__ = ["DSAPublicKey"]
