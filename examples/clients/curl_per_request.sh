#!/bin/sh
# Habit: a shell loop running one `curl` process per request. Each process starts with nothing,
# so every request opens a new connection and does a new, full TLS handshake.
# Usage: curl_per_request.sh [N=50]   (URL in TLS_SESSION_COST_URL, CA in CURL_CA_BUNDLE)
set -eu
n=${1:-50}
url=${TLS_SESSION_COST_URL:?TLS_SESSION_COST_URL is not set}
i=1
while [ "$i" -le "$n" ]; do
    # -f: an HTTP error is a failure; -sS: quiet, but curl's error (its first line) on failure.
    if ! err=$(curl -sS -f -o /dev/null "$url" 2>&1); then
        echo "curl_per_request: request $i failed: $(printf '%s\n' "$err" | head -n 1)" >&2
        exit 1
    fi
    i=$((i + 1))
done
echo "curl_per_request: $n requests ok" >&2
