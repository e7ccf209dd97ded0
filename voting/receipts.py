"""Voter receipts: short random codes the voter's device draws and the box keeps.

The device, not the server, draws the code, so nothing the server stores (command ids,
marks, logs) can recompute it: the receipt is only in the ballot row, and after
publication in the list of receipts counted, where the voter finds their own.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")


def new_receipt() -> str:
    """A fresh receipt (50 random bits), as a device would draw it."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(10))
    return f"{code[:5]}-{code[5:]}"
