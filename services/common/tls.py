"""Optional TLS and mutual TLS for every gRPC port and every channel between processes.

Off unless configured. ``tls_cert_file`` and ``tls_key_file`` make a server speak TLS
only; ``tls_client_ca_file`` makes it demand a client certificate signed by that CA
(mutual TLS). A process that calls others trusts ``tls_ca_file`` and, under mutual TLS,
presents its own certificate."""

from __future__ import annotations

import pathlib

import grpc

from services.common.config import ConfigError, Settings


def _read(settings: Settings, key: str) -> bytes | None:
    path = getattr(settings, key)
    if not path:
        return None
    try:
        return pathlib.Path(path).read_bytes()
    except OSError as error:
        raise ConfigError(f"{key}: cannot read {path}: {error.strerror}") from None


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    cert, key = _read(settings, "tls_cert_file"), _read(settings, "tls_key_file")
    client_ca = _read(settings, "tls_client_ca_file")
    if cert is None and key is None:
        if client_ca is not None:
            raise ConfigError("tls_client_ca_file needs tls_cert_file and tls_key_file")
        return None
    if cert is None or key is None:
        raise ConfigError("TLS needs both tls_cert_file and tls_key_file")
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def channel_credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    """What this process's channels to the others use; None means plaintext."""
    ca = _read(settings, "tls_ca_file")
    if ca is None:
        return None
    if _read(settings, "tls_client_ca_file") is None:
        return grpc.ssl_channel_credentials(root_certificates=ca)
    return grpc.ssl_channel_credentials(
        root_certificates=ca,
        private_key=_read(settings, "tls_key_file"),
        certificate_chain=_read(settings, "tls_cert_file"),
    )


def add_port(server: grpc.Server, address: str, settings: Settings) -> int:
    """Binds the gRPC port, with TLS when configured; RuntimeError when it is taken."""
    credentials = server_credentials(settings)
    if credentials is None:
        return server.add_insecure_port(address)
    return server.add_secure_port(address, credentials)


def open_plain_or_secure(target: str, settings: Settings, options=()) -> grpc.Channel:
    credentials = channel_credentials(settings)
    if credentials is None:
        return grpc.insecure_channel(target, options=list(options))
    return grpc.secure_channel(target, credentials, options=list(options))
