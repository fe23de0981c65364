// requires: node
// timeout: 180
'use strict';
/*
 * ws_client.js - ws-client against Node's `ws` server, raw TCP servers that answer the way odd
 * servers do, and our own ws-echo (when it is built).
 *
 * What it proves:
 *   - lines of stdin become text messages (CRLF or LF, a last line without one), replies are
 *     printed one per line, the end of stdin closes with 1000 after the replies have come;
 *   - -v shows both handshake heads and every frame field by field: sent frames with MASK: 1 and
 *     their masking key, received frames with MASK: 0;
 *   - the close code and reason are shown ("closed: 1000 bye"); an abnormal end exits 1;
 *   - the handshake is checked: a refusal (403), a wrong Sec-WebSocket-Accept, a sub-protocol
 *     that was not offered, a plain HTTP answer all fail with one line and exit 1; wss:// and
 *     bad URLs exit 2;
 *   - bytes after the 101 head are frames, and frames cut at every byte still make messages;
 *   - --protocol, --origin, --header, --ping, --count, --wait, --execute, --legacy.
 *
 * Run it alone after `make`: node tests/integration/ws_client.js
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const { WebSocketServer } = require('ws');
const {
    test, skip, assert, bin, run, spawnProgram, startServer, unusedPort, sleep, waitFor, tlsBuild,
} = require('../lib/harness');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const servers = new Set();

/*
 * A Node `ws` server on 127.0.0.1, port 0. onConnection(ws, req, rec) runs for each client;
 * rec collects what the server saw: messages (strings), request headers, close codes.
 */
function wsServer(onConnection = () => {}, opts = {}) {
    const rec = { messages: [], requests: [], closes: [] };
    return new Promise((resolve, reject) => {
        const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...opts });
        servers.add({ close: () => new Promise((r) => {
            for (const c of wss.clients)
                c.terminate();
            wss.close(() => r());
        }) });
        wss.on('error', reject);
        wss.on('connection', (ws, req) => {
            rec.requests.push(req);
            ws.on('message', (data, isBinary) => rec.messages.push(isBinary ? data : data.toString()));
            ws.on('close', (code, reason) => rec.closes.push({ code, reason: reason.toString() }));
            ws.on('error', () => {});
            onConnection(ws, req, rec);
        });
        wss.on('listening', () => {
            rec.port = wss.address().port;
            rec.url = (p = '/') => `ws://127.0.0.1:${rec.port}${p}`;
            resolve(rec);
        });
    });
}

/* A raw TCP server: onConnection(socket, head, key) runs once the request head has arrived. */
function rawServer(onConnection) {
    return new Promise((resolve) => {
        const srv = net.createServer((socket) => {
            socket.on('error', () => {});
            let buf = Buffer.alloc(0);
            const onData = (d) => {
                buf = Buffer.concat([buf, d]);
                const at = buf.indexOf('\r\n\r\n');
                if (at < 0)
                    return;
                socket.removeListener('data', onData);
                const head = buf.subarray(0, at).toString('latin1');
                const key = (/\r\nSec-WebSocket-Key: (\S+)/i.exec(head) || [])[1];
                onConnection(socket, head, key, buf.subarray(at + 4));
            };
            socket.on('data', onData);
        });
        servers.add({ close: () => new Promise((r) => {
            srv.close(() => r());
            for (const s of sockets)
                s.destroy();
        }) });
        const sockets = new Set();
        srv.on('connection', (s) => {
            sockets.add(s);
            s.on('close', () => sockets.delete(s));
        });
        srv.listen(0, '127.0.0.1', () => resolve({ port: srv.address().port, url: (p = '/') => `ws://127.0.0.1:${srv.address().port}${p}` }));
    });
}

function acceptFor(key) {
    return crypto.createHash('sha1').update(key + GUID).digest('base64');
}

function switching(key, extra = '') {
    return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
           `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n${extra}\r\n`;
}

/* A frame as a server sends it: unmasked. */
function serverFrame(opcode, payload, fin = true) {
    const data = Buffer.from(payload);
    assert.ok(data.length < 126);
    return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, data.length]), data]);
}

/* Decodes the masked frames a client sent: [{opcode, payload}]. */
function clientFrames(buf) {
    const frames = [];
    let at = 0;
    while (at + 2 <= buf.length) {
        assert.ok(buf[at + 1] & 0x80, 'a client frame was not masked');
        let len = buf[at + 1] & 0x7f, p = at + 2;
        if (len === 126) {
            len = buf.readUInt16BE(p);
            p += 2;
        } else if (len === 127) {
            len = Number(buf.readBigUInt64BE(p));
            p += 8;
        }
        if (p + 4 + len > buf.length)
            break;
        const key = buf.subarray(p, p + 4);
        const payload = Buffer.from(buf.subarray(p + 4, p + 4 + len).map((b, i) => b ^ key[i % 4]));
        frames.push({ opcode: buf[at] & 0x0f, payload });
        at = p + 4 + len;
    }
    return frames;
}

/* Runs one test body, then closes its servers whatever happened. */
function clientTest(name, fn, opts) {
    test(name, async (t) => {
        try {
            await fn(t);
        } finally {
            for (const s of servers)
                await s.close();
            servers.clear();
        }
    }, opts);
}

const echo = (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));

// ---------------------------------------------------------------------------------------------
// The conversation

clientTest('stdin lines go out as text messages; replies come back one per line', async () => {
    const srv = await wsServer(echo);
    const input = 'one\ntwo words\r\n"quoted" \\ 中文 😀\n\nlast line without newline';
    const r = await run('ws-client', [srv.url('/chat?room=1')], { input });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'one\ntwo words\n"quoted" \\ 中文 😀\n\nlast line without newline\n');
    assert.deepEqual(srv.messages, ['one', 'two words', '"quoted" \\ 中文 😀', '', 'last line without newline']);
    assert.equal(srv.requests[0].url, '/chat?room=1');
    assert.equal(srv.requests[0].headers.host, `127.0.0.1:${srv.port}`);
    assert.match(r.stderr, /^closed: 1000$/m);
    await waitFor(() => srv.closes.length === 1);
    assert.equal(srv.closes[0].code, 1000);
});

clientTest('a long line goes out whole (64-bit length) and comes back whole', async () => {
    const srv = await wsServer(echo);
    const line = 'abcdefghij'.repeat(20000);
    const r = await run('ws-client', [srv.url()], { input: `${line}\nshort\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${line}\nshort\n`);
});

clientTest('-v: the handshake heads and every frame, field by field', async () => {
    const srv = await wsServer(echo);
    const r = await run('ws-client', ['-v', srv.url('/v')], { input: 'hello\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    const err = r.stderr;
    assert.match(err, /^> GET \/v HTTP\/1\.1$/m);
    assert.match(err, /^> Sec-WebSocket-Key: [A-Za-z0-9+/]{22}==$/m);
    assert.match(err, /^> Sec-WebSocket-Version: 13$/m);
    assert.match(err, /^< HTTP\/1\.1 101 Switching Protocols$/m);
    assert.match(err, /^< Sec-WebSocket-Accept: \S+$/im);
    // Split the trace into frames: an event line "frame ... sent|received ..." and its "| " lines.
    const frames = [];
    for (const line of err.split('\n')) {
        const m = / frame \S+ (sent|received) (\w+), (\d+) bytes$/.exec(line);
        if (m)
            frames.push({ dir: m[1], opcode: m[2], fields: [] });
        else if (line.startsWith('| ') && frames.length)
            frames[frames.length - 1].fields.push(line.slice(2));
    }
    const sent = frames.find((f) => f.dir === 'sent' && f.opcode === 'text');
    const got = frames.find((f) => f.dir === 'received' && f.opcode === 'text');
    assert.ok(sent && got, err);
    for (const line of ['FIN: 1', 'RSV1: 0', 'RSV2: 0', 'RSV3: 0', 'opcode: 0x1 (text)', 'MASK: 1',
                        'payload len: 5', 'payload: "hello"'])
        assert.ok(sent.fields.includes(line), `sent frame lacks "${line}": ${sent.fields.join(' / ')}`);
    assert.ok(sent.fields.some((l) => /^masking-key: [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}$/.test(l)));
    assert.ok(got.fields.includes('MASK: 0'));
    assert.ok(!got.fields.some((l) => l.startsWith('masking-key')));
    const closes = frames.filter((f) => f.opcode === 'close');
    assert.deepEqual(closes.map((f) => f.dir), ['sent', 'received']);
    assert.ok(closes[0].fields.includes('close code: 1000, reason: ""'));
});

clientTest('the close code and reason are shown; an unusual code or no close frame exits 1', async () => {
    const bye = await wsServer((ws) => ws.on('message', () => ws.close(1000, 'bye')));
    let r = await run('ws-client', [bye.url()], { input: 'hi\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'closed: 1000 bye\n');

    const custom = await wsServer((ws) => ws.close(4001, 'custom reason'));
    r = await run('ws-client', ['-w', '5000', custom.url()]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, 'closed: 4001 custom reason\n');

    const rude = await wsServer((ws) => ws.terminate());
    r = await run('ws-client', ['-w', '5000', rude.url()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^closed: 1006 /m);
});

clientTest('binary messages are shown as their length and bytes', async () => {
    const srv = await wsServer((ws) => {
        ws.send(Buffer.from([1, 2, 0xff]));
        ws.send(Buffer.alloc(100, 0xab));
    });
    const r = await run('ws-client', ['-c', '2', srv.url()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `[binary 3 bytes] 01 02 ff\n[binary 100 bytes] ${Array(64).fill('ab').join(' ')} ...\n`);
});

clientTest('-c N closes after N messages, -w MS after MS, whatever stdin does', async () => {
    const srv = await wsServer((ws) => ['a', 'b', 'c'].forEach((m) => ws.send(m)));
    let r = await run('ws-client', ['-c', '2', srv.url()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'a\nb\n');

    const quiet = await wsServer();
    const started = Date.now();
    r = await run('ws-client', ['-w', '300', quiet.url()]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms >= 300, `closed after ${r.ms} ms`);
    assert.equal(r.stderr, 'closed: 1000\n');
    assert.ok(Date.now() - started < 5000);
});

clientTest('--execute sends, prints the replies, closes', async () => {
    const srv = await wsServer(echo);
    const r = await run('ws-client', ['--execute', 'first', '--execute', '第二', srv.url()], { input: 'not read\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'first\n第二\n');
    assert.deepEqual(srv.messages, ['first', '第二']);
});

clientTest('--protocol, --origin and --header go into the request; the choice is checked', async () => {
    const srv = await wsServer(echo, { handleProtocols: (protocols) => (protocols.has('b') ? 'b' : false) });
    const r = await run('ws-client', ['-v', '-s', 'a', '--protocol', 'b', '-o', 'http://page.example',
                                      '-H', 'X-Test: one: two', srv.url()], { input: 'x\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'x\n');
    const h = srv.requests[0].headers;
    assert.equal(h['sec-websocket-protocol'], 'a, b');
    assert.equal(h.origin, 'http://page.example');
    assert.equal(h['x-test'], 'one: two');
    assert.match(r.stderr, /^< Sec-WebSocket-Protocol: b$/im);
    assert.match(r.stderr, / open .*sub-protocol b$/m);
});

clientTest('--ping: a ping when the connection opens, and the pong printed', async () => {
    const srv = await wsServer();
    const r = await run('ws-client', ['--ping=100', '-w', '350', srv.url()]);
    assert.equal(r.code, 0, r.stderr);
    const pongs = r.stderr.split('\n').filter((l) => /^pong \d+: \d+\.\d{3} ms$/.test(l));
    assert.ok(pongs.length >= 3, r.stderr);
    assert.match(pongs[0], /^pong 1: /);
});

clientTest('SIGTERM closes with 1001 and exits 0', async () => {
    const srv = await wsServer();
    const client = spawnProgram('ws-client', [srv.url()]);
    await waitFor(() => srv.requests.length === 1);
    await sleep(100);
    assert.deepEqual(await client.stop('SIGTERM'), { code: 0, signal: null });
    await waitFor(() => srv.closes.length === 1);
    assert.equal(srv.closes[0].code, 1001);
});

// ---------------------------------------------------------------------------------------------
// Bytes, not reads

clientTest('frames that arrive with the 101, in the same write, are not lost', async () => {
    const srv = await rawServer((socket, head, key) => {
        socket.write(Buffer.concat([Buffer.from(switching(key)), serverFrame(1, 'early'), serverFrame(1, 'bird'),
                                    serverFrame(8, Buffer.from([0x03, 0xe8, 0x6f, 0x6b]))]));
        socket.on('data', () => socket.end());
    });
    const r = await run('ws-client', ['-w', '5000', srv.url()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'early\nbird\n');
    assert.equal(r.stderr, 'closed: 1000 ok\n');
});

clientTest('a response and frames cut at every byte; a ping between fragments is answered', async () => {
    let fromClient = Buffer.alloc(0);
    const srv = await rawServer(async (socket, head, key) => {
        socket.on('data', (d) => {
            fromClient = Buffer.concat([fromClient, d]);
            if (clientFrames(fromClient).some((f) => f.opcode === 8))
                socket.end(serverFrame(8, Buffer.from([0x03, 0xe8])));   // answer the close
        });
        const bytes = Buffer.concat([Buffer.from(switching(key)), serverFrame(1, 'frag', false),
                                     serverFrame(9, 'are you there'), serverFrame(0, 'mented ', false),
                                     serverFrame(0, '消息'), serverFrame(1, 'next')]);
        for (let i = 0; i < bytes.length; i++) {
            socket.write(bytes.subarray(i, i + 1));
            await sleep(1);
        }
    });
    const client = spawnProgram('ws-client', ['-c', '2', srv.url()]);
    const status = await client.wait(10000);
    assert.equal(client.stdoutText(), 'fragmented 消息\nnext\n', client.stderrText());
    assert.equal(status.code, 0, client.stderrText());
    assert.equal(client.stderrText(), 'closed: 1000\n');
    const frames = clientFrames(fromClient);
    assert.deepEqual(frames.map((f) => [f.opcode, f.payload.toString('latin1')]).slice(0, 2),
                     [[10, 'are you there'], [8, '\x03\xe8']]);
});

// ---------------------------------------------------------------------------------------------
// Handshakes that fail

clientTest('a refused handshake: the status line, one line, exit 1', async () => {
    const srv = await wsServer(() => {}, { verifyClient: (info, cb) => cb(false, 403, 'Forbidden') });
    const r = await run('ws-client', [srv.url()], { input: 'x\n' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ws-client: 127\.0\.0\.1:\d+: handshake refused: HTTP\/1\.1 403 Forbidden/);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.equal(r.stdout, '');
});

clientTest('a wrong Sec-WebSocket-Accept, a sub-protocol not offered, a plain HTTP answer: exit 1', async () => {
    const cases = [
        [(key) => switching(key).replace(acceptFor(key), acceptFor('x' + key)), [], /bad Sec-WebSocket-Accept/],
        [(key) => switching(key, 'Sec-WebSocket-Protocol: other\r\n'), ['-s', 'mine'], /sub-protocol that was not offered/],
        [(key) => switching(key), ['-s', 'mine'], /chose none of the sub-protocols/],
        [(key) => switching(key, 'Sec-WebSocket-Extensions: permessage-deflate\r\n'), [], /extension/],
        [(key) => switching(key).replace('Upgrade: websocket\r\n', ''), [], /Upgrade: websocket/],
        [() => 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n', [], /handshake refused: HTTP\/1\.1 200 OK \(hello\)/],
        [() => 'SSH-2.0-OpenSSH\r\n\r\n', [], /bad handshake response/],
    ];
    for (const [answer, args, pattern] of cases) {
        const srv = await rawServer((socket, head, key) => socket.write(answer(key)));
        const r = await run('ws-client', [...args, srv.url()], { input: 'x\n' });
        assert.equal(r.code, 1, `${pattern}: ${r.stderr}`);
        assert.match(r.stderr, pattern);
        assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    }
});

clientTest('connection refused: one line, exit 1', async () => {
    const port = await unusedPort();
    const r = await run('ws-client', [`ws://127.0.0.1:${port}/`]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `ws-client: connect 127.0.0.1:${port}: Connection refused\n`);
});

test('wss:// and bad URLs or options: exit 2', async () => {
    let r = await run('ws-client', [`wss://127.0.0.1:${await unusedPort()}/`]);
    if (tlsBuild) { // tls.js has the wss tests
        assert.equal(r.code, 1);
        assert.match(r.stderr, /Connection refused/);
    } else {
        assert.equal(r.code, 2);
        assert.match(r.stderr, /this build has no TLS/);
    }
    for (const args of [['http://x/'], ['ws://'], ['ws://host:99999/'], ['ws://h/#frag'], [],
                        ['ws://a/', 'ws://b/'], ['-H', 'no colon', 'ws://a/'], ['-c', '0', 'ws://a/'],
                        ['--legacy', '--ping', 'ws://a/']]) {
        r = await run('ws-client', args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /^ws-client: /);
    }
});

// ---------------------------------------------------------------------------------------------
// Against our own servers

if (fs.existsSync(bin('ws-echo'))) {
    test('against ws-echo: --execute, and --legacy (draft 76)', async () => {
        const server = await startServer('ws-echo', ['--legacy']);
        let r = await run('ws-client', ['--execute', 'hello', '--execute', 'wörld', server.url('/', 'ws')]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'hello\nwörld\n');
        r = await run('ws-client', ['-v', '--legacy', '--execute', 'old times', server.url('/old', 'ws')]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'old times\n');
        assert.match(r.stderr, /^> Sec-WebSocket-Key1: .+$/m);
        assert.match(r.stderr, /^> \(key3, after the head\)( [0-9a-f]{2}){8}$/m);
        assert.match(r.stderr, /^< HTTP\/1\.1 101 WebSocket Protocol Handshake$/m);
        assert.match(r.stderr, /^< Sec-WebSocket-Location: ws:\/\/127\.0\.0\.1:\d+\/old$/m);
        assert.match(r.stderr, /^< \(answer, after the head\)( [0-9a-f]{2}){16}$/m);
        r = await run('ws-client', ['--legacy', server.url('/', 'ws')], { input: 'line one\nline two\n' });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'line one\nline two\n');
    });
} else {
    skip('against ws-echo: --execute, and --legacy (draft 76)', 'ws-echo is not built');
}

test('against ws-chat: the room as a terminal sees it', async () => {
    const server = await startServer('ws-chat', ['--protocol', 'example']);
    const r = await run('ws-client', ['-s', 'example', '--execute', 'hi', '-c', '2', server.url('/', 'ws')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"type":"enter","data":"user1 comes in"}\n{"type":"message","data":"user1 says: hi"}\n');
    const refused = await run('ws-client', ['-s', 'other', '--execute', 'hi', server.url('/', 'ws')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /handshake refused: HTTP\/1\.1 400 Bad Request/);
});
