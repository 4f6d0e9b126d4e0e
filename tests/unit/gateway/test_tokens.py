"""Token hashes, the token file and its reload, and the authorizer's decisions."""

import os

import grpc
import pytest

from services.common import auth
from services.common.auth import Authorizer, TokenFileError, TokenStore, add_token, hash_token, parse_entries


def _later(path):
    """Moves the file's modification time on, as a later edit would."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))


@pytest.fixture(autouse=True)
def check_every_call(monkeypatch):
    monkeypatch.setattr(auth, "TOKEN_FILE_CHECK_SECONDS", 0.0)


def test_the_token_file_holds_only_hashes(tmp_path):
    path = tmp_path / "tokens"
    token = add_token(path, "ops", "night-shift")
    text = path.read_text()
    assert token not in text
    assert f"ops {hash_token(token)} night-shift" in text
    assert TokenStore({}, path).grant_for(token).role == "ops"


def test_added_and_revoked_tokens_count_without_a_restart(tmp_path):
    path = tmp_path / "tokens"
    store = TokenStore({}, path)
    token = add_token(path, "analyst", "ana")
    assert store.grant_for(token).role == "analyst"
    assert auth.revoke_tokens(path, "ana") == 1
    _later(path)
    assert store.grant_for(token) is None


def test_a_broken_edit_keeps_the_tokens_loaded_before(tmp_path):
    path = tmp_path / "tokens"
    token = add_token(path, "service", "erp")
    store = TokenStore({}, path)
    path.write_text("service not-a-hash\n")
    _later(path)
    assert store.grant_for(token).role == "service"


def test_entries_name_a_known_role_and_a_sha256_digest():
    digest = hash_token("x")
    assert parse_entries([f"admin sha256:{digest} root  # comment", "", "# only a comment"], "cfg") == {
        digest: auth.Grant("admin", "root")
    }
    with pytest.raises(TokenFileError, match="unknown role 'boss'"):
        parse_entries([f"boss {digest}"], "cfg")
    with pytest.raises(TokenFileError, match="cfg:1: not a SHA-256"):
        parse_entries(["ops abc"], "cfg")


def test_development_tokens_are_fresh_for_each_role(tmp_path):
    path = tmp_path / "tokens"
    first = auth.issue_development_tokens(path)
    second = auth.issue_development_tokens(path)
    assert set(first) == set(auth.ROLES)
    store = TokenStore({}, path)
    assert all(store.grant_for(token).role == role for role, token in second.items())
    assert all(store.grant_for(token) is None for token in first.values())


def test_the_authorizer_tells_missing_wrong_and_unauthorised_tokens_apart():
    tokens = TokenStore({hash_token("s3cret"): auth.Grant("ops")})
    authorizer = Authorizer(tokens, lambda method: frozenset({"ops"}) if method == "/a/Read" else frozenset())
    assert authorizer.refusal("/a/Read", [("authorization", "Bearer s3cret")]) is None
    assert authorizer.refusal("/a/Read", []).reason == "missing_token"
    assert authorizer.refusal("/a/Read", [("authorization", "s3cret")]).reason == "malformed_token"
    assert authorizer.refusal("/a/Read", [("authorization", "Bearer nope")]).reason == "unknown_token"
    denied = authorizer.refusal("/a/Write", [("authorization", "bearer s3cret")])
    assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED, "role_not_allowed")
