"""Create (idempotently) an admin user, in the running dev stack or in a deployed stage.

    python -m scripts.create_admin --email admin@example.com [--password ...] [--stage dev|prod]

Where it writes (``make admin`` passes the same flags):
- ``--stage S``: the deployed stage's tables (``aion-S-*``, or ``AION_TABLE_PREFIX``) with the
  usual AWS credentials (profile, SSO, environment) and ``AWS_REGION``.
- otherwise ``AWS_ENDPOINT_URL`` when you set it yourself (with fake credentials if none);
- otherwise the dev stack running on this checkout, found through ``.aion-dev/stack.json``
  (``AION_DEV_STATE_DIR``): its moto endpoint, region and table prefix, fake credentials;
- otherwise AWS, as for ``--stage``, if credentials are configured (``AION_TABLE_PREFIX``,
  default ``aion-dev-``); with neither, a one-line error says what to do.

An existing user with that email is promoted to admin, and gets the new password only when
``--password`` is given. A new admin without ``--password`` gets a generated one, printed once.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "devstack", "AWS_SECRET_ACCESS_KEY": "devstack"}


class NoTarget(Exception):
    """Neither a dev stack nor AWS credentials: nowhere to create the admin."""


@dataclass(frozen=True)
class Target:
    description: str
    environment: dict[str, str]  # set before chalicelib is imported


def _aws_credentials_available() -> bool:
    import boto3

    return boto3.session.Session().get_credentials() is not None


def choose_target(stage: str | None, env: dict[str, str] | None = None) -> Target:
    """Where to write, from the flags, the environment and a running dev stack."""
    env = dict(os.environ) if env is None else env
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    if stage:
        prefix = env.get("AION_TABLE_PREFIX") or f"aion-{stage}-"
        if not _aws_credentials_available():
            raise NoTarget(
                f"no AWS credentials for stage {stage}: configure them (aws configure, "
                "AWS_PROFILE or SSO) and set AWS_REGION to the stage's region"
            )
        return Target(
            f"stage {stage} in AWS ({region}), tables {prefix}*",
            {"AION_TABLE_PREFIX": prefix, "AWS_REGION": region},
        )
    if env.get("AWS_ENDPOINT_URL"):
        extra = {} if env.get("AWS_ACCESS_KEY_ID") else dict(FAKE_CREDENTIALS)
        prefix = env.get("AION_TABLE_PREFIX") or "aion-dev-"
        return Target(
            f"{env['AWS_ENDPOINT_URL']} (AWS_ENDPOINT_URL), tables {prefix}*",
            {**extra, "AWS_REGION": region, "AION_TABLE_PREFIX": prefix},
        )
    from devstack.state import default_state_dir, running_stack

    state_dir = default_state_dir(PROJECT_DIR, env)
    stack = running_stack(state_dir)
    if stack is not None:
        return Target(
            f"the dev stack at {stack['base_url']} (moto {stack['moto_url']}), "
            f"tables {stack['table_prefix']}*",
            {
                **FAKE_CREDENTIALS,
                "AWS_ENDPOINT_URL": stack["moto_url"],
                "AWS_REGION": stack["region"],
                "AWS_DEFAULT_REGION": stack["region"],
                "AION_TABLE_PREFIX": stack["table_prefix"],
            },
        )
    if _aws_credentials_available():
        prefix = env.get("AION_TABLE_PREFIX") or "aion-dev-"
        return Target(
            f"AWS ({region}), tables {prefix}*", {"AION_TABLE_PREFIX": prefix, "AWS_REGION": region}
        )
    raise NoTarget(
        f"no running dev stack (none in {state_dir}) and no AWS credentials: start `make dev` "
        "in another terminal, or configure AWS credentials and pass STAGE=dev|prod"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", default=None, help="set/reset the password (min 8 chars)")
    parser.add_argument("--name", default="Administrator")
    parser.add_argument("--stage", default=None, help="a deployed stage (dev, prod): AWS")
    args = parser.parse_args(argv)
    if not args.email or "@" not in args.email:
        parser.error("--email needs an email address")
    if args.password is not None and len(args.password) < 8:
        parser.error("--password needs at least 8 characters")

    try:
        target = choose_target(args.stage)
    except NoTarget as exc:
        print(f"make admin: {exc}", file=sys.stderr)
        return 2
    if args.stage:
        os.environ.pop("AWS_ENDPOINT_URL", None)  # a stage is AWS itself, never a local endpoint
    os.environ.update(target.environment)

    from chalicelib.auth.emails import normalize_email
    from chalicelib.config import get_settings
    from chalicelib.dal.models import UserEmail
    from chalicelib.logic.users import ensure_admin
    from chalicelib.shared.caches import reset_process_caches

    reset_process_caches()
    try:
        exists = UserEmail.count(normalize_email(args.email)) > 0
    except Exception as exc:
        print(
            f"make admin: cannot reach the users table in {target.description}: {exc}",
            file=sys.stderr,
        )
        return 1
    generated = None
    password = args.password
    if not exists and password is None:
        generated = password = secrets.token_urlsafe(15)
    user, created = ensure_admin(args.email, password=password, name=args.name)
    where = get_settings().table_prefix
    print(f"{'created' if created else 'updated'} admin {user.email} ({user.id}) in {where}*")
    print(f"  ({target.description})")
    if generated:
        print(f"password: {generated}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
