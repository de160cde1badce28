"""WebSocket tickets: single use, 60 s lifetime, and the ws token entry point."""

from __future__ import annotations

import threading
import time

import pytest

from chalicelib.auth import tickets
from chalicelib.auth.principal import Principal
from chalicelib.auth.tokens import issue_access_token
from chalicelib.auth.websocket import principal_from_ws_token
from chalicelib.dal.auth_models import WsTicket
from chalicelib.errors import Unauthorized
from tests.unit.auth_support import seed_user

ALICE = Principal(user_id="usr_alice", role="member", token_id="j1")


@pytest.fixture(autouse=True)
def _users(aws: None) -> None:
    seed_user("usr_alice")
    seed_user("usr_bob", "admin")


def test_ticket_redeems_once(aws: None) -> None:
    ticket, expires_in = tickets.issue_ws_ticket(ALICE)
    assert expires_in == 60
    assert ticket.startswith("wst_")
    principal = tickets.redeem_ws_ticket(ticket)
    assert (principal.user_id, principal.role) == ("usr_alice", "member")
    with pytest.raises(Unauthorized, match="already used"):
        tickets.redeem_ws_ticket(ticket)


def test_ticket_is_stored_hashed(aws: None) -> None:
    ticket, _ = tickets.issue_ws_ticket(ALICE)
    stored = [item.ticket_hash for item in WsTicket.scan()]
    assert len(stored) == 1
    assert ticket not in stored[0]
    assert len(stored[0]) == 64


def test_ticket_expires_after_60_seconds(aws: None) -> None:
    start = 1_800_000_000.0
    ticket, _ = tickets.issue_ws_ticket(ALICE, now=start)
    late = tickets.issue_ws_ticket(ALICE, now=start)[0]
    with pytest.raises(Unauthorized, match="expired"):
        tickets.redeem_ws_ticket(late, now=start + 60)
    assert tickets.redeem_ws_ticket(ticket, now=start + 59).user_id == "usr_alice"


def test_unknown_or_malformed_tickets_are_rejected(aws: None) -> None:
    for bad in ("wst_nope", "wst_" + "x" * 200, "ticket", ""):
        with pytest.raises(Unauthorized):
            tickets.redeem_ws_ticket(bad)


def test_concurrent_redemptions_only_one_wins(aws: None, atomic_dynamodb: None) -> None:
    ticket, _ = tickets.issue_ws_ticket(ALICE)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def redeem() -> None:
        barrier.wait(timeout=5)
        try:
            tickets.redeem_ws_ticket(ticket)
            result = "ok"
        except Unauthorized:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(outcomes) == ["ok"] + ["refused"] * 7


def test_ws_token_accepts_access_token_or_ticket(aws: None) -> None:
    access, _ = issue_access_token("usr_bob", "admin")
    assert principal_from_ws_token(access).user_id == "usr_bob"
    ticket, _ = tickets.issue_ws_ticket(ALICE)
    assert principal_from_ws_token(ticket).user_id == "usr_alice"
    for bad in (None, "", "garbage", ticket, access + "x"):
        with pytest.raises(Unauthorized):
            principal_from_ws_token(bad)


def test_ws_token_ticket_expiry_uses_injected_clock(aws: None) -> None:
    ticket, _ = tickets.issue_ws_ticket(ALICE, now=time.time() - 61)
    with pytest.raises(Unauthorized):
        principal_from_ws_token(ticket)


def test_a_ticket_carries_the_current_role_not_the_one_it_was_issued_with(aws: None) -> None:
    ticket, _ = tickets.issue_ws_ticket(Principal(user_id="usr_bob", role="admin"))
    seed_user("usr_bob", "member")  # demoted after the ticket was issued
    assert tickets.redeem_ws_ticket(ticket).role == "member"
    token, _ = issue_access_token("usr_bob", "admin")
    principal = principal_from_ws_token(token)
    assert (principal.role, principal.via) == ("member", "access_token")


def test_a_disabled_or_removed_user_opens_no_socket(aws: None) -> None:
    ticket, _ = tickets.issue_ws_ticket(ALICE)
    token, _ = issue_access_token("usr_alice", "member")
    seed_user("usr_alice", disabled=True)
    for credential in (ticket, token):
        with pytest.raises(Unauthorized) as info:
            principal_from_ws_token(credential)
        assert info.value.code == "account_disabled"
    ghost, _ = issue_access_token("usr_ghost", "member")
    with pytest.raises(Unauthorized) as info:
        principal_from_ws_token(ghost)
    assert info.value.code == "account_not_found"


def test_what_a_ticket_and_a_token_open_the_socket_as(aws: None) -> None:
    from chalicelib.auth.digest import sha256_hex
    from chalicelib.auth.principal import VIA_ACCESS_TOKEN, VIA_WS_TICKET
    from chalicelib.auth.tokens import decode_access_token

    ticket, _ = tickets.issue_ws_ticket(ALICE)
    # "wst_" and 32 random bytes in URL-safe base64 (43 characters).
    assert len(ticket) == len("wst_") + 43
    opened = principal_from_ws_token(ticket)
    assert (opened.token_id, opened.via) == (f"ticket:{sha256_hex(ticket)[:16]}", VIA_WS_TICKET)
    token, _ = issue_access_token("usr_alice", "member")
    opened = principal_from_ws_token(token)
    assert (opened.token_id, opened.via) == (decode_access_token(token).token_id, VIA_ACCESS_TOKEN)


def test_each_refusal_says_why(aws: None) -> None:
    for token in (None, ""):
        with pytest.raises(Unauthorized) as info:
            principal_from_ws_token(token)
        assert info.value.message == "A token is required to open the WebSocket."
    with pytest.raises(Unauthorized) as info:
        principal_from_ws_token("opaque-words")
    assert info.value.message == "The WebSocket token is neither an access token nor a ticket."
    for ticket in ("nope", "wst_" + "a" * 200, "wst_unknown"):
        with pytest.raises(Unauthorized) as info:
            tickets.redeem_ws_ticket(ticket)
        assert info.value.message == "The WebSocket ticket is invalid, expired or already used."
    # The clock a caller passes reaches the ticket's expiry check.
    ticket, ttl = tickets.issue_ws_ticket(ALICE)
    with pytest.raises(Unauthorized):
        principal_from_ws_token(ticket, now=time.time() + ttl + 1)
