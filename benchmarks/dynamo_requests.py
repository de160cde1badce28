"""DynamoDB requests per API call, counted with a botocore event hook (in-process moto).

    python benchmarks/dynamo_requests.py

For each call the script prints how many DynamoDB requests it made, and which (operation and
table), next to the minimum its access pattern needs. SQS/S3 requests are listed separately.
"""

from __future__ import annotations

import json
import os
import sys
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
        "AION_FILES_BUCKET": "aion-bench-files",
        "AION_JWT_SECRET": "bench-secret-0123456789abcdef0123456789abcdef",
        "AION_BRIDGE_TOKEN": "bench-bridge-token-0123456789abcdef",
        "POWERTOOLS_METRICS_NAMESPACE": "AionBench",
        "POWERTOOLS_SERVICE_NAME": "aion-bench",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import botocore.handlers  # noqa: E402

CALLS: list[tuple[str, str]] = []


def _count(params: dict[str, Any], model: Any, **_kwargs: Any) -> None:
    service = model.service_model.service_name
    table = params.get("TableName", "")
    if model.name in ("TransactWriteItems", "TransactGetItems"):
        names = {
            next(iter(item.values())).get("TableName", "")
            for item in params.get("TransactItems", [])
        }
        table = "+".join(sorted(n.removeprefix("aion-bench-") for n in names))
    elif model.name in ("BatchGetItem", "BatchWriteItem"):
        table = "+".join(
            sorted(n.removeprefix("aion-bench-") for n in params.get("RequestItems", {}))
        )
    CALLS.append((service, f"{model.name}({table.removeprefix('aion-bench-')})"))


# Every botocore session created from now on (pynamodb makes its own) gets the hook.
for service in ("dynamodb", "sqs", "s3"):
    botocore.handlers.BUILTIN_HANDLERS.append((f"before-parameter-build.{service}", _count))

# Minimum DynamoDB requests each access pattern needs, and why.
# Every authenticated call reads its user (one GetItem): requests act with the user's current
# role, and a disabled user's credentials stop at once (chalicelib/auth/accounts.py).
MINIMUM = {
    "POST /tasks": (
        3,
        "read the caller + read the project (membership) + one TransactWrite (task, event 1); "
        "the extra Query looks up live WebSocket subscribers of the project (a new task has none)",
    ),
    "GET /tasks/{id}": (3, "read the caller + read the task + read its project (membership)"),
    "GET /tasks/{id} (API key)": (
        4,
        "read the key (by the id in it) + the caller + the task + its project; lastUsedAt is "
        "written at most once a minute",
    ),
    "GET /tasks?projectId=": (
        3,
        "read the caller + read the project (membership) + one Query on by-project",
    ),
    "dispatch (no caps)": (
        8,
        "one SQS message run to its end, fair dispatch off: read the task + one TransactWrite "
        "per event write (the claim with its routed and running events, the module's start, "
        "the end) + the live subscribers of the task and the project, looked up after the "
        "claim and after the end (none here); the route decision is fixed (not counted)",
    ),
    "dispatch": (
        12,
        "the same + fair dispatch: one Query per scope the run counts against (its person, its "
        "project), one TransactWrite taking a place in each, one freeing them",
    ),
    "POST /auth/login": (
        5,
        "throttle UpdateItem per account+source and per account + email->user + user + "
        "TransactWrite (refresh family+token); the DeleteItems clear both throttle records after "
        "a success",
    ),
}


class InstantExecutor:
    """The executor's stream for a module that answers at once: the dispatcher's own requests."""

    def execute(self, **_call: Any) -> Any:
        from chalicelib.executor_client import ExecEvent

        yield ExecEvent("started")
        yield ExecEvent("result", 1.0, result={"words": 3})


def dispatch_once(measure_dispatch: Any, client: Any, auth: dict[str, str], project: str) -> None:
    """Tasks created through the API, each run by the dispatcher (as its SQS handler would):
    fair dispatch off (its caps 0), then on (the defaults)."""
    from chalicelib import executor_client
    from chalicelib.logic import routing
    from chalicelib.router.models import RouteDecision
    from chalicelib.shared.caches import reset_process_caches

    executor_client.get_executor_client = InstantExecutor  # type: ignore[assignment]
    # The router's decision, fixed (its own reads are the router's, not the dispatcher's).
    routing.route_for_task = lambda task: RouteDecision.model_validate(  # type: ignore[assignment]
        {
            "target": "executor",
            "module": "text.stats",
            "params": {},
            "confidence": 0.97,
            "reason": "rule",
            "alternatives": [],
            "decided_by": "rule",
            "micros": 12,
            "stage": "rules",
        }
    )
    body = json.dumps({"projectId": project, "instruction": "count the words", "input": "a b c"})

    def new_task() -> str:
        return str(json.loads(client.http.post("/tasks", headers=auth, body=body).body)["id"])

    caps = ("AION_USER_CONCURRENCY", "AION_PROJECT_CONCURRENCY", "AION_LONG_LANE_SLOTS")
    for label, value in (("dispatch (no caps)", "0"), ("dispatch", None)):
        for name in caps:
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_process_caches()
        measure_dispatch("warm-up", new_task())  # the caches refilled (route health, clients)
        measure_dispatch(label, new_task())


def main() -> int:
    from moto import mock_aws

    with mock_aws():
        import boto3

        from chalicelib.dal.registry import create_all_tables
        from chalicelib.shared.caches import reset_process_caches

        create_all_tables()
        url = boto3.client("sqs").create_queue(QueueName="bench-dispatch")["QueueUrl"]
        boto3.client("s3").create_bucket(Bucket="aion-bench-files")
        os.environ["AION_DISPATCH_QUEUE_URL"] = url
        reset_process_caches()

        from chalice.test import Client

        import app
        from chalicelib.auth.tokens import issue_access_token
        from chalicelib.logic import dispatch
        from chalicelib.logic.users import create_user
        from chalicelib.models.users import UserCreate

        user = create_user(
            UserCreate(email="bench@example.test", name="B", password="bench-password")  # noqa: S106
        )
        token, _ = issue_access_token(user.id, "member")
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        results: dict[str, Any] = {}
        with Client(app.app) as client:

            def measure_dispatch(label: str, task_id: str) -> None:
                CALLS.clear()
                outcome = dispatch.handle_message(json.dumps({"taskId": task_id, "attempt": 1}))
                assert outcome.status == "completed", (label, outcome)
                dynamo = [op for service, op in CALLS if service == "dynamodb"]
                other = [op for service, op in CALLS if service != "dynamodb"]
                results[label] = {"dynamodb": len(dynamo), "ops": dynamo, "other": other}

            def measure(label: str, method: str, path: str, body: Any = None, headers=auth) -> Any:
                # Warm once (first-use imports and client creation), then count a clean call.
                CALLS.clear()
                response = client.http.request(
                    method, path, headers=headers, body=json.dumps(body) if body else b""
                )
                assert response.status_code < 300, (label, response.status_code, response.body)
                dynamo = [op for service, op in CALLS if service == "dynamodb"]
                other = [op for service, op in CALLS if service != "dynamodb"]
                results[label] = {"dynamodb": len(dynamo), "ops": dynamo, "other": other}
                return json.loads(response.body) if response.body else None

            project = json.loads(
                client.http.post("/projects", headers=auth, body=json.dumps({"name": "P"})).body
            )
            body = {"projectId": project["id"], "instruction": "count the words"}
            measure("warm-up", "POST", "/tasks", body)
            task = measure("POST /tasks", "POST", "/tasks", body)
            measure("GET /tasks/{id}", "GET", f"/tasks/{task['id']}")
            key = json.loads(
                client.http.post("/api-keys", headers=auth, body=json.dumps({"name": "bench"})).body
            )["key"]
            by_key = {"Authorization": f"Bearer {key}"}
            measure("warm-up", "GET", f"/tasks/{task['id']}", headers=by_key)  # lastUsedAt
            measure("GET /tasks/{id} (API key)", "GET", f"/tasks/{task['id']}", headers=by_key)
            measure("GET /tasks?projectId=", "GET", f"/tasks?projectId={project['id']}")
            login = {"email": "bench@example.test", "password": "bench-password"}
            measure(
                "POST /auth/login",
                "POST",
                "/auth/login",
                login,
                {"Content-Type": "application/json"},
            )
            dispatch_once(measure_dispatch, client, auth, project["id"])
        results.pop("warm-up")

    print(f"{'call':26} {'dynamodb':>8} {'minimum':>8}  requests")
    for label, found in results.items():
        minimum, why = MINIMUM[label]
        print(f"{label:26} {found['dynamodb']:8d} {minimum:8d}  {', '.join(found['ops'])}")
        if found["other"]:
            print(f"{'':26} {'':8} {'':8}  + {', '.join(found['other'])}")
        print(f"{'':26} {'':8} {'':8}  minimum: {why}")
    print(json.dumps({k: v["dynamodb"] for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
