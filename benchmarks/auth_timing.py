"""Login timing: does a failed login take as long for an unknown email as for a known one?

It should (``verify_password(None, ...)`` runs argon2id on a dummy hash with the same
parameters), otherwise response times tell which emails are registered. Runs ``logic.auth.login``
in-process over moto with the production (OWASP) argon2id parameters, alternating the two
cases, and prints each median and the ratio unknown / known (target: within 0.9-1.1).
A correct login is timed too, for scale.

    .venv/bin/python benchmarks/auth_timing.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AION_TABLE_PREFIX": "aion-bench-",
        "AION_JWT_SECRET": "bench-jwt-secret-0123456789abcdef0123456789abcdef",
        # Throttling would lock the account after five failures; this measures argon2 only.
        "AION_LOGIN_FREE_FAILURES": "1000000",
    }
)
for name in ("AWS_ENDPOINT_URL", "AION_ARGON2_MEMORY_KIB", "AION_ARGON2_TIME_COST"):
    os.environ.pop(name, None)

PASSWORD = "bench-Passw0rd!"  # noqa: S105 - a throwaway user in moto


def _timed(fn: object, *args: str) -> float:
    start = time.perf_counter()
    try:
        fn(*args)  # type: ignore[operator]
    except Exception as exc:
        if type(exc).__name__ != "Unauthorized":
            raise
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    rounds = max(5, min(parser.parse_args().rounds, 500))

    from moto import mock_aws

    with mock_aws():
        from chalicelib.auth.passwords import hash_password
        from chalicelib.dal.models import User, UserEmail
        from chalicelib.dal.registry import create_all_tables
        from chalicelib.logic import auth

        create_all_tables()
        User(
            id="usr_bench",
            email="known@bench.io",
            name="Bench",
            role="member",
            password_hash=hash_password(PASSWORD),
            created_at="2026-01-01T00:00:00.000Z",
            updated_at="2026-01-01T00:00:00.000Z",
        ).save()
        UserEmail(email="known@bench.io", user_id="usr_bench").save()
        for _ in range(3):  # warm up: imports, the dummy hash, moto
            _timed(auth.login, "known@bench.io", "wrong")
            _timed(auth.login, "unknown@bench.io", "wrong")
        known, unknown, success = [], [], []
        for _ in range(rounds):
            known.append(_timed(auth.login, "known@bench.io", "wrong"))
            unknown.append(_timed(auth.login, "unknown@bench.io", "wrong"))
            success.append(_timed(auth.login, "known@bench.io", PASSWORD))

    k, u, s = (statistics.median(x) * 1000 for x in (known, unknown, success))
    print(f"rounds per case:              {rounds}")
    print(f"failed login, known email:    {k:7.1f} ms (median)")
    print(f"failed login, unknown email:  {u:7.1f} ms (median)")
    print(f"successful login:             {s:7.1f} ms (median)")
    print(f"ratio unknown / known:        {u / k:7.3f}  (target 0.9-1.1)")


if __name__ == "__main__":
    main()
