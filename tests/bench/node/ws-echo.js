// ws-echo.js - Node's side of the WebSocket benchmarks: the echo server as a Node programmer
// writes it with the `ws` package (tests/node_modules, installed by `make check`'s npm ci).
//
//   node tests/bench/node/ws-echo.js [PORT]      (default 0: any free port)
//
// Every message goes back with its type, as bin/ws-echo sends it. ws's defaults are kept
// (permessage-deflate is off by default on a server; UTF-8 is validated, frames unmasked),
// so both servers do the same work per message. The first line on stdout is the ready line
// the wirelab servers print; SIGTERM or SIGINT stops it.
'use strict';

const path = require('path');
const { WebSocketServer } = require(path.join(__dirname, '..', '..', 'node_modules', 'ws'));

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port });

wss.on('connection', (ws) => {
  // A benchmark client that resets its connection must not bring the server down.
  ws.on('error', () => ws.terminate());
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

wss.on('listening', () => {
  const addr = wss.address();
  console.log(`node-ws-echo listening on ${addr.address}:${addr.port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
