#!/usr/bin/env python3
# Habit: a new `httpx.Client()` for every request, closed by `with`. Each client has its own
# pool and its own SSL context, so every request opens a new connection with a full handshake.
# Usage: python_httpx_per_request.py [N=50]   (URL in TLS_SESSION_COST_URL, CA in SSL_CERT_FILE)
import os
import sys

import httpx


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    url = os.environ.get("TLS_SESSION_COST_URL")
    if not url:
        print("python_httpx_per_request: TLS_SESSION_COST_URL is not set", file=sys.stderr)
        return 2
    for i in range(1, n + 1):
        try:
            with httpx.Client(timeout=30) as client:
                response = client.get(url)
        except httpx.HTTPError as e:
            print(f"python_httpx_per_request: request {i} failed: {e}", file=sys.stderr)
            return 1
        if response.status_code != 200:
            print(f"python_httpx_per_request: request {i}: HTTP {response.status_code}", file=sys.stderr)
            return 1
    print(f"python_httpx_per_request: {n} requests ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
