"""Development signing credentials: a local CA and a PKCS#12 file for every account.

For demonstrations and tests only: the CA's subject says "KHÔNG DÙNG CHO MÔI TRƯỜNG THẬT /
NOT FOR PRODUCTION", and every credential is protected by one shared password. Production
signers bring their own keys (an official PKCS#12 file, a USB token through two-step
signing, or the server's PKCS#11 token) and the trusted roots are configured
(`PHONGHOP_TRUST_PEM`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from phonghop.server.credential_vault import CredentialVault, FileKeyWrap
from phonghop.server.node import Node
from phonghop.signing.devca import DevCA


def ca_dir(data_dir: Path) -> Path:
    return data_dir / "dev-ca"


async def issue_dev_credentials(node: Node, data_dir: Path, password: str,
                                usernames: list[str] | None = None, *,
                                kek_file: Path | None = None) -> dict[str, Any]:
    """Create (or reuse) the development CA in DATA/dev-ca and give each account (or the
    named ones) a signing credential protected by `password`, stored for signing (sealed
    with the KEK in `kek_file`, default DATA/secrets/credentials.kek) and written to
    DATA/dev-ca/USERNAME.p12 (0600)."""
    kw = FileKeyWrap.load_or_create(kek_file or data_dir / "secrets" / "credentials.kek")
    vault = CredentialVault(node.store, kw)
    ca = await asyncio.to_thread(DevCA.load_or_create, ca_dir(data_dir))
    users = await node.store.list_users()
    issued = []
    for user in users:
        if usernames is not None and user.username not in usernames:
            continue
        cred = await asyncio.to_thread(
            ca.issue_user, user_id=str(user.id), full_name=user.full_name,
            position=user.position, unit=user.unit)
        p12 = await asyncio.to_thread(cred.write_p12, ca_dir(data_dir) / f"{user.username}.p12",
                                      password)
        await vault.save(user.id, p12.read_bytes(), password,
                         cred.certificate.subject.rfc4514_string(),
                         cred.certificate.not_valid_after_utc)
        issued.append(user.username)
    return {"ca": str(ca_dir(data_dir) / "ca.pem"), "issued": issued}
