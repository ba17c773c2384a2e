"""A locally minted certificate authority for the sandbox's TLS servers.

Nothing here disables verification: clients are handed ``ca_path`` as their CA bundle.

    ca = SandboxCA.create(directory)
    ca.ca_path                       # PEM bundle to trust
    pair = ca.server_pair()          # cert + key for 127.0.0.1 / localhost
    bad = ca.server_pair("expired", expired=True)
    other = ca.server_pair("wrong-name", names=("not-this-host.example",))
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import trustme

__all__ = ["CertPair", "SandboxCA"]

LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class CertPair:
    cert_path: Path  # leaf certificate followed by the chain
    key_path: Path


@dataclass
class SandboxCA:
    directory: Path
    _ca: trustme.CA

    @classmethod
    def create(cls, directory: Path) -> SandboxCA:
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="agent-shepherd sandbox")
        ca.cert_pem.write_to_path(str(directory / "ca.pem"))
        return cls(directory, ca)

    @property
    def ca_path(self) -> Path:
        return self.directory / "ca.pem"

    def server_pair(
        self,
        name: str = "server",
        *,
        names: tuple[str, ...] = LOCAL_NAMES,
        expired: bool = False,
    ) -> CertPair:
        """Issue a server certificate for ``names`` and write it as ``<name>.pem``/``.key``."""
        if expired:
            now = dt.datetime.now(dt.UTC)
            leaf = self._ca.issue_cert(
                *names,
                not_before=now - dt.timedelta(days=30),
                not_after=now - dt.timedelta(days=1),
            )
        else:
            leaf = self._ca.issue_cert(*names)
        cert_path = self.directory / f"{name}.pem"
        key_path = self.directory / f"{name}.key"
        cert_path.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        key_path.write_bytes(leaf.private_key_pem.bytes())
        key_path.chmod(0o600)
        return CertPair(cert_path, key_path)

    @staticmethod
    def other_ca(directory: Path) -> SandboxCA:
        """A second, unrelated CA: its bundle must NOT verify this CA's servers."""
        return SandboxCA.create(directory)
