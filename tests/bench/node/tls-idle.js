// tls-idle.js - idle TLS connections for the TLS benchmark's memory figure.
//
//   node tests/bench/node/tls-idle.js PORT N HOLD_S
//
// Opens N TLS connections to 127.0.0.1:PORT (50 at a time; certificates are not checked: the
// benchmark's is self-signed), sends one keep-alive request on each and waits for the first
// bytes of its answer, prints "open and idle: N", holds them all HOLD_S seconds, then prints
// "still_open=K" (how many the server had not closed) and exits.
'use strict';

const tls = require('tls');

const [port, n, holdS] = process.argv.slice(2).map(Number);
const sockets = [];
const gone = new Set();

function openOne() {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    });
    s.once('data', () => resolve(s));
    s.on('error', reject);
    s.on('close', () => gone.add(s));
    sockets.push(s);
  });
}

(async () => {
  for (let i = 0; i < n; i += 50)
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, openOne));
  console.log(`open and idle: ${n}`);
  setTimeout(() => {
    console.log(`still_open=${sockets.length - gone.size}`);
    sockets.forEach((s) => s.destroy());
    process.exit(0);
  }, holdS * 1000);
})().catch((err) => {
  console.error(`tls-idle: ${err.message}`);
  process.exit(1);
});
