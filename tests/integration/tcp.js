// requires: node
// timeout: 120
'use strict';
/*
 * tcp.js - tcp-server and tcp-client (document 000, section 一) against real peers: Node's
 * `net` module on the other end of every connection.
 *
 * What it proves, with exact bytes and exit codes:
 *   - tcp-server's tutorial mode: banner, one reply per chunk, goodbye after the client's FIN;
 *     --lines answers per complete line however the bytes are cut; --echo is byte-exact for
 *     many clients at once and for 10 MiB to a reader that stops reading (with the server's
 *     memory staying flat: back-pressure); a client's reset does not hurt the server;
 *     --max-connections, --timeout, --keepalive, and a SIGTERM that ends connections gracefully.
 *     The main cases run on both loop backends (--loop epoll and --loop poll).
 *   - tcp-client: sends the document's message, half-closes, and prints everything until the
 *     server closes (not just the first chunk, which is the document's pitfall); -f streams a
 *     file byte-exact; -i pipes stdin both ways; timeouts, resets and refusals fail with one
 *     line and exit 1; usage errors exit 2.
 *   - IPv6 on ::1, skipped where the host has none.
 *
 * Run it alone after `make`: node tests/integration/tcp.js
 * Against the sanitizer build: WIRELAB_BIN=$PWD/build/san/bin node tests/integration/tcp.js
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const {
    test, assert, bin, startServer, spawnProgram, run, runCommand, tcpConnect, unusedPort, hasIPv6,
    sleep, waitFor, withTimeout, variant,
} = require('../lib/harness');

const LOOPS = ['epoll', 'poll'];
const BANNER = 'welcome to node tcp';

// Sanitizer builds use more memory; WIRELAB_BIN may point at one without WIRELAB_VARIANT being
// set, so look at the binary itself too (ASan's entry point is named in it, linked statically
// or not).
const sanitized = variant === 'san' || fs.readFileSync(bin('tcp-server')).includes('__asan_init');

// ---------------------------------------------------------------------------------------------
// Helpers

function tcpServer(loop, ...args) {
    return startServer('tcp-server', ['--loop', loop, ...args]);
}

function sha256(data) {
    return crypto.createHash('sha256').update(data).digest('hex');
}

/* Resident memory of a process, in KiB. */
function rssKiB(pid) {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]);
}

/*
 * The kernel's view of loopback TCP sockets (/proc/net/tcp and tcp6): local port, remote port,
 * state (0A is LISTEN) and the active timer (02 is the keep-alive timer).
 */
function kernelSockets() {
    const rows = [];
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
        let text = '';
        try {
            text = fs.readFileSync(file, 'utf8');
        } catch (e) {
            continue;
        }
        for (const line of text.split('\n').slice(1)) {
            const f = line.trim().split(/\s+/);
            if (f.length < 6)
                continue;
            rows.push({
                localPort: parseInt(f[1].split(':')[1], 16),
                remotePort: parseInt(f[2].split(':')[1], 16),
                state: f[3],
                timer: f[5].split(':')[0],
            });
        }
    }
    return rows;
}

function keepaliveOn(localPort, remotePort) {
    const row = kernelSockets().find((r) => r.localPort === localPort && r.remotePort === remotePort);
    assert.ok(row, `no socket ${localPort} -> ${remotePort} in /proc/net/tcp`);
    return row.timer === '02';
}

/* Resolves with everything a socket receives up to the peer's FIN. */
function readToEnd(socket) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        socket.on('data', (d) => chunks.push(d));
        socket.on('end', () => resolve(Buffer.concat(chunks)));
        socket.on('error', reject);
    });
}

/*
 * Runs fn(port) with a Node net server on loopback that hands each connection to onSocket, and
 * closes the server and its sockets afterwards. The server is half-open (allowHalfOpen), so it
 * can read a client's request to the FIN and still answer.
 */
async function withNodeServer(onSocket, fn, host = '127.0.0.1') {
    const sockets = new Set();
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
        onSocket(socket);
    });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, resolve);
    });
    try {
        return await fn(server.address().port);
    } finally {
        for (const s of sockets)
            s.destroy();
        await new Promise((resolve) => server.close(resolve));
    }
}

/* A file of random bytes in a fresh temporary directory. */
function randomFile(name, size) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-tcp-'));
    const file = path.join(dir, name);
    const data = crypto.randomBytes(size);
    fs.writeFileSync(file, data);
    return { file, data, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------------------------------------
// tcp-server, on each loop backend

for (const loop of LOOPS) {
    test(`tcp-server --loop ${loop}: banner, a reply per chunk, goodbye after the client's FIN`, async () => {
        const server = await tcpServer(loop);
        assert.equal(server.readyLine, `tcp-server listening on 127.0.0.1:${server.port}`);
        const c = await tcpConnect(server.port);
        assert.equal((await c.read(BANNER.length)).toString(), BANNER);
        await c.write('world!\r\n');
        assert.equal((await c.read(5)).toString(), 'hello');
        await c.write('and again');
        assert.equal((await c.read(5)).toString(), 'hello');
        await c.end();
        assert.equal((await c.readAll()).toString(), 'end');
        assert.deepEqual(await c.waitClose(), { hadError: false });
        assert.deepEqual(await server.stop(), { code: 0, signal: null });
    });

    test(`tcp-server --loop ${loop} --lines: one reply per line, however the bytes arrive`, async () => {
        const server = await tcpServer(loop, '--lines');
        const c = await tcpConnect(server.port);
        c.socket.setNoDelay(true);
        assert.equal((await c.read(BANNER.length)).toString(), BANNER);

        // Three lines in one write: three replies.
        await c.write('one\ntwo\nthree\n');
        assert.equal((await c.read(15)).toString(), 'hellohellohello');

        // One line in 20 writes, each its own segment: nothing until the newline, then one reply.
        const line = 'nineteen bytes, LF:\n';
        assert.equal(line.length, 20);
        for (const ch of line.slice(0, -1)) {
            await c.write(ch);
            await sleep(5);
        }
        await sleep(100);
        assert.equal(c.received().toString(), '', 'a reply before the line was complete');
        await c.write('\n');
        assert.equal((await c.read(5)).toString(), 'hello');
        await sleep(150);
        assert.equal(c.received().toString(), '', 'more than one reply for one line');

        await c.end();
        assert.equal((await c.readAll()).toString(), 'end');
    });

    test(`tcp-server --loop ${loop} --lines --echo: lines come back whole and exact`, async () => {
        const server = await tcpServer(loop, '--lines', '--echo');
        const c = await tcpConnect(server.port);
        c.socket.setNoDelay(true);
        for (const piece of ['alpha\nbe', 'ta\r\ngam', 'ma', '\n']) {
            await c.write(piece);
            await sleep(20);
        }
        await c.end();
        assert.equal((await c.readAll()).toString(), 'alpha\nbeta\r\ngamma\n');
    });

    test(`tcp-server --loop ${loop} --echo: 200 clients at once, each gets its own bytes back`,
        { timeout: 30000 }, async () => {
        const server = await tcpServer(loop, '--echo');
        const one = async (i) => {
            const payload = Buffer.concat([Buffer.from(`client ${i}:`), crypto.randomBytes(500 + i * 37)]);
            const c = await tcpConnect(server.port, '127.0.0.1', { timeout: 10000 });
            await c.end(payload);
            const back = await c.readAll(15000);
            assert.ok(back.equals(payload), `client ${i}: ${back.length} bytes back, ${payload.length} sent`);
        };
        await Promise.all(Array.from({ length: 200 }, (_, i) => one(i)));
        assert.equal(server.status, null, 'the server exited');
    });

    test(`tcp-server --loop ${loop} --echo: 10 MiB to a reader that pauses; memory stays flat`,
        { timeout: 30000 }, async () => {
        const server = await tcpServer(loop, '--echo');
        const c = await tcpConnect(server.port);
        const before = rssKiB(server.pid);
        const payload = crypto.randomBytes(10 * 1024 * 1024);
        c.socket.pause();
        c.socket.end(payload);
        // The reader is stopped: the kernel's buffers fill, the server's write queue passes its
        // high-water mark, and the server must stop reading instead of queueing 10 MiB.
        await sleep(1000);
        const during = rssKiB(server.pid);
        const limitKiB = sanitized ? 32 * 1024 : 4 * 1024;
        assert.ok(during - before < limitKiB,
            `server memory grew by ${during - before} KiB while its reader was paused (limit ${limitKiB})`);
        c.socket.resume();
        const back = await c.readAll(20000);
        assert.equal(back.length, payload.length);
        assert.equal(sha256(back), sha256(payload));
    });

    test(`tcp-server --loop ${loop}: a client reset mid-write does not hurt the server`, async () => {
        const server = await tcpServer(loop, '--echo', '-v');
        const c = await tcpConnect(server.port);
        c.socket.pause();
        c.socket.write(crypto.randomBytes(4 * 1024 * 1024));
        await sleep(300);   // the server is now writing to a full socket
        c.reset();
        await server.waitForStderr(/^\S+ #1 close 127\.0\.0\.1:\d+/);
        const next = await tcpConnect(server.port);
        await next.end('still there?');
        assert.equal((await next.readAll()).toString(), 'still there?');
        assert.equal(server.status, null, 'the server exited');
    });

    test(`tcp-server --loop ${loop} --max-connections 2: the third client waits its turn`, async () => {
        const server = await tcpServer(loop, '--echo', '--max-connections', '2');
        const a = await tcpConnect(server.port);
        const b = await tcpConnect(server.port);
        for (const [c, text] of [[a, 'first'], [b, 'second']]) {
            await c.write(text);
            assert.equal((await c.read(text.length)).toString(), text);
        }
        // The kernel completes the third handshake (the backlog), but nobody reads it yet.
        const third = await tcpConnect(server.port);
        await third.write('third');
        await sleep(300);
        assert.equal(third.received().toString(), '', 'served beyond --max-connections');
        a.destroy();
        assert.equal((await third.read(5, 3000)).toString(), 'third');
    });

    test(`tcp-server --loop ${loop} --timeout 300: idle clients are closed, active ones kept`, async () => {
        const server = await tcpServer(loop, '--timeout', '300');
        const idle = await tcpConnect(server.port);
        const busy = await tcpConnect(server.port);
        const started = Date.now();
        assert.equal((await idle.read(BANNER.length)).toString(), BANNER);
        assert.equal((await busy.read(BANNER.length)).toString(), BANNER);
        // busy writes every 100 ms for 800 ms: never idle for 300 ms.
        for (let i = 0; i < 8; i++) {
            await busy.write('tick');
            assert.equal((await busy.read(5)).toString(), 'hello');
            await sleep(100);
        }
        assert.equal(busy.closed, false, 'an active client was closed');
        assert.equal(idle.closed, true, 'an idle client was kept past --timeout');
        await busy.waitClose(2000);
        assert.ok(Date.now() - started >= 250);
    });

    test(`tcp-server --loop ${loop}: SIGTERM ends idle connections and exits 0 promptly`, async () => {
        const server = await tcpServer(loop);
        const clients = [];
        for (let i = 0; i < 3; i++) {
            const c = await tcpConnect(server.port);
            assert.equal((await c.read(BANNER.length)).toString(), BANNER);
            clients.push(c);
        }
        const started = Date.now();
        server.kill('SIGTERM');
        // Graceful: each client gets a FIN (not a reset), answers with its own (Node's default),
        // and the server, with nothing left open, exits.
        for (const c of clients) {
            assert.equal((await c.readAll(3000)).length, 0);
            assert.deepEqual(await c.waitClose(3000), { hadError: false });
        }
        assert.deepEqual(await server.wait(5000), { code: 0, signal: null });
        const ms = Date.now() - started;
        assert.ok(ms < 1000, `the server took ${ms} ms to exit after its clients had closed`);
    });
}

// ---------------------------------------------------------------------------------------------
// tcp-server: the rest

test('tcp-server: SIGTERM with a client that never closes: exit 0 after the grace period', async () => {
    const server = await tcpServer('epoll');
    const socket = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
    const got = readToEnd(socket);
    await new Promise((resolve) => socket.once('connect', resolve));
    try {
        await sleep(100);
        const started = Date.now();
        server.kill('SIGTERM');
        assert.equal((await withTimeout(got, 3000, 'no FIN from the server')).toString(), BANNER);
        assert.deepEqual(await server.wait(6000), { code: 0, signal: null });
        assert.ok(Date.now() - started < 4000);
    } finally {
        socket.destroy();
    }
});

test('tcp-server --keepalive turns on SO_KEEPALIVE for accepted sockets', async () => {
    for (const [args, expected] of [[[], false], [['--keepalive'], true]]) {
        const server = await tcpServer('epoll', ...args);
        const c = await tcpConnect(server.port);
        await sleep(100);
        assert.equal(keepaliveOn(server.port, c.socket.localPort), expected, `tcp-server ${args.join(' ')}`);
        await server.stop();
    }
});

test('tcp-server: port in use, bad port, stray argument', async () => {
    const first = await tcpServer('epoll');
    const inUse = await run('tcp-server', ['-p', String(first.port)]);
    assert.deepEqual([inUse.code, inUse.stdout, inUse.stderr],
        [1, '', `tcp-server: listen 127.0.0.1:${first.port}: Address already in use\n`]);

    for (const bad of ['70000', '80x', '-1', '']) {
        const r = await run('tcp-server', ['-p', bad]);
        assert.equal(r.code, 2, `-p '${bad}'`);
        assert.match(r.stderr, /^tcp-server: --port: '.*' is not a number from 0 to 65535\nTry 'tcp-server --help'\.\n$/);
        assert.equal(r.stdout, '');
    }
    const stray = await run('tcp-server', ['-p', '0', 'extra']);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /^tcp-server: unexpected argument 'extra'\n/);
    const badLoop = await run('tcp-server', ['--loop', 'select']);
    assert.equal(badLoop.code, 2);
});

// ---------------------------------------------------------------------------------------------
// tcp-client against Node servers

test('tcp-client sends world!\\r\\n, half-closes, and prints every chunk until the server closes', async () => {
    for (const loop of LOOPS) {
        let request = null;
        await withNodeServer((socket) => {
            socket.write('first|');
            readToEnd(socket).then(async (data) => {
                request = data;       // what came before the client's FIN
                await sleep(100);
                socket.write('second|');
                await sleep(100);
                socket.write('third');
                await sleep(100);
                socket.end();
            });
        }, async (port) => {
            const r = await run('tcp-client', ['--loop', loop, '127.0.0.1', String(port)]);
            assert.equal(request && request.toString('latin1'), 'world!\r\n', 'what the server received');
            assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'first|second|third', '']);
        });
    }
});

test('tcp-client -m TEXT sends exactly TEXT; -v traces connect, data, end, close on stderr', async () => {
    let request = null;
    await withNodeServer((socket) => {
        readToEnd(socket).then((data) => {
            request = data;
            socket.end('bye\n');
        });
    }, async (port) => {
        const r = await run('tcp-client', ['-v', '-m', 'hello there', '127.0.0.1', String(port)]);
        assert.equal(request.toString(), 'hello there');
        assert.equal(r.code, 0);
        assert.equal(r.stdout, 'bye\n');
        const lines = r.stderr.replace(/\n$/, '').split('\n');
        const peer = `127\\.0\\.0\\.1:${port}`;
        for (const l of lines)
            assert.match(l, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} #1 (connect|data|end|close) ${peer}( .*)?$`));
        const events = lines.map((l) => l.split(' ')[2]);
        assert.deepEqual(events.filter((e) => e !== 'data'), ['connect', 'end', 'close']);
        assert.ok(events.includes('data'));
        assert.match(lines.find((l) => / data /.test(l)), / 4 bytes$/);
    });
});

test('tcp-client -f: 5 MiB to a server that pauses, byte for byte', { timeout: 30000 }, async () => {
    const f = randomFile('upload.bin', 5 * 1024 * 1024);
    try {
        await withNodeServer((socket) => {
            // Read nothing for half a second: the client's queue fills and it must wait (drain).
            socket.pause();
            const got = readToEnd(socket);
            setTimeout(() => socket.resume(), 500);
            got.then((data) => socket.end(`${data.length} ${sha256(data)}\n`));
        }, async (port) => {
            const r = await run('tcp-client', ['-v', '-f', f.file, '127.0.0.1', String(port)], { timeout: 20000 });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout, `${f.data.length} ${sha256(f.data)}\n`);
            assert.match(r.stderr, /^\S+ #1 drain /m, 'the client never had to wait for the server');
        });
    } finally {
        f.remove();
    }
});

test('tcp-client -f: a server that stops reading makes the client stop reading its file',
    { timeout: 30000 }, async () => {
    // 24 MiB: more than the kernel's socket buffers hold, so a client that kept reading its
    // file while the server was not reading would have to keep most of it in memory.
    const f = randomFile('big.bin', 24 * 1024 * 1024);
    try {
        let client = null;
        let duringKiB = null;
        await withNodeServer((socket) => {
            socket.pause();
            const got = readToEnd(socket);
            setTimeout(() => {
                duringKiB = rssKiB(client.pid);
                socket.resume();
            }, 1000);
            got.then((data) => socket.end(sha256(data)));
        }, async (port) => {
            client = spawnProgram('tcp-client', ['-f', f.file, '127.0.0.1', String(port)]);
            assert.deepEqual(await client.wait(20000), { code: 0, signal: null });
            assert.equal(client.stdoutText(), sha256(f.data));
        });
        const limitKiB = sanitized ? 16 * 1024 : 8 * 1024;
        assert.ok(duringKiB < limitKiB, `tcp-client used ${duringKiB} KiB while the server was not reading`);
    } finally {
        f.remove();
    }
});

test('tcp-client -i: stdin to the socket, the socket to stdout; end of stdin half-closes', async () => {
    for (const loop of LOOPS) {
        const server = await tcpServer(loop, '--echo');
        const client = spawnProgram('tcp-client', ['-i', '--loop', loop, '127.0.0.1', String(server.port)]);
        await client.write('hello\n');
        await client.waitForStdout(/^hello$/);
        await client.write('second line\n');
        await client.waitForStdout(/^second line$/);
        await client.end('no newline');
        assert.deepEqual(await client.wait(5000), { code: 0, signal: null });
        assert.equal(client.stdoutText(), 'hello\nsecond line\nno newline');
        assert.equal(client.stderrText(), '');
        await server.stop();
    }
});

test('tcp-client -i: the server closing ends the session while stdin is still open', async () => {
    await withNodeServer((socket) => {
        socket.once('data', (d) => socket.end(`you said ${d}`));
    }, async (port) => {
        const client = spawnProgram('tcp-client', ['-i', '127.0.0.1', String(port)]);
        await client.write('hi');
        assert.deepEqual(await client.wait(3000), { code: 0, signal: null });
        assert.equal(client.stdoutText(), 'you said hi');
    });
});

test('tcp-client -i with stdin a regular file or /dev/null (epoll cannot watch those)',
    { timeout: 30000 }, async () => {
    const f = randomFile('stdin.bin', 1024 * 1024);
    try {
        const server = await tcpServer('epoll', '--echo');
        for (const loop of LOOPS) {
            for (const [input, expected] of [[f.file, f.data], ['/dev/null', Buffer.alloc(0)]]) {
                const r = await runCommand('sh', ['-c', 'exec "$0" -i --loop "$1" 127.0.0.1 "$2" < "$3"',
                    bin('tcp-client'), loop, String(server.port), input], { encoding: 'buffer', timeout: 15000 });
                assert.equal(r.code, 0, `${loop} < ${input}: ${r.stderr}`);
                assert.equal(r.stdout.length, expected.length, `${loop} < ${input}`);
                assert.ok(r.stdout.equals(expected), `${loop} < ${input}: bytes differ`);
            }
        }
    } finally {
        f.remove();
    }
});

test('tcp-client against tcp-server: the whole exchange, on both loops', async () => {
    for (const loop of LOOPS) {
        const server = await tcpServer(loop);
        const r = await run('tcp-client', ['--loop', loop, '127.0.0.1', String(server.port)]);
        assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${BANNER}helloend`, '']);
        await server.stop();
    }
});

test('tcp-client -q prints nothing; --keepalive turns on SO_KEEPALIVE', async () => {
    await withNodeServer((socket) => socket.write('not shown'), async (port) => {
        const client = spawnProgram('tcp-client', ['-q', '-i', '--keepalive', '127.0.0.1', String(port)]);
        let ka = null;
        await waitFor(() => {
            const row = kernelSockets().find((r) => r.remotePort === port && r.state === '01');
            if (row)
                ka = row.timer === '02';
            return row;
        }, 3000, 'the client connected');
        assert.equal(ka, true, 'no keep-alive timer on the client socket');
        await client.end();
        await sleep(200);
        client.kill('SIGINT');
        assert.deepEqual(await client.wait(3000), { code: 0, signal: null });
        assert.equal(client.stdoutText(), '');
    });
});

// ---------------------------------------------------------------------------------------------
// tcp-client: failures

test('tcp-client: connection refused, unknown host (exit 1, one line)', async () => {
    const port = await unusedPort();
    const refused = await run('tcp-client', ['127.0.0.1', String(port)]);
    assert.deepEqual([refused.code, refused.stdout, refused.stderr],
        [1, '', `tcp-client: connect 127.0.0.1:${port}: Connection refused\n`]);

    const unknown = await run('tcp-client', ['nosuch.invalid', '8000']);
    assert.equal(unknown.code, 1);
    // Without a resolver (some CI sandboxes) the lookup fails for that reason instead.
    assert.match(unknown.stderr,
        /^tcp-client: resolve nosuch\.invalid:8000: (unknown host|Temporary failure in name resolution)\n$/);
});

test('tcp-client: usage errors exit 2', async () => {
    for (const args of [[], ['127.0.0.1'], ['127.0.0.1', '0'], ['127.0.0.1', '65536'], ['127.0.0.1', '80x'],
        ['-m', 'a', '-i', '127.0.0.1', '8000'], ['--timeout', 'soon', '127.0.0.1', '8000'],
        ['--bogus', '127.0.0.1', '8000'], ['127.0.0.1', '8000', 'extra']]) {
        const r = await run('tcp-client', args);
        assert.equal(r.code, 2, `tcp-client ${args.join(' ')}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /Try 'tcp-client --help'\.\n$/);
    }
    const missing = await run('tcp-client', ['-f', '/nonexistent/file', '127.0.0.1', '8000']);
    assert.deepEqual([missing.code, missing.stderr],
        [1, 'tcp-client: open /nonexistent/file: No such file or directory\n']);
    const help = await run('tcp-client', ['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: tcp-client \[options\] HOST PORT\n/);
});

test('tcp-client: a reset by the server is an error (exit 1)', async () => {
    await withNodeServer((socket) => {
        socket.once('data', () => socket.resetAndDestroy());
    }, async (port) => {
        const r = await run('tcp-client', ['127.0.0.1', String(port)]);
        assert.deepEqual([r.code, r.stdout, r.stderr],
            [1, '', `tcp-client: 127.0.0.1:${port}: Connection reset by peer\n`]);
    });
});

test('tcp-client --timeout: an idle connection fails with one line', async () => {
    await withNodeServer(() => {}, async (port) => {
        const started = Date.now();
        const client = spawnProgram('tcp-client', ['-i', '--timeout', '300', '127.0.0.1', String(port)]);
        assert.deepEqual(await client.wait(3000), { code: 1, signal: null });
        assert.ok(Date.now() - started >= 250, 'timed out too early');
        assert.equal(client.stderrText(), `tcp-client: 127.0.0.1:${port}: idle timeout\n`);
    });
});

test('tcp-client --timeout: a connect that gets no answer fails with one line', async () => {
    // A server that stops accepting, with its backlog full: the kernel then drops new SYNs, so
    // the next connect hangs, which is what a host that does not answer looks like.
    const server = await tcpServer('epoll', '--max-connections', '1');
    const fillers = [];
    try {
        for (let i = 0; i < 600; i++) {
            const s = net.connect(server.port, '127.0.0.1');
            s.on('error', () => {});
            fillers.push(s);
        }
        await sleep(500);
        const r = await run('tcp-client', ['--timeout', '400', '127.0.0.1', String(server.port)]);
        assert.deepEqual([r.code, r.stdout, r.stderr],
            [1, '', `tcp-client: connect 127.0.0.1:${server.port}: timed out\n`]);
        assert.ok(r.ms >= 350 && r.ms < 3000, `gave up after ${r.ms} ms`);
    } finally {
        for (const s of fillers)
            s.destroy();
    }
});

test('tcp-client: SIGINT closes the connection and exits 0', async () => {
    let ended = null;
    await withNodeServer((socket) => {
        ended = new Promise((resolve) => socket.on('end', resolve));
    }, async (port) => {
        const client = spawnProgram('tcp-client', ['-v', '-i', '127.0.0.1', String(port)]);
        await client.waitForStderr(/ #1 connect /);
        client.kill('SIGINT');
        assert.deepEqual(await client.wait(2000), { code: 0, signal: null });
        await withTimeout(ended, 2000, 'the server never saw the client close the connection');
        assert.doesNotMatch(client.stderrText(), /^tcp-client: /m);
    });
});

// ---------------------------------------------------------------------------------------------
// IPv6

test('IPv6 on ::1: tcp-server, a Node client, tcp-client', async (t) => {
    if (!(await hasIPv6()))
        return t.skip('no IPv6 loopback (::1) on this host');
    const server = await startServer('tcp-server', ['-b', '::1']);
    assert.equal(server.readyLine, `tcp-server listening on [::1]:${server.port}`);
    const c = await tcpConnect(server.port, '::1');
    assert.equal((await c.read(BANNER.length)).toString(), BANNER);
    await c.end('x');
    assert.equal((await c.readAll()).toString(), 'helloend');

    const r = await run('tcp-client', ['::1', String(server.port)]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${BANNER}helloend`, '']);

    const port = await unusedPort('::1');
    const refused = await run('tcp-client', ['::1', String(port)]);
    assert.deepEqual([refused.code, refused.stderr], [1, `tcp-client: connect [::1]:${port}: Connection refused\n`]);
});
