// https-hello.js - Node's side of the TLS benchmark: the document's hello world over https.
//
//   node tests/bench/node/https-hello.js CERT KEY [PORT [KEEP_ALIVE_MS]]
//
// The same handler as http-hello.js (text/plain, "hello world"), on Node's `https` with the
// certificate and key the benchmark made; PORT 0 (the default) is any free port; KEEP_ALIVE_MS
// sets server.keepAliveTimeout, which the idle-memory figure raises above its hold time. The first line
// on stdout is the ready line the wirelab servers print; SIGTERM or SIGINT stops it.
'use strict';

const fs = require('fs');
const https = require('https');

const [cert, key] = process.argv.slice(2, 4);
const port = Number(process.argv[4] || 0);
const keepAliveMs = process.argv[5] ? Number(process.argv[5]) : undefined;

const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('hello world');
});

if (keepAliveMs !== undefined) server.keepAliveTimeout = keepAliveMs;

server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  console.log(`node-https-hello listening on ${addr.address}:${addr.port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
