"""Searching a project of 5,000 tasks: DynamoDB requests, tasks read and capacity per page.

    python benchmarks/task_search.py [--tasks 5000]

In-process moto. ``GET /tasks`` pages are made through the same logic the route calls
(``chalicelib.logic.task_lists``); DynamoDB requests are counted with a botocore hook. The
baseline, measured in the same run, is what a console without server-side search must do:
read every task of the project (pages of 100) and filter them itself. Read capacity is
estimated as DynamoDB bills a Query: the size of the items read, in 4 KB units, halved for an
eventually consistent read. moto's timings are printed for completeness only: moto evaluates
a Query by walking every item of the table in Python, which DynamoDB does not.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AION_TABLE_PREFIX": "aion-bench-",
        "AION_JWT_SECRET": "bench-secret-0123456789abcdef0123456789abcdef",
        "AION_BRIDGE_TOKEN": "bench-bridge-token-0123456789abcdef",
        "POWERTOOLS_METRICS_NAMESPACE": "AionBench",
        "POWERTOOLS_SERVICE_NAME": "aion-bench",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import botocore.handlers  # noqa: E402

REQUESTS: list[str] = []


def _count(params: dict[str, Any], model: Any, **_kwargs: Any) -> None:
    REQUESTS.append(model.name)


botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build.dynamodb", _count))

WORDS = [
    "summarize",
    "count",
    "profile",
    "hash",
    "evaluate",
    "extract",
    "report",
    "quarterly",
    "sales",
    "memo",
    "notes",
    "data",
    "customer",
    "invoice",
    "review",
    "draft",
    "letter",
    "table",
    "budget",
    "plan",
    "release",
    "meeting",
    "agenda",
    "survey",
]
RARE = "zanzibar"  # in RARE_EVERY-th tasks only
RARE_EVERY = 1000


def _seed(n: int) -> tuple[Any, str, float]:
    """A project with n tasks (80% completed); returns (principal, project id, mean item KB)."""
    from chalicelib.auth.principal import Principal
    from chalicelib.clock import now_iso
    from chalicelib.dal.models import Project, ProjectMember, Task, project_status_key
    from chalicelib.dal.registry import create_all_tables

    create_all_tables()
    rng = random.Random(7)
    now = now_iso()
    project = Project(
        id="prj_bench", name="bench", owner_id="usr_b", member_ids=["usr_b"], created_at=now
    )
    project.updated_at = now
    project.save()
    ProjectMember(user_id="usr_b", project_id=project.id, created_at=now).save()
    sizes = []
    with Task.batch_write() as batch:
        for i in range(n):
            status = "completed" if rng.random() < 0.8 else rng.choice(["queued", "failed"])
            words = " ".join(rng.choice(WORDS) for _ in range(40))
            if i % RARE_EVERY == RARE_EVERY // 2:
                words += f" {RARE}"
            created = f"2026-01-01T00:00:{i // 1000:02d}.{i % 1000:03d}Z"
            task = Task(
                id=f"tsk_{i:08d}",
                project_id=project.id,
                project_status=project_status_key(project.id, status),
                title=f"{rng.choice(WORDS).title()} task {i}",
                instruction=words.capitalize(),
                input=" ".join(rng.choice(WORDS) for _ in range(60)),
                params={},
                status=status,
                priority="normal",
                assignee_id="usr_b",
                result={"words": 60, "characters": 400} if status == "completed" else None,
                attempts=1,
                created_by="usr_b",
                created_at=created,
                updated_at=created,
                duration_ms=rng.randint(5, 900) if status != "queued" else None,
                last_seq=4,
                version=1,
            )
            sizes.append(len(json.dumps(task.serialize())))
            batch.save(task)
    return Principal(user_id="usr_b", role="member"), project.id, sum(sizes) / len(sizes) / 1024


def _rcu(items: int, kb: float) -> float:
    return math.ceil(items * kb / 4) / 2


def _run(make_page: Callable[[str | None], Any], max_pages: int) -> list[dict[str, Any]]:
    pages = []
    cursor = None
    for _ in range(max_pages):
        REQUESTS.clear()
        started = time.perf_counter()
        page = make_page(cursor)
        pages.append(
            {
                "items": len(page.items),
                "read": page.items_read,
                "requests": REQUESTS.count("Query"),
                "other": len(REQUESTS) - REQUESTS.count("Query"),
                "ms": (time.perf_counter() - started) * 1000,
            }
        )
        cursor = page.next_cursor
        if not cursor:
            break
    return pages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=5000)
    args = parser.parse_args()
    from moto import mock_aws

    with mock_aws():
        from chalicelib.logic import task_lists
        from chalicelib.models.tasks import TaskListQuery

        principal, pid, kb = _seed(args.tasks)

        def lister(**params: Any) -> Callable[[str | None], Any]:
            def page(cursor: str | None) -> Any:
                query = TaskListQuery.model_validate({"projectId": pid, **params, "cursor": cursor})
                return task_lists.list_tasks(principal, query)

            return page

        budget = task_lists.READ_BUDGET
        cases = [
            ("board column, no filter (first page)", lister(status="completed", limit=20), 1),
            ("search common word (first page)", lister(q="invoice", limit=20), 1),
            ("search common word in a column", lister(status="completed", q="budget"), 1),
            (f"search rare word (every page, {budget}/page)", lister(q=RARE, limit=20), 1000),
            ("baseline: read everything (limit 100)", lister(limit=100), 1000),
        ]
        print(f"{args.tasks} tasks in one project, mean item {kb:.2f} KB; read budget {budget}")
        header = (
            f"{'case':46} {'pages':>5} {'found':>6} {'read':>6} {'Query':>6} "
            f"{'max read/page':>13} {'RCU':>7} {'moto ms/page':>12}"
        )
        print(header)
        results = {}
        for name, make, max_pages in cases:
            pages = _run(make, max_pages)
            read = sum(p["read"] or 0 for p in pages)
            results[name] = (len(pages), read)
            print(
                f"{name:46} {len(pages):5d} {sum(p['items'] for p in pages):6d} {read:6d} "
                f"{sum(p['requests'] for p in pages):6d} "
                f"{max(p['read'] or 0 for p in pages):13d} {_rcu(read, kb):7.1f} "
                f"{sum(p['ms'] for p in pages) / len(pages):12.1f}"
            )
        first_search = results["search common word (first page)"][1]
        everything = results["baseline: read everything (limit 100)"][1]
        print(
            f"first page of a common-word search reads {first_search} tasks: "
            f"{first_search / everything:.3f}x of reading everything ({everything})"
        )


if __name__ == "__main__":
    main()
