#!/usr/bin/env python3
# Habit: one `httpx.Client()` for all requests, closed at the end by `with`. Its pool keeps
# the connection alive between requests: one shared TLS session.
# Usage: python_httpx_shared.py [N=50]   (URL in TLS_SESSION_COST_URL, CA in SSL_CERT_FILE)
import os
import sys

import httpx


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    url = os.environ.get("TLS_SESSION_COST_URL")
    if not url:
        print("python_httpx_shared: TLS_SESSION_COST_URL is not set", file=sys.stderr)
        return 2
    with httpx.Client(timeout=30) as client:
        for i in range(1, n + 1):
            try:
                response = client.get(url)
            except httpx.HTTPError as e:
                print(f"python_httpx_shared: request {i} failed: {e}", file=sys.stderr)
                return 1
            if response.status_code != 200:
                print(f"python_httpx_shared: request {i}: HTTP {response.status_code}", file=sys.stderr)
                return 1
    print(f"python_httpx_shared: {n} requests ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
