#!/usr/bin/env python3
# Habit: one `urllib3.PoolManager()` for all requests, cleared at the end. Its per-host pool
# keeps the connection alive between requests: one shared TLS session. urllib3 loads the
# default verify paths, which read SSL_CERT_FILE.
# Usage: python_urllib3_pool.py [N=50]   (URL in TLS_SESSION_COST_URL, CA in SSL_CERT_FILE)
import os
import sys

import urllib3


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    url = os.environ.get("TLS_SESSION_COST_URL")
    if not url:
        print("python_urllib3_pool: TLS_SESSION_COST_URL is not set", file=sys.stderr)
        return 2
    http = urllib3.PoolManager(timeout=30.0)
    try:
        for i in range(1, n + 1):
            try:
                response = http.request("GET", url)
            except urllib3.exceptions.HTTPError as e:
                print(f"python_urllib3_pool: request {i} failed: {e}", file=sys.stderr)
                return 1
            if response.status != 200:
                print(f"python_urllib3_pool: request {i}: HTTP {response.status}", file=sys.stderr)
                return 1
    finally:
        http.clear()
    print(f"python_urllib3_pool: {n} requests ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
