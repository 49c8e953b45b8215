#!/usr/bin/env node
// Habit: `https.get(url)` for every request, with the default agent (`https.globalAgent`).
// Since Node.js 19 that agent keeps connections alive, so requests share its pooled
// connection; the agent also caches TLS sessions for new ones.
// Usage: node_https_get.js [N=50]   (URL in TLS_SESSION_COST_URL, CA in NODE_EXTRA_CA_CERTS)
'use strict';
const https = require('node:https');

function get(url) {
  return new Promise((resolve, reject) => {
    https
      .get(url, (res) => {
        res.resume(); // read and discard the body, so the socket goes back to the agent
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function main() {
  const n = Number.parseInt(process.argv[2] ?? '50', 10);
  const url = process.env.TLS_SESSION_COST_URL;
  if (!url) throw new Error('TLS_SESSION_COST_URL is not set');
  for (let i = 1; i <= n; i++) {
    const status = await get(url).catch((e) => {
      throw new Error(`request ${i} failed: ${e.message}`);
    });
    if (status !== 200) throw new Error(`request ${i}: HTTP ${status}`);
  }
  console.error(`node_https_get: ${n} requests ok`);
}

main().catch((e) => {
  console.error(`node_https_get: ${e.message}`);
  process.exit(1);
});
