// echo.js - Node's side of the TCP benchmarks: the echo server as a Node programmer writes it.
//
//   node tests/bench/node/echo.js [PORT]      (default 0: any free port)
//
// Every connection is piped into itself, so Node's stream machinery does the flow control
// (pause when the write side is over its high-water mark, resume on 'drain'), just as
// tcp-server --echo does with stream_pause and on_drain. The first line on stdout is the same
// ready line the wirelab servers print; SIGTERM or SIGINT stops it.
'use strict';

const net = require('net');

const port = Number(process.argv[2] || 0);

const server = net.createServer((socket) => {
  // A benchmark client that resets its connection must not bring the server down.
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
});

server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  console.log(`node-echo listening on ${addr.address}:${addr.port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
