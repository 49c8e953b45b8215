#!/usr/bin/env node
// Habit: one `new https.Agent({ keepAlive: true, maxSockets: 1 })` for all requests, destroyed
// at the end. The agent keeps its one connection open between requests: one shared TLS session.
// Usage: node_keepalive_agent.js [N=50]   (URL in TLS_SESSION_COST_URL, CA in NODE_EXTRA_CA_CERTS)
'use strict';
const https = require('node:https');

function get(url, agent) {
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent }, (res) => {
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
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 1; i <= n; i++) {
      const status = await get(url, agent).catch((e) => {
        throw new Error(`request ${i} failed: ${e.message}`);
      });
      if (status !== 200) throw new Error(`request ${i}: HTTP ${status}`);
    }
  } finally {
    agent.destroy(); // close the kept-alive socket
  }
  console.error(`node_keepalive_agent: ${n} requests ok`);
}

main().catch((e) => {
  console.error(`node_keepalive_agent: ${e.message}`);
  process.exit(1);
});
