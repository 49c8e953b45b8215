#!/usr/bin/env node
// Habit: `https.get(url, { agent: false })` for every request. No agent means no connection
// pool and no TLS session cache: every request opens a new connection with a full handshake.
// Usage: node_agent_false.js [N=50]   (URL in TLS_SESSION_COST_URL, CA in NODE_EXTRA_CA_CERTS)
'use strict';
const https = require('node:https');

function get(url) {
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent: false }, (res) => {
        res.resume(); // read and discard the body
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
  console.error(`node_agent_false: ${n} requests ok`);
}

main().catch((e) => {
  console.error(`node_agent_false: ${e.message}`);
  process.exit(1);
});
