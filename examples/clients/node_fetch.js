#!/usr/bin/env node
// Habit: the global `fetch(url)` for every request (Node.js 18+, undici). fetch uses undici's
// global dispatcher, whose pool keeps connections alive between requests.
// Usage: node_fetch.js [N=50]   (URL in TLS_SESSION_COST_URL, CA in NODE_EXTRA_CA_CERTS)
'use strict';

async function main() {
  const n = Number.parseInt(process.argv[2] ?? '50', 10);
  const url = process.env.TLS_SESSION_COST_URL;
  if (!url) throw new Error('TLS_SESSION_COST_URL is not set');
  for (let i = 1; i <= n; i++) {
    const res = await fetch(url).catch((e) => {
      throw new Error(`request ${i} failed: ${e.cause?.message ?? e.message}`);
    });
    await res.arrayBuffer(); // read the body, so the connection goes back to the pool
    if (res.status !== 200) throw new Error(`request ${i}: HTTP ${res.status}`);
  }
  console.error(`node_fetch: ${n} requests ok`);
}

main().catch((e) => {
  console.error(`node_fetch: ${e.message}`);
  process.exit(1);
});
