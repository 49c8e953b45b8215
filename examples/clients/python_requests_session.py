#!/usr/bin/env python3
# Habit: one `requests.Session()` for all calls, closed at the end by `with`. Its connection
# pool keeps one connection alive, so every request shares one TLS session.
# Usage: python_requests_session.py [N=50]   (URL in TLS_SESSION_COST_URL, CA in REQUESTS_CA_BUNDLE)
import os
import sys

import requests


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    url = os.environ.get("TLS_SESSION_COST_URL")
    if not url:
        print("python_requests_session: TLS_SESSION_COST_URL is not set", file=sys.stderr)
        return 2
    with requests.Session() as session:
        for i in range(1, n + 1):
            try:
                response = session.get(url, timeout=30)
            except requests.RequestException as e:
                print(f"python_requests_session: request {i} failed: {e}", file=sys.stderr)
                return 1
            if response.status_code != 200:
                print(f"python_requests_session: request {i}: HTTP {response.status_code}", file=sys.stderr)
                return 1
    print(f"python_requests_session: {n} requests ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
