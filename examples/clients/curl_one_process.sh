#!/bin/sh
# Habit: one curl process fetching the URL N times (the URLs handed to it in a --config read
# from stdin). curl keeps its connection alive between transfers: one TLS session for all.
# Usage: curl_one_process.sh [N=50]   (URL in TLS_SESSION_COST_URL, CA in CURL_CA_BUNDLE)
set -eu
n=${1:-50}
url=${TLS_SESSION_COST_URL:?TLS_SESSION_COST_URL is not set}
if [ "$n" -eq 0 ]; then echo "curl_one_process: 0 requests ok" >&2; exit 0; fi
# One `url` + `output` pair per request; --fail-early stops at the first failed transfer.
# -w prints each transfer's status code, so every one can be checked for 200; curl's own
# errors (lines starting `curl: (`) are captured with them.
rc=0
out=$(
    i=0
    while [ "$i" -lt "$n" ]; do
        printf 'url = "%s"\noutput = "/dev/null"\n' "$url"
        i=$((i + 1))
    done | curl -sS -f --fail-early -w '%{http_code}\n' --config - 2>&1
) || rc=$?
ok=$(printf '%s\n' "$out" | grep -c '^200$' || true)
if [ "$rc" -ne 0 ]; then
    echo "curl_one_process: failed after $ok requests: $(printf '%s\n' "$out" | grep -m 1 '^curl:')" >&2
    exit 1
fi
if [ "$ok" -ne "$n" ]; then
    echo "curl_one_process: $ok of $n requests got HTTP 200" >&2
    exit 1
fi
echo "curl_one_process: $n requests ok" >&2
