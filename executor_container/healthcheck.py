"""Container HEALTHCHECK: exit 0 when the local executor's gRPC health says SERVING.

python -m executor_container.healthcheck [--timeout 2]
"""

from __future__ import annotations

import argparse
import os
import sys


def check(target: str, timeout: float) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError:
            return False
    return response.status == health_pb2.HealthCheckResponse.SERVING


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument(
        "--target", default=f"127.0.0.1:{os.environ.get('AION_EXECUTOR_PORT', '50051')}"
    )
    args = parser.parse_args(argv)
    return 0 if check(args.target, args.timeout) else 1


if __name__ == "__main__":
    sys.exit(main())
