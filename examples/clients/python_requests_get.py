#!/usr/bin/env python3
# Habit: `requests.get(url)` for every call. Each call builds (and closes) its own Session,
# so every request opens a new connection and does a new, full TLS handshake.
# Usage: python_requests_get.py [N=50]   (URL in TLS_SESSION_COST_URL, CA in REQUESTS_CA_BUNDLE)
import os
import sys

import requests


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    url = os.environ.get("TLS_SESSION_COST_URL")
    if not url:
        print("python_requests_get: TLS_SESSION_COST_URL is not set", file=sys.stderr)
        return 2
    for i in range(1, n + 1):
        try:
            response = requests.get(url, timeout=30)
        except requests.RequestException as e:
            print(f"python_requests_get: request {i} failed: {e}", file=sys.stderr)
            return 1
        if response.status_code != 200:
            print(f"python_requests_get: request {i}: HTTP {response.status_code}", file=sys.stderr)
            return 1
    print(f"python_requests_get: {n} requests ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
