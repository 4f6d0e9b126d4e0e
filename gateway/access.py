"""Who may call the gateway: its token store and permission table, as one interceptor."""

from __future__ import annotations

import grpc

from gateway import permissions
from services.common.auth import AuthInterceptor, Authorizer, TokenStore, parse_entries
from services.common.config import ConfigError, Settings


def token_store(settings: Settings) -> TokenStore:
    entries = [entry for entry in settings.gateway_tokens.split(",") if entry.strip()]
    try:
        fixed = parse_entries(entries, "gateway_tokens")
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return TokenStore(fixed, settings.gateway_token_path())


def interceptors(settings: Settings) -> list[grpc.ServerInterceptor]:
    authorizer = Authorizer(token_store(settings), permissions.allowed_roles, permissions.PUBLIC)
    return [AuthInterceptor(authorizer)]
