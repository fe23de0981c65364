'use strict';
/*
 * lab1.js - grades lab 1, TCP echo with framing and partial I/O (docs/labs/lab1.md).
 *
 * The student writes tcp-server's --lines framing (answer_lines), its echo with back-pressure
 * (echo_bytes) and the resume on drain (on_drain). Every case starts its own tcp-server on
 * loopback, port 0, and talks to it with Node's net module, cutting the bytes where a real
 * network might.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const { gradedCase, hint, harness } = require('../lib/grader');
const { startServer, tcpConnect, sleep, variant, bin } = harness;

const BANNER = 'welcome to node tcp';
const sanitized = variant === 'san' || fs.readFileSync(bin('tcp-server')).includes('__asan_init');

function rssKiB(pid) {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]);
}

/* Reads until `want` bytes came (or the wait ends), waits `settleMs` for anything more, and
 * returns everything that came. */
async function readBytes(conn, want, settleMs = 0) {
    let got;
    try {
        got = await conn.read(want, 3000);
    } catch (err) {
        return conn.received();
    }
    if (settleMs)
        await sleep(settleMs);
    return Buffer.concat([got, conn.received()]);
}

gradedCase('--echo --lines: one line in one write comes back', 10, async () => {
    const server = await startServer('tcp-server', ['--echo', '--lines']);
    const c = await tcpConnect(server.port);
    await c.write('hello\n');
    const got = await readBytes(c, 6);
    hint.equal(got.toString('latin1'), 'hello\n', { sent: 'hello\n' });
});

gradedCase('--echo --lines: a line split across two writes is answered once, whole', 15, async () => {
    const server = await startServer('tcp-server', ['--echo', '--lines']);
    const c = await tcpConnect(server.port);
    c.socket.setNoDelay(true);
    await c.write('hel');
    await sleep(300);
    const early = c.received();
    hint.check(early.length === 0, {
        why: 'The server answered before the line was complete (one read is not one line).',
        sent: '"hel" (no newline yet)', rawSent: true, expected: '', got: early,
    });
    await c.write('lo\n');
    const got = await readBytes(c, 6);
    hint.equal(got.toString('latin1'), 'hello\n', { sent: '"hel", then 300 ms later "lo\\n"', rawSent: true });
});

gradedCase('--lines: three lines in one write get three answers', 15, async () => {
    const server = await startServer('tcp-server', ['--lines', '--reply', 'ok\n']);
    const c = await tcpConnect(server.port);
    await c.write('one\ntwo\nthree\n');
    const want = BANNER + 'ok\nok\nok\n';
    const got = await readBytes(c, want.length, 200);
    hint.equal(got.toString('latin1'), want,
        { sent: 'one\ntwo\nthree\n (one write), to tcp-server --lines --reply "ok\\n"' });
});

gradedCase('--lines: a line sent one byte at a time gets one answer', 15, async () => {
    const server = await startServer('tcp-server', ['--lines', '--reply', 'ok\n']);
    const c = await tcpConnect(server.port);
    c.socket.setNoDelay(true);
    await readBytes(c, BANNER.length);
    const text = 'a1\nbb2\nccc3\n';
    for (const ch of text) {
        await c.write(ch);
        await sleep(15);
    }
    const want = 'ok\nok\nok\n';
    const got = await readBytes(c, want.length, 300);
    hint.equal(got.toString('latin1'), want,
        { sent: `${JSON.stringify(text)}, one byte per write`, rawSent: true });
});

gradedCase('--echo --lines: an unfinished last line is kept, not answered', 10, async () => {
    const server = await startServer('tcp-server', ['--echo', '--lines']);
    const c = await tcpConnect(server.port);
    await c.end('first\nsecond\nunfinis');
    const got = await c.readAll(5000);
    hint.equal(got.toString('latin1'), 'first\nsecond\n',
        { sent: '"first\\nsecond\\nunfinis", then FIN', rawSent: true });
});

gradedCase('--echo --lines: 20 clients at once each get their own lines back', 15, async () => {
    const server = await startServer('tcp-server', ['--echo', '--lines']);
    const one = async (i) => {
        const lines = Array.from({ length: 50 }, (_, k) => `client ${i} line ${k} ${crypto.randomBytes(8).toString('hex')}\n`);
        const payload = lines.join('');
        const c = await tcpConnect(server.port);
        // Cut the bytes at odd places, as a network may.
        for (let at = 0; at < payload.length; at += 97)
            await c.write(payload.slice(at, at + 97));
        await c.end();
        const back = (await c.readAll(10000)).toString('latin1');
        hint.equal(back, payload, { sent: `client ${i}: 50 lines cut into 97-byte writes`, rawSent: true });
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => one(i)));
}, { timeout: 30000 });

gradedCase('--echo: 16 MiB to a client that stops reading; memory stays flat, all comes back', 20,
    async () => {
    const server = await startServer('tcp-server', ['--echo']);
    const c = await tcpConnect(server.port);
    const before = rssKiB(server.pid);
    const line = crypto.randomBytes(60).toString('hex') + '\n';
    const payload = Buffer.from(line.repeat(Math.ceil(16 * 1024 * 1024 / line.length)));
    c.socket.pause();
    c.socket.end(payload);
    await sleep(1500);
    const grew = rssKiB(server.pid) - before;
    const limit = sanitized ? 48 * 1024 : 6 * 1024;
    hint.check(grew < limit, {
        why: `The server's memory grew by ${grew} KiB while its client was not reading (limit ${limit} KiB): ` +
             'it kept queueing instead of pausing (stream_write returned 0: stream_pause, then resume on drain).',
    });
    c.socket.resume();
    const back = await c.readAll(20000);
    hint.check(back.equals(payload), {
        why: 'Not every byte came back, in order, after the client read again.',
        expected: `${payload.length} bytes`, got: `${back.length} bytes`,
    });
}, { timeout: 40000 });
