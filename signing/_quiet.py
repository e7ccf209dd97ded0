"""Warnings phonghop hides before pyHanko is imported (imported first by `signing`)."""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

# pyHanko imports DSA key types at import time, and cryptography >= 50 warns about DSA on
# that import, in every process at every start. phonghop never signs with DSA keys; the
# warning tells an operator nothing. Only that one message is hidden.
warnings.filterwarnings("ignore", message="DSA is deprecated",
                        category=CryptographyDeprecationWarning)
