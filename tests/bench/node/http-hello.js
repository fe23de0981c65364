// http-hello.js - Node's side of the HTTP benchmark: the document's hello world server.
//
//   node tests/bench/node/http-hello.js [PORT [KEEP_ALIVE_MS]]
//
// PORT 0 (the default) is any free port; KEEP_ALIVE_MS sets server.keepAliveTimeout (Node's
// default is 5000), which the idle-memory benchmark raises above its hold time.
//
// The handler is document 000's, as written there: text/plain, "hello world". Node adds Date,
// Connection: keep-alive and Content-Length itself, as wirelab's http-server does. The first
// line on stdout is the same ready line the wirelab servers print; SIGTERM or SIGINT stops it.
'use strict';

const http = require('http');

const port = Number(process.argv[2] || 0);
const keepAliveMs = process.argv[3] ? Number(process.argv[3]) : undefined;

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('hello world');
});

if (keepAliveMs !== undefined) server.keepAliveTimeout = keepAliveMs;

server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  console.log(`node-http-hello listening on ${addr.address}:${addr.port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
