"""Cold start: median fresh-interpreter ``import app`` against ``import chalice, boto3``.

Both run in one venv that holds only requirements.txt plus Chalice (what the Lambda package
holds), created by this script in a cache directory keyed by the requirements' hash. Each
sample is a new interpreter timing its own import with perf_counter (interpreter start-up is
the same for both and left out); samples alternate between the two so machine load hits both.

Also printed, for information: import + the code a first POST /tasks loads (JWT check, pydantic
body model, then the task logic with pynamodb), without touching AWS (the user record the
request reads is stubbed): what moved from the import into the first request. The settings
are validated on first use (chalicelib.config), so pydantic loads with the first request.

    python benchmarks/cold_start.py [--samples 21] [--venv DIR]

Target: import ratio <= 1.5x.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5

BASELINE = "import chalice, boto3"
APP = "import app"
FIRST_REQUEST = """
import json, types
import app
from chalicelib.auth import accounts
from chalicelib.auth.tokens import issue_access_token
# Every request reads its user's record (the current role): a DynamoDB call, not cold start.
accounts.current_user = lambda user_id: types.SimpleNamespace(id=user_id, role="member")
token, _ = issue_access_token("usr_bench", "member")
event = {
    "resource": "/tasks", "path": "/tasks", "httpMethod": "POST",
    "headers": {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    "multiValueHeaders": None, "queryStringParameters": None,
    "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
    "requestContext": {"resourcePath": "/tasks", "httpMethod": "POST", "requestId": "bench-1",
                       "path": "/api/tasks", "stage": "api"},
    "body": json.dumps({"projectId": "prj_bench"}), "isBase64Encoded": False,
}
context = types.SimpleNamespace(
    function_name="aion-api", function_version="$LATEST", memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:aion-api",
    aws_request_id="bench-1", get_remaining_time_in_millis=lambda: 30000,
)
response = app.app(event, context)
assert response["statusCode"] == 400, response
import chalicelib.logic.tasks
"""
TIMER = """
import time, sys
t = time.perf_counter()
exec(compile(sys.argv[1], "<bench>", "exec"))
print(time.perf_counter() - t)
"""


def chalice_pin() -> str:
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        if line.strip().lower().startswith("chalice=="):
            return line.strip()
    return "chalice"


def ensure_venv(venv: Path | None) -> Path:
    requirements = (ROOT / "requirements.txt").read_text()
    key = hashlib.sha256((requirements + chalice_pin() + sys.version).encode()).hexdigest()[:12]
    where = venv or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / (
        f"aion-coldstart-{key}"
    )
    python = where / "bin" / "python"
    stamp = where / ".ready"
    if not stamp.exists():
        print(f"creating {where} (requirements.txt + {chalice_pin()}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(where)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(ROOT / "requirements.txt"),
                chalice_pin(),
            ],
            check=True,
        )
        stamp.write_text("ok")
    return python


def sample(python: Path, code: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [str(python), "-c", TIMER, code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark snippet failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description="cold start of the Lambda app")
    parser.add_argument("--samples", type=int, default=21)
    parser.add_argument("--venv", type=Path, default=None)
    args = parser.parse_args()
    python = ensure_venv(args.venv)
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": scratch,
            "PYTHONDONTWRITEBYTECODE": "",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AION_TABLE_PREFIX": "aion-bench-",
            "AION_JWT_SECRET": "bench-secret-0123456789abcdef0123456789abcdef",
            "POWERTOOLS_SERVICE_NAME": "aion-bench",
            "POWERTOOLS_METRICS_NAMESPACE": "AionBench",
        }
        # Warm the OS file cache and write .pyc files once, so no sample pays for either.
        for code in (BASELINE, APP, FIRST_REQUEST):
            sample(python, code, env)
        times: dict[str, list[float]] = {BASELINE: [], APP: [], FIRST_REQUEST: []}
        for _ in range(args.samples):
            for code in times:
                times[code].append(sample(python, code, env))
    base = statistics.median(times[BASELINE])
    app = statistics.median(times[APP])
    first = statistics.median(times[FIRST_REQUEST])
    result = {
        "samples": args.samples,
        "baseline_ms": round(base * 1000, 1),
        "import_app_ms": round(app * 1000, 1),
        "import_app_plus_first_request_ms": round(first * 1000, 1),
        "ratio": round(app / base, 2),
        "first_request_ratio": round(first / base, 2),
        "target": TARGET,
    }
    print(f"import chalice, boto3 (baseline): {result['baseline_ms']:8.1f} ms (median)")
    print(f"import app:                       {result['import_app_ms']:8.1f} ms")
    print(f"import app + first POST /tasks:   {result['import_app_plus_first_request_ms']:8.1f} ms")
    print(f"ratio import app / baseline:      {result['ratio']:.2f}x (target <= {TARGET}x)")
    print(f"ratio with first request:         {result['first_request_ratio']:.2f}x (information)")
    print(json.dumps(result))
    return 0 if result["ratio"] <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
