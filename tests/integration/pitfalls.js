// requires: node
// timeout: 180
'use strict';
/*
 * pitfalls.js - the gallery of docs/pitfalls.md: each classic bug of the documents' code, as a
 * small buggy C program in tests/pitfalls/ and its fixed twin, put through the same scenario.
 * For every pitfall the fixed twin must pass and the buggy one must fail: a scenario that both
 * pass does not show the bug, and this file says so.
 *
 *   one read is one message   a line server fed one line in 20 pieces answers it once
 *   partial writes            8 MiB written on a non-blocking socket to a slow reader all arrive
 *   payload length over 125   a 200-byte frame decodes (ws-frame decode) as 200 bytes of text,
 *                             and Node's ws, as a client, receives it as one 200-byte message
 *   MASK-bit precedence       a masked frame of even length and an unmasked one of odd length
 *                             are told apart
 *   header case               an upgrade request with lower-case names (and Firefox's
 *                             "Connection: keep-alive, Upgrade") is answered 101
 *   SIGPIPE                   a client that leaves before the goodbye does not kill the server:
 *                             the next client is served
 *   SO_REUSEADDR              a server that closed first (TIME_WAIT) restarts on its port at once
 *
 * The programs are compiled here with $CC (default cc) into a temporary directory; run the file
 * alone after `make`: node tests/integration/pitfalls.js
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { test, assert, runCommand, run, spawnCommand, tcpConnect, sleep, repoRoot, timeoutScale } =
    require('../lib/harness');

const SRC = path.join(repoRoot, 'tests', 'pitfalls');
const OUT = fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-pitfalls.'));
process.on('exit', () => fs.rmSync(OUT, { recursive: true, force: true }));

const NAMES = ['one_read', 'partial_write', 'length', 'mask', 'header_case', 'sigpipe', 'reuseaddr'];
const exe = (name, version) => path.join(OUT, `${name}_${version}`);

// ---------------------------------------------------------------------------------------------
// Helpers

/* Starts a pitfall server and waits for its ready line; resolves with {proc, port}. */
async function startPitfall(file, args = []) {
    const proc = spawnCommand(file, args, { label: path.basename(file) });
    const m = await proc.waitForStdout(/ listening on 127\.0\.0\.1:(\d+)$/, 5000 * timeoutScale);
    return { proc, port: Number(m[1]) };
}

/* A Node TCP server that reads nothing for `pauseMs`, then everything until the end. */
function slowReader(pauseMs) {
    return new Promise((resolve) => {
        let received;
        const got = new Promise((done) => { received = done; });
        const server = net.createServer((socket) => {
            const chunks = [];
            socket.pause();
            setTimeout(() => socket.resume(), pauseMs);
            socket.on('data', (d) => chunks.push(d));
            socket.on('end', () => received(Buffer.concat(chunks)));
            socket.on('error', () => received(Buffer.concat(chunks)));
        });
        server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, received: got }));
    });
}

/* The pattern partial_write sends: byte i is i % 251. Returns the first wrong offset, or -1. */
function patternBreak(buf) {
    for (let i = 0; i < buf.length; i++)
        if (buf[i] !== i % 251)
            return i;
    return -1;
}

/*
 * Serves `frame` (bytes) as the first message of a WebSocket connection and lets Node's ws
 * client read it. Resolves with {message} (a string) or {error} (ws's complaint).
 */
function wsClientReads(frame) {
    const WebSocket = require(path.join(repoRoot, 'tests', 'node_modules', 'ws'));
    return new Promise((resolve) => {
        const server = net.createServer((socket) => {
            let head = '';
            socket.on('data', (d) => {
                head += d.toString('latin1');
                const key = /^sec-websocket-key:\s*(\S+)/im.exec(head);
                if (!head.includes('\r\n\r\n') || !key)
                    return;
                const accept = crypto.createHash('sha1').update(key[1] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
                    .digest('base64');
                socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
                             `Sec-WebSocket-Accept: ${accept}\r\n\r\n`);
                socket.write(frame);
            });
            socket.on('error', () => {});
        });
        server.listen(0, '127.0.0.1', () => {
            const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/`);
            const done = (result) => {
                clearTimeout(timer);
                ws.terminate();
                server.close();
                resolve(result);
            };
            const timer = setTimeout(() => done({ error: 'no message within 3 s' }), 3000 * timeoutScale);
            ws.on('message', (data) => done({ message: data.toString('utf8') }));
            ws.on('error', (err) => done({ error: err.message }));
        });
    });
}

// ---------------------------------------------------------------------------------------------
// The scenarios. Each runs one program and resolves with {ok, detail}.

const LINE = 'hello wirelab, this is one line sent in twenty pieces';

const scenarios = {
    /* One line, written in 20 pieces 15 ms apart (Nagle off), must get exactly one answer. */
    async one_read(file) {
        const { port } = await startPitfall(file);
        const conn = await tcpConnect(port);
        conn.socket.setNoDelay(true);
        const bytes = Buffer.from(LINE + '\n');
        for (let i = 0; i < 20; i++) {
            const from = Math.floor((i * bytes.length) / 20);
            const to = Math.floor(((i + 1) * bytes.length) / 20);
            await conn.write(bytes.subarray(from, to));
            await sleep(15);
        }
        await conn.end();
        const answer = (await conn.readAll()).toString('utf8');
        const want = `got: ${LINE}\n`;
        return { ok: answer === want, detail: `answers: ${JSON.stringify(answer)}\nwanted:  ${JSON.stringify(want)}` };
    },

    /* 8 MiB to a reader that waits 300 ms before reading: every byte, in order. */
    async partial_write(file) {
        const total = 8 * 1024 * 1024;
        const reader = await slowReader(300);
        try {
            const r = await runCommand(file, ['127.0.0.1', String(reader.port), String(total)],
                                       { timeout: 30000 * timeoutScale });
            const got = await Promise.race([reader.received, sleep(20000 * timeoutScale).then(() => null)]);
            if (!got)
                return { ok: false, detail: 'the reader never saw the end of the stream' };
            const broken = patternBreak(got);
            return {
                ok: r.code === 0 && got.length === total && broken < 0,
                detail: `program: exit ${r.code}, ${r.stdout.trim()}; reader got ${got.length} of ${total} bytes` +
                    (broken >= 0 ? `, the first wrong byte at offset ${broken}` : ''),
            };
        } finally {
            reader.server.close();
        }
    },

    /* A 200-byte text frame, checked by ws-frame decode (one frame, length 200, the payload) and
     * by Node's ws as the client that receives it. */
    async length(file) {
        const enc = await runCommand(file, ['200']);
        const dec = await run('ws-frame', ['decode'], { input: enc.stdout });
        const payload = Array.from({ length: 200 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
        const decoded = enc.code === 0 && dec.code === 0 && /^extended payload length: 200$/m.test(dec.stdout) &&
            dec.stdout.includes(`payload (text): ${payload}\n`) && !/^frame 2/m.test(dec.stdout);
        const ws = await wsClientReads(Buffer.from(enc.stdout.replace(/\s+/g, ''), 'hex'));
        const shown = `frame: ${enc.stdout.slice(0, 40)}...; Node's ws: ${ws.error || 'a message of ' +
            ws.message.length + ' bytes'}\nws-frame decode (exit ${dec.code}):\n`;
        return { ok: decoded && ws.message === payload, detail: shown + dec.stdout + dec.stderr };
    },

    /* A masked frame of even length (as a client sends) and an unmasked one of odd length. */
    async mask(file) {
        const masked = (await run('ws-frame', ['encode', '--text', 'Hi there', '--mask', '37fa213d'])).stdout.trim();
        const plain = (await run('ws-frame', ['encode', '--text', 'Hello'])).stdout.trim();
        const a = await runCommand(file, masked.split(' '));
        const b = await runCommand(file, plain.split(' '));
        const ok = a.stdout === 'masked: 1\npayload: Hi there\n' && b.stdout === 'masked: 0\npayload: Hello\n';
        return {
            ok,
            detail: `${masked} -> ${JSON.stringify(a.stdout + a.stderr)}\n` +
                `${plain} -> ${JSON.stringify(b.stdout + b.stderr)}`,
        };
    },

    /* Three upgrade requests that HTTP and RFC 6455 allow: each must get 101. */
    async header_case(file) {
        const key = 'dGhlIHNhbXBsZSBub25jZQ==';
        const requests = {
            'lower-case names': ['upgrade: websocket', 'connection: upgrade', 'sec-websocket-version: 13',
                                 `sec-websocket-key: ${key}`],
            "Firefox's Connection list": ['Upgrade: websocket', 'Connection: keep-alive, Upgrade',
                                          'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${key}`],
            'Upgrade: WebSocket': ['Upgrade: WebSocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13',
                                   `Sec-WebSocket-Key: ${key}`],
        };
        const wrong = [];
        for (const [what, headers] of Object.entries(requests)) {
            const head = ['GET /chat HTTP/1.1', 'Host: 127.0.0.1', ...headers, '', ''].join('\r\n');
            const r = await runCommand(file, [], { input: head });
            if (r.stdout.trim() !== 'HTTP/1.1 101 Switching Protocols')
                wrong.push(`${what}: ${r.stdout.trim()}`);
        }
        return { ok: wrong.length === 0, detail: wrong.join('\n') || 'every request answered 101' };
    },

    /* A client reads the welcome and closes; the server's goodbye meets a closed socket. Then a
     * second client must still be welcomed. */
    async sigpipe(file) {
        const { proc, port } = await startPitfall(file);
        const rude = await tcpConnect(port);
        await rude.readUntil('welcome\n');
        await rude.end();
        rude.destroy();
        await Promise.race([proc.exited, sleep(1000)]);
        if (proc.status)
            return { ok: false, detail: `the server ${proc.describeExit()} after the first client left` };
        const next = await tcpConnect(port);
        const hello = (await next.readUntil('welcome\n')).toString();
        return { ok: hello === 'welcome\n', detail: `stderr: ${proc.stderrText().trim()}` };
    },

    /* The server answers one client, closes first and exits; started again on the same port at
     * once (its connection still in TIME_WAIT), it must listen. */
    async reuseaddr(file) {
        const first = await startPitfall(file, ['0']);
        const conn = await tcpConnect(first.port);
        const bye = (await conn.readAll()).toString();
        await conn.waitClose();
        const ended = await first.proc.wait(5000 * timeoutScale);
        assert.equal(bye, 'bye\n');
        assert.deepEqual(ended, { code: 0, signal: null }, 'the first run ends by itself');

        const again = spawnCommand(file, [String(first.port)], { label: `${path.basename(file)} (again)` });
        const ready = again.waitForStdout(/ listening on /, 5000 * timeoutScale).then(() => true, () => false);
        const listening = await Promise.race([ready, again.exited.then(() => false)]);
        return {
            ok: listening,
            detail: listening ? `listening again on ${first.port}`
                              : `${again.describeExit()}: ${again.stderrText().trim()}`,
        };
    },
};

// ---------------------------------------------------------------------------------------------
// The tests

test('the pitfall programs compile', { timeout: 60000 }, async () => {
    const cc = process.env.CC || 'cc';
    for (const name of NAMES) {
        for (const version of ['buggy', 'fixed']) {
            const src = path.join(SRC, `${name}_${version}.c`);
            const r = await runCommand(cc, ['-std=c11', '-D_POSIX_C_SOURCE=200809L', '-D_DEFAULT_SOURCE', '-O1',
                                            '-o', exe(name, version), src], { timeout: 30000 });
            assert.equal(r.code, 0, `${cc} ${path.relative(repoRoot, src)}:\n${r.stderr}`);
        }
    }
});

for (const name of NAMES) {
    test(`${name}: the fixed version passes the scenario`, { timeout: 45000 }, async () => {
        const r = await scenarios[name](exe(name, 'fixed'));
        assert.ok(r.ok, `${name}_fixed fails:\n${r.detail}`);
    });
    test(`${name}: the buggy version fails the same scenario`, { timeout: 45000 }, async (t) => {
        const r = await scenarios[name](exe(name, 'buggy'));
        assert.ok(!r.ok, `${name}_buggy passes: the scenario does not show the bug\n${r.detail}`);
        t.log(`${name}_buggy, as expected: ${r.detail.split('\n')[0]}`);
    });
}

test('sigpipe: the buggy server dies by the signal itself', async () => {
    const { proc, port } = await startPitfall(exe('sigpipe', 'buggy'));
    const rude = await tcpConnect(port);
    await rude.readUntil('welcome\n');
    await rude.end();
    rude.destroy();
    assert.deepEqual(await proc.wait(3000 * timeoutScale), { code: null, signal: 'SIGPIPE' });
});

test('length and header_case: the bugs hide from the everyday case (both versions agree)', async () => {
    for (const version of ['buggy', 'fixed']) {
        const enc = await runCommand(exe('length', version), ['100']);
        const dec = await run('ws-frame', ['decode'], { input: enc.stdout });
        assert.equal(dec.code, 0, `length_${version} 100: ${dec.stderr}`);
        assert.match(dec.stdout, /^payload len: 100$/m);
        const head = ['GET / HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade',
                      'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', '', ''].join('\r\n');
        const r = await runCommand(exe('header_case', version), [], { input: head });
        assert.equal(r.stdout.trim(), 'HTTP/1.1 101 Switching Protocols', `header_case_${version}, Chrome's request`);
    }
});
