// requires: node
// timeout: 300
'use strict';
/*
 * ws_echo.js - ws-echo, the raw-socket WebSocket server of document 000 (up.js), against real
 * clients: Node's `ws` package for the well-behaved ones, and hand-built frames on a raw TCP
 * socket for everything a library would refuse to send.
 *
 * What it proves, with exact bytes:
 *   - messages come back with their type (text stays text, binary stays binary), byte-exact at
 *     0, 125, 126, 65535, 65536 bytes and 16 MiB, on both loop backends;
 *   - the handshake and the frames may arrive cut anywhere (one byte per write);
 *   - a fragmented message with a ping between its fragments is joined, and the ping answered
 *     with a pong carrying the same payload;
 *   - every protocol violation gets its close code (1002, 1007, 1009) while another client is
 *     served throughout; the close handshake echoes the client's code and closes TCP;
 *   - handshake errors: 400 (no key), 426 with Sec-WebSocket-Version: 13, 403 (origin),
 *     sub-protocols chosen in the server's order and compared exactly; GET / is the page,
 *     GET /nope a 404; a stalled handshake is dropped;
 *   - --prefix (document 003), --legacy (draft-76 of document 001, the draft's own vector),
 *     --ping (heartbeat), --max-connections, -v dissection;
 *   - a client that stops reading does not stall the others, and the server's memory stays
 *     bounded (back-pressure); SIGTERM closes every WebSocket with 1001 and exits 0.
 *
 * Run it alone after `make`: node tests/integration/ws_echo.js
 * Against the sanitizer build: WIRELAB_BIN=$PWD/build/san/bin node tests/integration/ws_echo.js
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const WebSocket = require('ws');
const {
    test, assert, bin, run, runCommand, startServer, tcpConnect, sleep, withTimeout, variant, timeoutScale,
} = require('../lib/harness');

// Sanitizer builds use more memory; look at the binary too, as WIRELAB_BIN may point at one.
const sanitized = variant === 'san' || fs.readFileSync(bin('ws-echo')).includes('__asan_init');
const WAIT = 5000 * timeoutScale;

// ---------------------------------------------------------------------------------------------
// Clients

function echoServer(args = []) {
    return startServer('ws-echo', args);
}

/*
 * A `ws` client whose messages queue up until receive() takes them, so a test can read them in
 * order with a time limit, as the harness's Conn does for bytes.
 */
class Client {
    constructor(ws) {
        this.ws = ws;
        this.queue = [];
        this.waiter = null;
        ws.on('message', (data, isBinary) => {
            this.queue.push({ data: Buffer.from(data), isBinary });
            this._pump();
        });
        this.closed = new Promise((resolve) => {
            ws.on('close', (code, reason) => {
                this._pump();
                resolve({ code, reason: reason.toString() });
            });
        });
    }

    /* Connects; resolves once open. opts go to `ws` (origin, headers, ...). */
    static open(server, protocols = [], opts = {}) {
        const ws = new WebSocket(server.url('/', 'ws'), protocols, { perMessageDeflate: false, ...opts });
        const client = new Client(ws);
        const opened = new Promise((resolve, reject) => {
            ws.once('open', () => resolve(client));
            ws.once('error', reject);
        });
        return withTimeout(opened, WAIT, 'WebSocket did not open').catch((err) => {
            ws.terminate();
            throw err;
        });
    }

    _pump() {
        const w = this.waiter;
        if (!w || (!this.queue.length && this.ws.readyState !== WebSocket.CLOSED))
            return;
        this.waiter = null;
        clearTimeout(w.timer);
        if (this.queue.length)
            w.resolve(this.queue.shift());
        else
            w.reject(new Error('connection closed while waiting for a message'));
    }

    receive(ms = WAIT) {
        return new Promise((resolve, reject) => {
            this.waiter = { resolve, reject };
            this.waiter.timer = setTimeout(() => {
                this.waiter = null;
                reject(new Error(`no message within ${ms} ms`));
            }, ms);
            this._pump();
        });
    }

    send(data, opts = {}) {
        return new Promise((resolve, reject) => this.ws.send(data, opts, (err) => (err ? reject(err) : resolve())));
    }

    /* Sends and expects the same bytes back, of the same type. */
    async roundTrip(data, binary = Buffer.isBuffer(data), ms = WAIT) {
        await this.send(data, { binary });
        const got = await this.receive(ms);
        assert.equal(got.isBinary, binary, 'the echo keeps the message type');
        assert.ok(got.data.equals(Buffer.from(data)), `echo of ${Buffer.byteLength(data)} bytes differs`);
    }

    close(code, reason) {
        this.ws.close(code, reason);
        return withTimeout(this.closed, WAIT, 'WebSocket did not close');
    }
}

/* An RFC 6455 upgrade request; headers add, replace or (with null) remove fields. */
function upgradeRequest(headers = {}) {
    const fields = {
        Host: '127.0.0.1',
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'),
        'Sec-WebSocket-Version': '13',
        ...headers,
    };
    const lines = Object.entries(fields).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}`);
    return `GET / HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/* Sends a request on a new raw connection; resolves with {conn, status, head}. */
async function rawRequest(server, request) {
    const conn = await tcpConnect(server.port);
    await conn.write(request);
    const head = (await conn.readUntil('\r\n\r\n', WAIT)).toString('latin1');
    return { conn, head, status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)[1]) };
}

/* A raw connection that has completed the handshake. */
async function rawWebSocket(server) {
    const { conn, head, status } = await rawRequest(server, upgradeRequest());
    assert.equal(status, 101, head);
    return conn;
}

/* A frame as a client sends it: masked unless told otherwise (opts: fin, rsv, mask, key). */
function clientFrame(opcode, payload = Buffer.alloc(0), opts = {}) {
    const data = Buffer.from(payload);
    const mask = opts.mask !== false;
    const fin = opts.fin !== false;
    let header;
    if (data.length < 126) {
        header = Buffer.from([0, data.length]);
    } else if (data.length < 65536) {
        header = Buffer.from([0, 126, data.length >> 8, data.length & 0xff]);
    } else {
        header = Buffer.alloc(10);
        header[1] = 127;
        header.writeBigUInt64BE(BigInt(data.length), 2);
    }
    header[0] = (fin ? 0x80 : 0) | ((opts.rsv || 0) << 4) | opcode;
    if (!mask)
        return Buffer.concat([header, data]);
    header[1] |= 0x80;
    const key = opts.key || crypto.randomBytes(4);
    const masked = Buffer.from(data.map((b, i) => b ^ key[i % 4]));
    return Buffer.concat([header, key, masked]);
}

function closePayload(code, reason = '') {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    return Buffer.concat([b, Buffer.from(reason)]);
}

/* Reads one frame from the server: {fin, rsv, opcode, masked, payload}. */
async function readFrame(conn, ms = WAIT) {
    const h = await conn.read(2, ms);
    let len = h[1] & 0x7f;
    if (len === 126)
        len = (await conn.read(2, ms)).readUInt16BE(0);
    else if (len === 127)
        len = Number((await conn.read(8, ms)).readBigUInt64BE(0));
    const masked = (h[1] & 0x80) !== 0;
    if (masked)
        await conn.read(4, ms);
    const payload = len ? await conn.read(len, ms) : Buffer.alloc(0);
    return { fin: (h[0] & 0x80) !== 0, rsv: (h[0] >> 4) & 7, opcode: h[0] & 0x0f, masked, payload };
}

/* Expects a close frame with code, then the server's FIN. Returns the close reason. */
async function expectClose(conn, code) {
    const f = await readFrame(conn);
    assert.equal(f.opcode, 0x8, `expected a close frame, got opcode ${f.opcode}`);
    assert.equal(f.masked, false, 'a server never masks');
    assert.equal(f.payload.readUInt16BE(0), code, `close code (reason: ${f.payload.subarray(2)})`);
    await conn.readAll(WAIT);   // the server closes TCP after the close frame
    return f.payload.subarray(2).toString();
}

function httpGet(server, path, headers = {}) {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: server.host, port: server.port, path, headers, agent: false }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.setTimeout(WAIT, () => req.destroy(new Error(`GET ${path}: no answer`)));
    });
}

/* Resident memory of a process, in KiB. */
function rssKiB(pid) {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

// ---------------------------------------------------------------------------------------------
// Echo

for (const loop of ['epoll', 'poll']) {
    test(`--loop ${loop}: text stays text, binary stays binary, byte-exact at every length form`,
         { timeout: 60000 }, async () => {
        const server = await echoServer(['--loop', loop, '--max-message', '32M']);
        const client = await Client.open(server);
        await client.roundTrip('hello');
        await client.roundTrip('你好服务端');
        for (const size of [0, 125, 126, 65535, 65536]) {
            await client.roundTrip(crypto.randomBytes(size), true);
            await client.roundTrip('x'.repeat(size), false);
        }
        await client.roundTrip(crypto.randomBytes(16 * 1024 * 1024), true, 30000 * timeoutScale);
        const closed = await client.close(1000, 'done');
        assert.deepEqual(closed, { code: 1000, reason: 'done' });
        await server.waitForStdout(/^server got: hello from 127\.0\.0\.1:\d+$/);
        await server.waitForStdout(/^server got: 16777216 bytes of binary from /);
        await server.waitForStdout(/^connection closed 127\.0\.0\.1:\d+: 1000 done$/);
    });
}

test('the handshake and the frames may arrive one byte at a time', async () => {
    const server = await echoServer();
    const conn = await tcpConnect(server.port);
    conn.socket.setNoDelay(true);
    const bytes = Buffer.concat([Buffer.from(upgradeRequest()), clientFrame(0x1, Buffer.from('slow'))]);
    for (const b of bytes) {
        await conn.write(Buffer.from([b]));
        await sleep(1);
    }
    const head = (await conn.readUntil('\r\n\r\n')).toString();
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    const echo = await readFrame(conn);
    assert.deepEqual([echo.opcode, echo.payload.toString()], [0x1, 'slow']);
});

test('the handshake, frames and a close in one write are all handled', async () => {
    const server = await echoServer();
    const conn = await tcpConnect(server.port);
    await conn.write(Buffer.concat([Buffer.from(upgradeRequest()), clientFrame(0x1, 'one'),
                                    clientFrame(0x2, Buffer.from([1, 2])), clientFrame(0x8, closePayload(1000))]));
    await conn.readUntil('\r\n\r\n');
    assert.equal((await readFrame(conn)).payload.toString(), 'one');
    const bin = await readFrame(conn);
    assert.deepEqual([bin.opcode, [...bin.payload]], [0x2, [1, 2]]);
    await expectClose(conn, 1000);
});

test('a fragmented message with a ping in the middle: joined, and the ping answered', async () => {
    const server = await echoServer();
    const conn = await rawWebSocket(server);
    const frames = [
        clientFrame(0x1, 'Hel', { fin: false }),
        clientFrame(0x9, 'are you there?'),
        clientFrame(0x0, 'lo, ', { fin: false }),
        clientFrame(0x0, Buffer.alloc(0), { fin: false }),
        clientFrame(0x0, '世界'),
    ];
    await conn.write(Buffer.concat(frames));
    const pong = await readFrame(conn);
    assert.deepEqual([pong.opcode, pong.payload.toString()], [0xa, 'are you there?']);
    const msg = await readFrame(conn);
    assert.deepEqual([msg.fin, msg.opcode, msg.payload.toString()], [true, 0x1, 'Hello, 世界']);

    // A character split between two fragments is still valid UTF-8 as a whole.
    const split = Buffer.from('€');
    await conn.write(Buffer.concat([clientFrame(0x1, split.subarray(0, 1), { fin: false }),
                                    clientFrame(0x0, split.subarray(1))]));
    assert.equal((await readFrame(conn)).payload.toString(), '€');
});

// ---------------------------------------------------------------------------------------------
// Protocol violations

const VIOLATIONS = [
    ['an unmasked client frame', () => clientFrame(0x1, 'hi', { mask: false }), 1002],
    ['an RSV bit', () => clientFrame(0x1, 'hi', { rsv: 4 }), 1002],
    ['a reserved opcode', () => clientFrame(0x3, 'hi'), 1002],
    ['text that is not UTF-8', () => clientFrame(0x1, Buffer.from([0x48, 0xc3, 0x28])), 1007],
    ['text that ends mid-character', () => clientFrame(0x1, Buffer.from([0xe4, 0xbd])), 1007],
    ['a fragmented control frame', () => clientFrame(0x9, 'hi', { fin: false }), 1002],
    ['a continuation without a start', () => clientFrame(0x0, 'hi'), 1002],
    ['a new message inside a fragmented one', () => Buffer.concat([clientFrame(0x1, 'a', { fin: false }),
                                                                  clientFrame(0x1, 'b')]), 1002],
    ['a message over --max-message', () => clientFrame(0x2, Buffer.alloc(1001)), 1009],
    ['fragments adding up past --max-message', () => Buffer.concat([
        clientFrame(0x2, Buffer.alloc(600), { fin: false }), clientFrame(0x0, Buffer.alloc(600))]), 1009],
    ['close code 1005 on the wire', () => clientFrame(0x8, closePayload(1005)), 1002],
    ['close code 999', () => clientFrame(0x8, closePayload(999)), 1002],
    ['a 1-byte close payload', () => clientFrame(0x8, Buffer.from([3])), 1002],
    ['a close reason that is not UTF-8', () => clientFrame(0x8, Buffer.concat([closePayload(1000), Buffer.from([0xff])])), 1007],
];

test('each protocol violation gets its close code, and another client is served throughout',
     { timeout: 60000 }, async () => {
    const server = await echoServer(['--max-message', '1000']);
    const bystander = await Client.open(server);
    for (const [what, bytes, code] of VIOLATIONS) {
        const conn = await rawWebSocket(server);
        await conn.write(bytes());
        try {
            await expectClose(conn, code);
        } catch (err) {
            err.message = `${what}: ${err.message}`;
            throw err;
        }
        await bystander.roundTrip(`still here after ${what}`);
    }
    await bystander.roundTrip(crypto.randomBytes(1000), true);
});

test('close handshake: the client\'s 1000 and reason are echoed, then the server closes TCP', async () => {
    const server = await echoServer();
    const conn = await rawWebSocket(server);
    await conn.write(clientFrame(0x8, closePayload(1000, 'bye')));
    assert.equal(await expectClose(conn, 1000), 'bye');
    await conn.waitClose();
    await server.waitForStdout(/^connection closed 127\.0\.0\.1:\d+: 1000 bye$/);
    // An empty close payload is answered with an empty one (no code: 1005 locally).
    const quiet = await rawWebSocket(server);
    await quiet.write(clientFrame(0x8));
    const f = await readFrame(quiet);
    assert.deepEqual([f.opcode, f.payload.length], [0x8, 0]);
    await quiet.readAll();
});

// ---------------------------------------------------------------------------------------------
// Handshake

test('handshake errors: 400 without a key, 426 for version 8, 403 for an origin not allowed', async () => {
    const server = await echoServer(['--origin', 'http://good.example']);
    const noKey = await rawRequest(server, upgradeRequest({ 'Sec-WebSocket-Key': null, Origin: 'http://good.example' }));
    assert.equal(noKey.status, 400, noKey.head);
    const badKey = await rawRequest(server, upgradeRequest({ 'Sec-WebSocket-Key': 'c2hvcnQ=', Origin: 'http://good.example' }));
    assert.equal(badKey.status, 400, badKey.head);
    const v8 = await rawRequest(server, upgradeRequest({ 'Sec-WebSocket-Version': '8', Origin: 'http://good.example' }));
    assert.equal(v8.status, 426, v8.head);
    assert.match(v8.head, /\r\nSec-WebSocket-Version: 13\r\n/i);
    const evil = await rawRequest(server, upgradeRequest({ Origin: 'http://evil.example' }));
    assert.equal(evil.status, 403, evil.head);
    for (const r of [noKey, v8, evil])
        await r.conn.readAll();   // each refusal ends the connection
    // Connection is a token list, and header names and Upgrade's value ignore case.
    const fancy = await rawRequest(server, upgradeRequest({ Connection: 'keep-alive, Upgrade',
                                                            Upgrade: 'WebSocket', Origin: 'http://good.example' }));
    assert.equal(fancy.status, 101, fancy.head);
    const good = await Client.open(server, [], { origin: 'http://good.example' });
    await good.roundTrip('allowed');
});

test('the RFC 6455 example key gets the RFC\'s accept value', async () => {
    const server = await echoServer();
    const r = await rawRequest(server, upgradeRequest({ 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' }));
    assert.equal(r.status, 101);
    assert.match(r.head, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
    assert.match(r.head, /\r\nUpgrade: websocket\r\n/i);
    assert.match(r.head, /\r\nConnection: Upgrade\r\n/i);
});

test('sub-protocols: chosen in the server\'s order, compared exactly', async () => {
    const server = await echoServer(['--protocol', 'chat', '--protocol', 'superchat']);
    const both = await Client.open(server, ['superchat', 'chat']);
    assert.equal(both.ws.protocol, 'chat');
    await both.roundTrip('hi');
    const one = await Client.open(server, ['superchat']);
    assert.equal(one.ws.protocol, 'superchat');
    const none = await Client.open(server);
    assert.equal(none.ws.protocol, '');
    const wrongCase = await rawRequest(server, upgradeRequest({ 'Sec-WebSocket-Protocol': 'Chat' }));
    assert.equal(wrongCase.status, 400, wrongCase.head);
    const unknown = await rawRequest(server, upgradeRequest({ 'Sec-WebSocket-Protocol': 'mqtt' }));
    assert.equal(unknown.status, 400, unknown.head);
});

test('GET / is the echo page (200 text/html); GET /nope is 404', async () => {
    const server = await echoServer();
    const page = await httpGet(server, '/');
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    assert.equal(Number(page.headers['content-length']), page.body.length);
    assert.match(page.body.toString(), /<!doctype html>/i);
    assert.match(page.body.toString(), /new WebSocket\(/);
    const query = await httpGet(server, '/?x=1');
    assert.equal(query.status, 200);
    const nope = await httpGet(server, '/nope');
    assert.equal(nope.status, 404);
    assert.equal(Number(nope.headers['content-length']), nope.body.length);
});

test('bad requests: 400 for a malformed head, 431 for a huge one', async () => {
    const server = await echoServer();
    const bad = await rawRequest(server, 'GET / HTTP/1.1\r\nBad Header\r\n\r\n');
    assert.equal(bad.status, 400, bad.head);
    const conn = await tcpConnect(server.port);
    await conn.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
    const head = (await conn.readUntil('\r\n\r\n')).toString();
    assert.match(head, /^HTTP\/1\.1 431 /);
});

test('a handshake that stalls is dropped after --headers-timeout', async () => {
    const server = await echoServer(['--headers-timeout', '300']);
    const conn = await tcpConnect(server.port);
    await conn.write('GET / HTTP/1.1\r\nHost: x\r\n');   // and never the empty line
    const started = Date.now();
    await conn.waitClose(WAIT);
    assert.ok(Date.now() - started >= 250, 'not before the timeout');
    const client = await Client.open(server);   // the server carries on
    await client.roundTrip('after the timeout');
});

// ---------------------------------------------------------------------------------------------
// Options

test('--prefix puts text before echoed text (document 003); binary is untouched', async () => {
    const server = await echoServer(['--prefix', '服务器说: ']);
    const client = await Client.open(server);
    await client.send('你好');
    const got = await client.receive();
    assert.deepEqual([got.isBinary, got.data.toString()], [false, '服务器说: 你好']);
    await client.roundTrip(Buffer.from([0, 1, 2]), true);
});

const DRAFT76_REQUEST = [
    'GET /demo HTTP/1.1',
    'Host: example.com',
    'Connection: Upgrade',
    'Sec-WebSocket-Key2: 12998 5 Y3 1  .P00',
    'Sec-WebSocket-Protocol: sample',
    'Upgrade: WebSocket',
    'Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5',
    'Origin: http://example.com',
    '', '',
].join('\r\n');

test('--legacy: the draft-76 vector, key3 split across writes, then 00 text FF frames', async () => {
    const server = await echoServer(['--legacy']);
    const conn = await tcpConnect(server.port);
    await conn.write(DRAFT76_REQUEST + '^n:');
    await sleep(50);
    await conn.write('ds[4U');
    const head = (await conn.readUntil('\r\n\r\n')).toString('latin1');
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, /\r\nUpgrade: WebSocket\r\n/);
    assert.match(head, /\r\nSec-WebSocket-Origin: http:\/\/example\.com\r\n/);
    assert.match(head, /\r\nSec-WebSocket-Location: ws:\/\/example\.com\/demo\r\n/);
    assert.equal((await conn.read(16)).toString('latin1'), "8jKS'y:G*Co,Wxa-");
    const text = Buffer.from('hello 你好');
    const frame = Buffer.concat([Buffer.from([0x00]), text, Buffer.from([0xff])]);
    await conn.write(frame.subarray(0, 4));   // the frame split too
    await sleep(20);
    await conn.write(frame.subarray(4));
    assert.ok((await conn.read(frame.length)).equals(frame));
    await conn.write(Buffer.from([0xff, 0x00]));   // the old draft's close
    assert.deepEqual([...await conn.read(2)], [0xff, 0x00]);
    await conn.readAll();
});

test('without --legacy the draft-76 handshake is refused (426)', async () => {
    const server = await echoServer();
    const r = await rawRequest(server, DRAFT76_REQUEST + '^n:ds[4U');
    assert.equal(r.status, 426, r.head);
});

test('--ping: a silent client is pinged, then dropped; a client that answers stays', async () => {
    const server = await echoServer(['--ping', '200']);
    const alive = await Client.open(server);   // `ws` answers pings by itself
    const silent = await rawWebSocket(server);
    const ping = await readFrame(silent, 2000 * timeoutScale);
    assert.equal(ping.opcode, 0x9);
    await silent.waitClose(2000 * timeoutScale);   // no pong: presumed dead
    await sleep(600);
    await alive.roundTrip('still alive');
});

test('--max-connections: the next client waits until one leaves', async () => {
    const server = await echoServer(['--max-connections', '1']);
    const first = await Client.open(server);
    let secondOpen = false;
    const second = Client.open(server).then((c) => { secondOpen = true; return c; });
    await sleep(300);
    assert.equal(secondOpen, false, 'the second client was let in past the limit');
    await first.close(1000);
    const c = await second;
    await c.roundTrip('my turn');
});

test('--keepalive: echo works with SO_KEEPALIVE on', async () => {
    const server = await echoServer(['--keepalive']);
    const client = await Client.open(server);
    await client.roundTrip('kept alive');
});

test('-v traces the upgrade, each frame field by field, messages and the close code', async () => {
    const server = await echoServer(['-v']);
    const client = await Client.open(server);
    await client.roundTrip('hello');
    await client.close(1000, 'bye');
    await server.waitForStderr(/ #\d+ upgrade 127\.0\.0\.1:\d+ websocket/);
    await server.waitForStderr(/ #\d+ frame 127\.0\.0\.1:\d+ received text, 5 bytes$/);
    await server.waitForStderr(/^\| opcode: 0x1 \(text\)$/);
    await server.waitForStderr(/^\| MASK: 1$/);
    await server.waitForStderr(/^\| masking-key: [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}$/);
    await server.waitForStderr(/^\| payload: "hello"$/);
    await server.waitForStderr(/ #\d+ message 127\.0\.0\.1:\d+ text, 5 bytes$/);
    await server.waitForStderr(/ #\d+ frame 127\.0\.0\.1:\d+ sent text, 5 bytes$/);
    await server.waitForStderr(/^\| MASK: 0$/);
    await server.waitForStderr(/^\| close code: 1000, reason: "bye"$/);
    await server.waitForStderr(/ #\d+ close 127\.0\.0\.1:\d+ websocket 1000 bye$/);
});

test('usage errors exit 2', async () => {
    for (const args of [['--bogus'], ['--max-message', 'lots'], ['--ping', '-1'], ['extra'],
                        ['--headers-timeout', '0']]) {
        const r = await run('ws-echo', args);
        assert.equal(r.code, 2, `ws-echo ${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /Try 'ws-echo --help'/);
    }
    // A prefix that is not UTF-8 would make every echoed text invalid. (Through sh: a Node
    // string cannot carry the byte FF as it is.)
    const r = await runCommand('sh', ['-c', 'exec "$0" --prefix "$(printf \'\\377\')"', bin('ws-echo')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--prefix: not valid UTF-8/);
});

// ---------------------------------------------------------------------------------------------
// Back-pressure and shutdown

test('a client that stops reading does not stall the others, and memory stays bounded',
     { timeout: 120000 }, async () => {
    const server = await echoServer();
    const COUNT = 256;
    const SIZE = 256 * 1024;   // 64 MiB in all
    const slow = await Client.open(server);
    const other = await Client.open(server);
    await other.roundTrip('warm up');
    const before = rssKiB(server.pid);
    slow.ws._socket.pause();   // stop reading the echoes
    const sent = [];
    for (let i = 0; i < COUNT; i++) {
        const msg = crypto.randomBytes(SIZE);
        msg.writeUInt32BE(i, 0);
        sent.push(msg);
        slow.ws.send(msg);
    }
    await sleep(1500);
    // The other client is served at once, while the slow one's echoes pile up.
    for (let i = 0; i < 5; i++) {
        const started = Date.now();
        await other.roundTrip(crypto.randomBytes(1000), true);
        assert.ok(Date.now() - started < 1000 * timeoutScale, 'the other client waited');
    }
    const grown = rssKiB(server.pid) - before;
    const limit = (sanitized ? 160 : 32) * 1024;
    assert.ok(grown < limit, `the server grew by ${grown} KiB while 64 MiB were pushed at it`);
    slow.ws._socket.resume();
    for (let i = 0; i < COUNT; i++) {
        const got = await slow.receive(30000 * timeoutScale);
        assert.ok(got.isBinary && got.data.equals(sent[i]), `echo ${i} differs`);
    }
    await other.roundTrip('done');
});

test('SIGTERM closes every WebSocket with 1001 (going away) and exits 0', async () => {
    const server = await echoServer();
    const a = await Client.open(server);
    const b = await Client.open(server);
    await a.roundTrip('before');
    const half = await tcpConnect(server.port);   // a connection still in its handshake
    await half.write('GET / HTTP/1.1\r\n');
    await sleep(50);
    server.kill('SIGTERM');
    const [ca, cb] = await Promise.all([withTimeout(a.closed, WAIT, 'a not closed'),
                                        withTimeout(b.closed, WAIT, 'b not closed')]);
    assert.equal(ca.code, 1001);
    assert.equal(cb.code, 1001);
    await half.waitClose();
    const status = await server.wait(WAIT);
    assert.deepEqual([status.code, status.signal], [0, null]);
    await server.waitForStdout(/^connection closed 127\.0\.0\.1:\d+: 1001 /);
});
