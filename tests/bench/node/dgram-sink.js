// dgram-sink.js - Node's side of the UDP benchmark: receive datagrams and count them.
//
//   node tests/bench/node/dgram-sink.js [PORT]    (default 0: any free port)
//
// It does the least a 'message' listener can do, so the figure is the cost of Node's receive
// path itself. The first line on stdout is the ready line; on SIGTERM or SIGINT it prints
//
//   received 1234567 datagrams, 79012288 bytes
//
// and exits. The socket keeps the system's default receive buffer, as udp-server does, so
// both servers have the same room to absorb a burst.
'use strict';

const dgram = require('dgram');

const port = Number(process.argv[2] || 0);
const socket = dgram.createSocket('udp4');
let datagrams = 0;
let bytes = 0;

socket.on('message', (msg) => {
  datagrams += 1;
  bytes += msg.length;
});

socket.on('error', (err) => {
  console.error(`dgram-sink: ${err.message}`);
  process.exit(1);
});

socket.bind(port, '127.0.0.1', () => {
  const addr = socket.address();
  console.log(`dgram-sink listening on ${addr.address}:${addr.port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`received ${datagrams} datagrams, ${bytes} bytes`);
    process.exit(0);
  });
}
