// requires: node
// timeout: 180
'use strict';
/*
 * ws_chat.js - ws-chat (document 000, section 四; built the way 001 and 004 build it, on an HTTP
 * server's upgrade event) against Node's `ws` package and raw sockets.
 *
 * What it proves, with exact bytes:
 *   - the room: each member is named user1, user2, ... in the order it joined, and every member
 *     (the sender included) gets {"type":"enter"|"message"|"leave","data":"..."} worded as the
 *     document words it, in order; stdout logs the same JSON;
 *   - the JSON is escaped exactly as JSON.stringify escapes it (quotes, backslashes, control
 *     characters), and UTF-8 passes through whole;
 *   - one port, two protocols: GET / serves the chat page (200 text/html, Content-Length);
 *   - the handshake's decisions: --origin (403 for another origin), --protocol (the chosen
 *     sub-protocol echoed; 400 when none fits);
 *   - frames split at every byte or sent together still make the same messages;
 *   - a member that stops reading does not stall the room: it is dropped once --max-queued bytes
 *     wait for it, and the others get every message meanwhile;
 *   - a member that breaks the protocol is closed with 1002 (binary: 1003, too big: 1009), a
 *     silent one is dropped by --ping, and the room goes on;
 *   - SIGTERM closes every member with 1001 and exits 0.
 *
 * Run it alone after `make`: node tests/integration/ws_chat.js
 */
const crypto = require('node:crypto');
const http = require('node:http');
const WebSocket = require('ws');
const { test, assert, startServer, tcpConnect, sleep, waitFor, withTimeout } = require('../lib/harness');

const enter = (n) => JSON.stringify({ type: 'enter', data: `user${n} comes in` });
const says = (n, text) => JSON.stringify({ type: 'message', data: `user${n} says: ${text}` });
const left = (n) => JSON.stringify({ type: 'leave', data: `user${n} left` });

// ---------------------------------------------------------------------------------------------
// Helpers

const clients = new Set();

/*
 * A `ws` client that queues the messages it receives; next() takes the oldest. opened resolves
 * with the 101 response's headers, or rejects with the status of a refusal.
 */
class Member {
    constructor(url, protocols, opts = {}) {
        this.ws = new WebSocket(url, protocols, opts);
        this.queue = [];
        this.waiter = null;
        this.closeInfo = null;
        clients.add(this);
        this.opened = new Promise((resolve, reject) => {
            this.ws.once('upgrade', (res) => resolve(res.headers));
            this.ws.once('unexpected-response', (req, res) => {
                reject(Object.assign(new Error(`refused: ${res.statusCode}`), { status: res.statusCode }));
                res.resume();
                req.destroy();
            });
            this.ws.once('error', reject);
        });
        this.opened.catch(() => {});
        this.ws.on('error', () => {});
        this.ws.on('message', (data, isBinary) => {
            this.queue.push(isBinary ? data : data.toString('utf8'));
            this._pump();
        });
        this.closed = new Promise((resolve) => {
            this.ws.on('close', (code, reason) => {
                this.closeInfo = { code, reason: reason.toString() };
                this._pump();
                resolve(this.closeInfo);
            });
        });
    }

    _pump() {
        const w = this.waiter;
        if (!w || (!this.queue.length && !this.closeInfo))
            return;
        this.waiter = null;
        clearTimeout(w.timer);
        if (this.queue.length)
            w.resolve(this.queue.shift());
        else
            w.reject(new Error(`closed (${this.closeInfo.code}) while waiting for a message`));
    }

    /** The next message (a string for text). */
    next(ms = 5000) {
        return new Promise((resolve, reject) => {
            this.waiter = { resolve, reject };
            this.waiter.timer = setTimeout(() => {
                this.waiter = null;
                reject(new Error(`no message within ${ms} ms`));
            }, ms);
            this._pump();
        });
    }

    /** Takes as many messages as `expected` holds and checks them, in order. */
    async expect(...expected) {
        const got = [];
        for (let i = 0; i < expected.length; i++)
            got.push(await this.next());
        assert.deepEqual(got, expected);
    }

    /** Resolves with {code, reason} once the connection has closed. */
    waitClose(ms = 5000) {
        return withTimeout(this.closed, ms, 'the connection did not close');
    }
}

async function join(server, ...args) {
    const m = new Member(server.url('/', 'ws'), ...args);
    await m.opened;
    return m;
}

/* Runs one test body, then closes the clients it opened whatever happened. */
function chatTest(name, fn, opts) {
    test(name, async (t) => {
        try {
            await fn(t);
        } finally {
            for (const c of clients)
                c.ws.terminate();
            clients.clear();
        }
    }, opts);
}

function chat(...args) {
    return startServer('ws-chat', args);
}

/* A WebSocket frame as a client sends it: masked (unless told not to), FIN set. */
function frame(opcode, payload, { mask = true, fin = true } = {}) {
    const data = Buffer.from(payload);
    let head;
    if (data.length < 126) {
        head = Buffer.from([0, data.length]);
    } else if (data.length < 65536) {
        head = Buffer.alloc(4);
        head.writeUInt16BE(data.length, 2);
        head[1] = 126;
    } else {
        head = Buffer.alloc(10);
        head.writeBigUInt64BE(BigInt(data.length), 2);
        head[1] = 127;
    }
    head[0] = (fin ? 0x80 : 0) | opcode;
    if (!mask)
        return Buffer.concat([head, data]);
    head[1] |= 0x80;
    const key = crypto.randomBytes(4);
    const masked = Buffer.from(data.map((b, i) => b ^ key[i % 4]));
    return Buffer.concat([head, key, masked]);
}

/* Reads one frame from a raw connection: {fin, opcode, masked, payload}. */
async function readFrame(conn, ms = 5000) {
    const h = await conn.read(2, ms);
    let len = h[1] & 0x7f;
    if (len === 126)
        len = (await conn.read(2, ms)).readUInt16BE(0);
    else if (len === 127)
        len = Number((await conn.read(8, ms)).readBigUInt64BE(0));
    const payload = len ? await conn.read(len, ms) : Buffer.alloc(0);
    return { fin: !!(h[0] & 0x80), opcode: h[0] & 0x0f, masked: !!(h[1] & 0x80), payload };
}

/* Reads frames until a close frame; resolves with {code, reason}. */
async function readUntilClose(conn, ms = 5000) {
    for (;;) {
        const f = await readFrame(conn, ms);
        if (f.opcode === 8)
            return { code: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString() };
    }
}

/* A member on a raw TCP socket: the handshake by hand, then frames by hand. */
async function rawMember(server, extraHeaders = '') {
    const conn = await tcpConnect(server.port, server.host);
    const key = crypto.randomBytes(16).toString('base64');
    await conn.write(`GET / HTTP/1.1\r\nHost: ${server.host}:${server.port}\r\nUpgrade: websocket\r\n` +
                     `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
                     `${extraHeaders}\r\n`);
    const head = (await conn.readUntil('\r\n\r\n')).toString('latin1');
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    assert.match(head, new RegExp(`\r\nSec-WebSocket-Accept: ${accept.replace(/[+/]/g, '\\$&')}\r\n`, 'i'));
    return conn;
}

function httpGet(server, path, method = 'GET') {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: server.host, port: server.port, path, method, agent: false }, (res) => {
            const chunks = [];
            res.on('data', (d) => chunks.push(d));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
    });
}

// ---------------------------------------------------------------------------------------------
// The room

chatTest('three members: enter, message and leave reach everyone, in order, as exact JSON', async () => {
    const server = await chat();
    const a = await join(server);
    await a.expect(enter(1));
    const b = await join(server);
    await a.expect(enter(2));
    await b.expect(enter(2));
    const c = await join(server);
    for (const m of [a, b, c])
        await m.expect(enter(3));

    a.ws.send('hello');
    for (const m of [a, b, c])
        await m.expect(says(1, 'hello'));
    b.ws.send('hi there, 你好');
    for (const m of [a, b, c])
        await m.expect(says(2, 'hi there, 你好'));
    c.ws.close(1000, 'bye');
    assert.deepEqual(await c.waitClose(), { code: 1000, reason: 'bye' });
    for (const m of [a, b])
        await m.expect(left(3));

    // The numbers go on: a newcomer after a departure is user4, not user3 again.
    const d = await join(server);
    for (const m of [a, b, d])
        await m.expect(enter(4));

    // stdout logs every broadcast, as sent.
    await server.waitForStdout(enter(4));
    const log = server.stdoutLines().slice(1);
    assert.deepEqual(log, [enter(1), enter(2), enter(3), says(1, 'hello'), says(2, 'hi there, 你好'),
                           left(3), enter(4)]);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
});

chatTest('JSON escaping: quotes, backslashes, control characters, UTF-8', async () => {
    const server = await chat();
    const a = await join(server);
    await a.expect(enter(1));
    const texts = [
        'he said "hi" \\ and \n',
        'tab\there, cr\r, nul\u0000, bell\u0007, esc\u001b, del\u007f, bs\b, ff\f, unit\u001f',
        '中文 ünïcödé 😀 \u2028 line sep, </script> <b>not markup</b>',
        '',
        '\\"\\\\',
    ];
    for (const text of texts) {
        a.ws.send(text);
        const raw = await a.next();
        assert.equal(raw, says(1, text), `for ${JSON.stringify(text)}`);
        assert.equal(JSON.parse(raw).data, `user1 says: ${text}`);
    }
    // The five short escapes and the \u00XX form, spelled out once.
    a.ws.send('"\\\b\f\n\r\t\u0001\u001f');
    assert.equal(await a.next(), '{"type":"message","data":"user1 says: \\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f"}');
});

chatTest('GET / serves the chat page; other paths 404; other methods 405', async () => {
    const server = await chat();
    const page = await httpGet(server, '/');
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    assert.equal(Number(page.headers['content-length']), page.body.length);
    const html = page.body.toString();
    assert.match(html, /<input id="content"/);
    assert.match(html, /<button id="send"/);
    assert.match(html, /new WebSocket\(\(location\.protocol === 'https:' \? 'wss:\/\/' : 'ws:\/\/'\) \+ location\.host \+ '\/'\)/);
    const head = await httpGet(server, '/', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers['content-length']), page.body.length);
    assert.equal(head.body.length, 0);
    assert.equal((await httpGet(server, '/other')).status, 404);
    assert.equal((await httpGet(server, '/', 'POST')).status, 405);
    // The same port still upgrades.
    const a = await join(server);
    await a.expect(enter(1));
});

// ---------------------------------------------------------------------------------------------
// The handshake's decisions

chatTest('--origin: another origin gets 403, a listed one 101', async () => {
    const server = await chat('--origin', 'http://good.example', '--origin', 'http://127.0.0.1:8000');
    const evil = new Member(server.url('/', 'ws'), [], { origin: 'http://evil.example' });
    await assert.rejects(evil.opened, (err) => err.status === 403);
    const none = new Member(server.url('/', 'ws'));
    await assert.rejects(none.opened, (err) => err.status === 403);
    const good = await join(server, [], { origin: 'http://good.example' });
    await good.expect(enter(1));
    const other = await join(server, [], { origin: 'http://127.0.0.1:8000' });
    await other.expect(enter(2));
});

chatTest('--protocol: the chosen sub-protocol is echoed; none that fits is a 400', async () => {
    const server = await chat('--protocol', 'example', '--protocol', 'chat');
    const a = new Member(server.url('/', 'ws'), ['example']);
    const headers = await a.opened;
    assert.equal(headers['sec-websocket-protocol'], 'example');
    assert.equal(a.ws.protocol, 'example');
    await a.expect(enter(1));
    // Our order of preference wins over the client's.
    const b = new Member(server.url('/', 'ws'), ['chat', 'example']);
    assert.equal((await b.opened)['sec-websocket-protocol'], 'example');
    const c = new Member(server.url('/', 'ws'), ['other']);
    await assert.rejects(c.opened, (err) => err.status === 400);
    // Offering none is fine: no sub-protocol.
    const d = new Member(server.url('/', 'ws'));
    assert.equal((await d.opened)['sec-websocket-protocol'], undefined);
});

chatTest('bad handshakes get the HTTP status that says why', async () => {
    const server = await chat();
    const ask = async (headers, path = '/') => {
        const conn = await tcpConnect(server.port, server.host);
        await conn.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${headers}\r\n`);
        return (await conn.readAll()).toString('latin1');
    };
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    const v8 = await ask(`${key}Sec-WebSocket-Version: 8\r\n`);
    assert.match(v8, /^HTTP\/1\.1 426 /);
    assert.match(v8, /\r\nSec-WebSocket-Version: 13\r\n/);
    assert.match(await ask('Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await ask(`${key}Sec-WebSocket-Version: 13\r\n`, '/elsewhere'), /^HTTP\/1\.1 404 /);
    // None of these joined the room: the next member is user1.
    const a = await join(server);
    await a.expect(enter(1));
});

// ---------------------------------------------------------------------------------------------
// Bytes, not reads

chatTest('frames split at every byte, and frames sent together, make the same messages', async () => {
    const server = await chat();
    const a = await join(server);
    await a.expect(enter(1));
    const raw = await rawMember(server);
    await a.expect(enter(2));
    const bytes = Buffer.concat([frame(1, 'one byte at a time'),
                                 frame(1, 'frag', { fin: false }), frame(9, 'ping in between'),
                                 frame(0, 'mented', { fin: false }), frame(0, ' message')]);
    for (let i = 0; i < bytes.length; i++) {
        await raw.write(bytes.subarray(i, i + 1));
        if (i % 7 === 0)
            await sleep(1);
    }
    await a.expect(says(2, 'one byte at a time'), says(2, 'fragmented message'));
    // Three messages in one write, the middle one over 125 bytes (16-bit length) and the last
    // over 64 KiB (64-bit length).
    const long = 'x'.repeat(300), huge = 'y'.repeat(70000);
    await raw.write(Buffer.concat([frame(1, 'first'), frame(1, long), frame(1, huge)]));
    await a.expect(says(2, 'first'), says(2, long), says(2, huge));
    // The raw member got its pong and every broadcast, unmasked.
    const seen = [];
    while (seen.length < 6) {
        const f = await readFrame(raw);
        assert.equal(f.masked, false);
        seen.push(f.opcode === 10 ? `pong:${f.payload}` : f.payload.toString());
    }
    assert.deepEqual(seen, [enter(2), says(2, 'one byte at a time'), 'pong:ping in between',
                            says(2, 'fragmented message'), says(2, 'first'), says(2, long)]);
});

// ---------------------------------------------------------------------------------------------
// Members who misbehave

/* A long message, shortened for an assertion's output. */
function brief(text) {
    return text.length > 80 ? `${text.slice(0, 60)}... (${text.length} chars)` : text;
}

chatTest('a member that stops reading does not stall the room, and is dropped', async () => {
    // --max-queued must allow for a reader's ordinary bursts: one read of a sender's socket can
    // bring several messages, each copied to every member's queue before the kernel takes it.
    const server = await chat('-q', '--max-queued', '2M');
    const a = await join(server);
    await a.expect(enter(1));
    const b = await join(server);
    await a.expect(enter(2));
    await b.expect(enter(2));
    const stuck = await rawMember(server);
    stuck.socket.pause();   // from now on it never reads: the kernel's buffers fill, then ours
    await a.expect(enter(3));
    await b.expect(enter(3));

    // a chats a lot: 64 KiB messages in batches; a and b must get each batch in full before
    // the next is sent, stuck member or not, until the stuck member is dropped.
    const filler = 'z'.repeat(64 * 1024 - 16);
    const expectBatch = async (m, from, n) => {
        let leaves = 0;
        for (let i = 0; i < n; i++) {
            let got = await m.next(10000);
            if (got === left(3)) {
                leaves++;
                got = await m.next(10000);
            }
            assert.equal(brief(got), brief(says(1, `${from + i} ${filler}`)));
        }
        return leaves;
    };
    let sent = 0, dropped = false;
    while (!dropped) {
        assert.ok(sent < 1600, `user3 was not dropped after ${sent} messages of 64 KiB`);
        for (let i = 0; i < 20; i++)
            a.ws.send(`${sent + i} ${filler}`);
        const leavesB = await expectBatch(b, sent, 20);
        const leavesA = await expectBatch(a, sent, 20);
        dropped = leavesB > 0;
        assert.equal(leavesA, leavesB, 'a and b saw user3 leave at different times');
        sent += 20;
    }
    // The room is still fine afterwards, and the two others were never dropped.
    b.ws.send('still here');
    await a.expect(says(2, 'still here'));
    await b.expect(says(2, 'still here'));
    assert.equal(a.closeInfo, null);
}, { timeout: 60000 });

chatTest('a protocol violation is closed with 1002; the room goes on', async () => {
    const server = await chat();
    const a = await join(server);
    await a.expect(enter(1));
    const bad = await rawMember(server);
    await a.expect(enter(2));
    await bad.write(frame(1, 'not masked', { mask: false }));
    assert.equal((await readUntilClose(bad)).code, 1002);
    await bad.readAll();   // and then the server closes the connection
    await a.expect(left(2));
    a.ws.send('ok');
    await a.expect(says(1, 'ok'));
    const c = await join(server);
    await a.expect(enter(3));
    await c.expect(enter(3));
});

chatTest('binary is refused with 1003, a message over --max-message with 1009', async () => {
    const server = await chat('--max-message', '1K');
    const a = await join(server);
    await a.expect(enter(1));
    const bin = await join(server);
    await a.expect(enter(2));
    bin.ws.send(Buffer.from([1, 2, 3]));
    assert.equal((await bin.waitClose()).code, 1003);
    await a.expect(left(2));
    const big = await join(server);
    await a.expect(enter(3));
    big.ws.send('b'.repeat(1025));
    assert.equal((await big.waitClose()).code, 1009);
    await a.expect(left(3));
    a.ws.send('a'.repeat(1024));
    await a.expect(says(1, 'a'.repeat(1024)));
});

chatTest('--ping: a member that never answers is dropped, one that does stays', async () => {
    const server = await chat('--ping', '200');
    const a = await join(server);   // ws answers pings by itself
    await a.expect(enter(1));
    const silent = await rawMember(server);
    await a.expect(enter(2));
    let sawPing = false;
    for (;;) {   // the silent member reads but never answers
        const f = await readFrame(silent, 3000).catch(() => null);
        if (!f)
            break;
        if (f.opcode === 9)
            sawPing = true;
    }
    assert.ok(sawPing, 'no ping came');
    await a.expect(left(2));
    await sleep(600);
    a.ws.send('alive');
    await a.expect(says(1, 'alive'));
});

chatTest('SIGTERM: every member gets 1001, and the server exits 0', async () => {
    const server = await chat();
    const a = await join(server);
    const b = await join(server);
    await a.expect(enter(1), enter(2));
    const status = await server.stop('SIGTERM');
    assert.deepEqual(status, { code: 0, signal: null });
    assert.equal((await a.waitClose()).code, 1001);
    assert.equal((await b.waitClose()).code, 1001);
});

chatTest('usage errors exit 2', async () => {
    const { run } = require('../lib/harness');
    for (const args of [['--max-queued', 'lots'], ['--ping', '-1'], ['extra'], ['--origin', '']]) {
        const r = await run('ws-chat', args);
        assert.equal(r.code, 2, args.join(' '));
        assert.match(r.stderr, /^ws-chat: /);
    }
});
