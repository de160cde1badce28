"""API keys: the key's shape, storage as a digest only, authentication with the user's current
rights, constant-time comparison, expiry, revocation, lastUsedAt at most once a minute, and the
caller's list (paged, newest first, nobody else's)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import botocore.client
import pytest

from chalicelib.auth import api_keys as keys
from chalicelib.auth.bearer import authenticate_bearer
from chalicelib.auth.principal import VIA_API_KEY, Principal
from chalicelib.dal.auth_models import ApiKey
from chalicelib.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from chalicelib.logic import api_keys
from chalicelib.models.api_keys import ApiKeyCreate
from tests.unit.auth_support import seed_user

ADA = Principal(user_id="usr_ada", role="member")
BO = Principal(user_id="usr_bo", role="member")


@pytest.fixture(autouse=True)
def _users(aws: None) -> None:
    seed_user("usr_ada")
    seed_user("usr_bo")


def _create(who: Principal = ADA, name: str = "ci", **fields: object) -> tuple[str, str]:
    created = api_keys.create_key(who, ApiKeyCreate(name=name, **fields))
    return created.id, created.key


@pytest.fixture
def dynamo_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    counts: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counted(self: botocore.client.BaseClient, operation: str, params: dict) -> object:
        if self.meta.service_model.service_name == "dynamodb":
            counts[operation] += 1
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counted)
    return counts


def test_a_key_is_recognisable_256_bit_and_unique() -> None:
    minted = [keys.mint_key() for _ in range(50)]
    for m in minted:
        assert re.fullmatch(r"aion_[a-z2-7]{12}_[a-z2-7]{52}", m.key), m.key
        assert m.prefix == m.key[: len("aion_") + 12]
        assert m.key_id == "ak_" + m.prefix.removeprefix("aion_")
        assert m.secret_hash == hashlib.sha256(m.key.encode()).hexdigest()
        secret = m.key.rsplit("_", 1)[1]
        assert len(secret) * 5 >= 256  # 52 base32 characters carry 260 bits (256 random)
    assert len({m.key for m in minted}) == len({m.key_id for m in minted}) == 50


def test_only_a_digest_is_stored(aws: None) -> None:
    key_id, key = _create()
    row = ApiKey.get(key_id)
    stored = " ".join(str(v) for v in row.attribute_values.values())
    assert key not in stored
    assert key.rsplit("_", 1)[1] not in stored
    assert row.secret_hash == hashlib.sha256(key.encode()).hexdigest()
    assert row.prefix == key[:17]


def test_a_key_acts_as_its_user_with_the_current_role(aws: None) -> None:
    _, key = _create()
    principal = authenticate_bearer(f"Bearer {key}")
    assert (principal.user_id, principal.role, principal.via) == ("usr_ada", "member", VIA_API_KEY)
    assert principal.via_api_key
    seed_user("usr_ada", "admin")
    assert authenticate_bearer(f"Bearer {key}").is_admin
    seed_user("usr_ada", "member")
    assert not authenticate_bearer(f"Bearer {key}").is_admin


def test_wrong_malformed_and_unknown_keys_get_one_answer(aws: None) -> None:
    key_id, key = _create()
    lookup = key_id.removeprefix("ak_")
    flipped = key[:-1] + ("a" if key[-1] != "a" else "b")
    candidates = [
        flipped,  # right id, wrong secret
        f"aion_{'a' * 12}_{key.rsplit('_', 1)[1]}",  # unknown id, someone's secret
        f"aion_{lookup}_short",
        key.upper(),
        key + "x",
        "aion_",
        f"aion_{lookup}",
    ]
    for candidate in candidates:
        with pytest.raises(Unauthorized) as info:
            keys.authenticate_api_key(candidate)
        assert info.value.code == "invalid_api_key", candidate
        assert info.value.message == "The API key is invalid or was revoked."
        assert key not in str(info.value.envelope())


def test_the_digest_is_compared_in_constant_time(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every key that reaches the table is checked with hmac.compare_digest, including an
    unknown id (against a dummy digest), so timing tells nothing about stored digests."""
    _, key = _create()
    compared: list[tuple[bytes, bytes]] = []
    real = keys.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys.hmac, "compare_digest", spy)
    keys.authenticate_api_key(key)
    for candidate in (key[:-1] + ("a" if key[-1] != "a" else "b"), f"aion_{'b' * 12}_{'c' * 52}"):
        with pytest.raises(Unauthorized):
            keys.authenticate_api_key(candidate)
    assert len(compared) == 3
    assert all(isinstance(a, bytes) and len(a) == len(b) == 64 for a, b in compared)
    assert compared[0][0] == compared[0][1]  # the right key: equal digests
    assert compared[1][1] == compared[0][1]  # wrong secret: against the stored digest
    assert compared[2][1] != compared[0][1]  # unknown id: against the dummy


def test_expiry_is_checked_at_every_use(aws: None) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=5)
    key_id, key = _create(expires_at=soon)
    assert keys.authenticate_api_key(key, now=soon - timedelta(seconds=1)).user_id == "usr_ada"
    with pytest.raises(Unauthorized) as info:
        keys.authenticate_api_key(key, now=soon)
    assert info.value.code == "api_key_expired"
    row = ApiKey.get(key_id)
    assert row.expires_at == soon.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert row.purge_at == soon.replace(microsecond=0) + api_keys.PURGE_AFTER_EXPIRY


def test_an_expiry_without_timezone_is_utc_and_the_past_is_refused(aws: None) -> None:
    naive = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    created = api_keys.create_key(ADA, ApiKeyCreate(name="n", expires_at=naive))
    assert created.expires_at == naive.isoformat() + ".000Z"
    for past in (datetime.now(UTC) - timedelta(seconds=1), datetime(2001, 1, 1)):
        with pytest.raises(BadRequest) as info:
            api_keys.create_key(ADA, ApiKeyCreate(name="n", expires_at=past))
        assert info.value.details[0]["field"] == "expiresAt"


def test_revoking_takes_effect_at_the_next_use(aws: None) -> None:
    key_id, key = _create()
    assert keys.authenticate_api_key(key).user_id == "usr_ada"
    api_keys.revoke_key(ADA, key_id)
    with pytest.raises(Unauthorized) as info:
        keys.authenticate_api_key(key)
    assert info.value.code == "invalid_api_key"
    with pytest.raises(NotFound):
        api_keys.revoke_key(ADA, key_id)  # already gone


def test_others_keys_are_not_found_and_stay(aws: None) -> None:
    key_id, key = _create(ADA)
    admin = Principal(user_id="usr_bo", role="admin")
    for who in (BO, admin):
        with pytest.raises(NotFound) as info:
            api_keys.revoke_key(who, key_id)
        assert info.value.code == "api_key_not_found"
    for malformed in ("ak_", "ak_" + "x" * 500, "../ak_abc", key_id.upper()):
        with pytest.raises(NotFound):
            api_keys.revoke_key(ADA, malformed)
    assert keys.authenticate_api_key(key).user_id == "usr_ada"
    assert [k.id for k in api_keys.list_keys(BO, limit=None, cursor=None).items] == []


def test_a_disabled_or_removed_user_cannot_use_their_keys(aws: None) -> None:
    _, key = _create()
    seed_user("usr_ada", disabled=True)
    with pytest.raises(Unauthorized) as info:
        keys.authenticate_api_key(key)
    assert info.value.code == "account_disabled"
    seed_user("usr_ada")
    from chalicelib.dal.models import User

    User.get("usr_ada").delete()
    with pytest.raises(Unauthorized) as gone:
        keys.authenticate_api_key(key)
    assert gone.value.code == "account_not_found"


def test_last_used_is_written_at_most_once_a_minute(aws: None, dynamo_calls: Counter[str]) -> None:
    key_id, key = _create()
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    assert ApiKey.get(key_id).last_used_at is None
    dynamo_calls.clear()
    keys.authenticate_api_key(key, now=t0)
    assert dynamo_calls["UpdateItem"] == 1
    assert ApiKey.get(key_id).last_used_at == "2030-01-01T00:00:00.000Z"
    dynamo_calls.clear()
    for seconds in (1, 30, 59):
        keys.authenticate_api_key(key, now=t0 + timedelta(seconds=seconds))
    # Three uses within the minute: the key and the user are read, nothing is written.
    assert dynamo_calls == Counter({"GetItem": 6})
    keys.authenticate_api_key(key, now=t0 + timedelta(seconds=61))
    assert dynamo_calls["UpdateItem"] == 1
    assert ApiKey.get(key_id).last_used_at == "2030-01-01T00:01:01.000Z"


def test_concurrent_uses_write_last_used_once_and_never_resurrect_a_revoked_key(
    aws: None,
) -> None:
    key_id, _ = _create()
    row = ApiKey.get(key_id)
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    assert keys.touch_last_used(row, t0)
    assert not keys.touch_last_used(row, t0 + timedelta(seconds=2))  # stale read: condition
    api_keys.revoke_key(ADA, key_id)
    assert not keys.touch_last_used(row, t0 + timedelta(minutes=5))
    with pytest.raises(ApiKey.DoesNotExist):
        ApiKey.get(key_id)


def test_the_list_is_the_callers_newest_first_and_paged(aws: None) -> None:
    made = [_create(name=f"key {n}")[0] for n in range(5)]
    _create(BO, name="bo's")
    first = api_keys.list_keys(ADA, limit=2, cursor=None)
    assert first.next_cursor
    rest = api_keys.list_keys(ADA, limit=10, cursor=first.next_cursor)
    listed = [k.id for k in first.items + rest.items]
    assert sorted(listed) == sorted(made)
    created = [k.created_at for k in first.items + rest.items]
    assert created == sorted(created, reverse=True)
    assert rest.next_cursor is None
    wire = first.items[0].to_json()
    assert set(wire) == {"id", "name", "prefix", "createdAt", "expiresAt", "lastUsedAt"}
    with pytest.raises(BadRequest):  # a cursor of Ada's list is not Bo's
        api_keys.list_keys(BO, limit=2, cursor=first.next_cursor)


def test_creation_answers_the_key_once_with_the_documented_shape(aws: None) -> None:
    created = api_keys.create_key(ADA, ApiKeyCreate(name="  CI pipeline  "))
    wire = created.to_json()
    assert set(wire) == {"id", "name", "prefix", "key", "createdAt", "expiresAt", "lastUsedAt"}
    assert wire["name"] == "CI pipeline"
    assert wire["key"].startswith(wire["prefix"] + "_")
    assert (wire["expiresAt"], wire["lastUsedAt"]) == (None, None)


def test_a_key_cannot_manage_keys(aws: None) -> None:
    key_id, key = _create()
    via_key = keys.authenticate_api_key(key)
    for action in (
        lambda: api_keys.create_key(via_key, ApiKeyCreate(name="more")),
        lambda: api_keys.list_keys(via_key, limit=None, cursor=None),
        lambda: api_keys.revoke_key(via_key, key_id),
    ):
        with pytest.raises(Forbidden) as info:
            action()
        assert info.value.code == "api_key_not_allowed"


def test_a_user_holds_a_bounded_number_of_keys(aws: None) -> None:
    for n in range(api_keys.MAX_KEYS_PER_USER):
        _create(name=f"k{n}")
    with pytest.raises(Conflict) as info:
        _create(name="one too many")
    assert info.value.code == "api_key_limit_reached"
    assert _create(BO)[0]  # per user


def test_revoking_all_of_a_users_keys(aws: None) -> None:
    ada_keys = [_create()[1] for _ in range(3)]
    _, bo_key = _create(BO)
    assert api_keys.revoke_user_keys("usr_ada") == 3
    for key in ada_keys:
        with pytest.raises(Unauthorized):
            keys.authenticate_api_key(key)
    assert keys.authenticate_api_key(bo_key).user_id == "usr_bo"
    assert api_keys.revoke_user_keys("usr_ada") == 0
