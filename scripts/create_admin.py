"""Create (idempotently) an admin user in any stage's tables.

    python -m scripts.create_admin --email admin@example.com [--password ...] [--name ...]

The tables are the ones ``AION_TABLE_PREFIX`` names (default ``aion-dev-``), reached with the
usual AWS environment (profile/credentials, ``AWS_REGION``; ``AWS_ENDPOINT_URL`` for the dev
stack's moto server). An existing user with that email is promoted to admin, and gets the new
password only when ``--password`` is given. A new admin without ``--password`` gets a
generated one, printed once.
"""

from __future__ import annotations

import argparse
import secrets
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", default=None, help="set/reset the password (min 8 chars)")
    parser.add_argument("--name", default="Administrator")
    args = parser.parse_args(argv)
    if not args.email or "@" not in args.email:
        parser.error("--email needs an email address")
    if args.password is not None and len(args.password) < 8:
        parser.error("--password needs at least 8 characters")

    from chalicelib.config import get_settings
    from chalicelib.logic.users import ensure_admin

    generated = None
    password = args.password
    from chalicelib.auth.emails import normalize_email
    from chalicelib.dal.models import UserEmail

    exists = UserEmail.count(normalize_email(args.email)) > 0
    if not exists and password is None:
        generated = password = secrets.token_urlsafe(15)
    user, created = ensure_admin(args.email, password=password, name=args.name)
    where = get_settings().table_prefix
    print(f"{'created' if created else 'updated'} admin {user.email} ({user.id}) in {where}*")
    if generated:
        print(f"password: {generated}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
