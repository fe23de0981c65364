// requires: node
'use strict';
/*
 * udp.js - udp-server and udp-client against Node's dgram, each way round.
 *
 * What is checked: the tutorial's exact lines and bytes; offset and length; datagram boundaries
 * for 0, 1, 1472 and 65507 bytes, and the refusal of 65508; a burst counted exactly by -q; echo
 * round trips with ping's summary; --drop's losses, repeatable by seed (checked against
 * SplitMix64 computed here); --delay with many echoes in flight; ECONNREFUSED on a connected
 * socket; IPv6; both loop backends; usage errors (exit 2), a port in use (exit 1), SIGTERM
 * (exit 0).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {
    test, assert, startServer, run, udpSocket, hasIPv6, spawnProgram, sleep, timeoutScale,
} = require('../lib/harness');

const HELLO = 'hello node udp';

/* The datagram udp-client sends as number `seq` with --count: "seq=N " and the payload. */
function numbered(seq, payload = HELLO) {
    return `seq=${seq} ${payload}`;
}

/* The --size pattern: abcdefghijklmnopqrstuvwxyz, again and again. */
function pattern(n) {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++)
        out[i] = 0x61 + (i % 26);
    return out;
}

function lines(text) {
    return text.split('\n').filter((l) => l !== '');
}

/* A UDP port nobody is bound to: bind one, note it, let it go. */
async function freeUdpPort() {
    const s = await udpSocket();
    const port = s.port;
    s.close();
    return port;
}

/* Parses udp-client's reply lines into [{from, seq, bytes, time, dup}]. */
function replies(stdout) {
    const re = /^reply from (\S+): seq=(\d+) bytes=(\d+) time=(\d+\.\d{3}) ms( \(DUP!\))?$/;
    return lines(stdout).filter((l) => l.startsWith('reply from ')).map((l) => {
        const m = re.exec(l);
        assert.ok(m, `reply line has the ping format: ${JSON.stringify(l)}`);
        return { from: m[1], seq: Number(m[2]), bytes: Number(m[3]), time: Number(m[4]), dup: !!m[5] };
    });
}

/* Checks ping's closing lines against the reply lines printed before them. */
function checkSummary(stdout, peer, sent, received, dups = 0) {
    const all = lines(stdout);
    const at = all.indexOf(`--- ${peer} udp ping statistics ---`);
    assert.ok(at >= 0, `summary header in ${JSON.stringify(stdout)}`);
    const loss = ((sent - received) * 100) / sent;
    const dupText = dups ? `, +${dups} duplicates` : '';
    const plural = (n, one, many) => (n === 1 ? one : many);
    assert.equal(all[at + 1], `${sent} ${plural(sent, 'datagram', 'datagrams')} sent, ${received} ` +
                 `${plural(received, 'reply', 'replies')} received${dupText}, ${loss}% loss`);
    if (received === 0) {
        assert.equal(all.length, at + 2, 'no rtt line without replies');
        return;
    }
    const m = /^rtt min\/avg\/max = (\d+\.\d{3})\/(\d+\.\d{3})\/(\d+\.\d{3}) ms$/.exec(all[at + 2]);
    assert.ok(m, `rtt line: ${JSON.stringify(all[at + 2])}`);
    const times = replies(stdout).filter((r) => !r.dup).map((r) => r.time);
    const [min, avg, max] = m.slice(1).map(Number);
    assert.equal(min, Math.min(...times));
    assert.equal(max, Math.max(...times));
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    assert.ok(Math.abs(avg - mean) <= 0.002, `avg ${avg} is the mean of ${times}`);
}

/* Asserts a usage error: exit 2, "<prog>: <message>" and the --help hint, nothing else. */
function assertUsageError(r, prog, message) {
    assert.equal(r.code, 2, `exit status 2 for a usage error; stderr: ${r.stderr}`);
    assert.equal(r.stdout, '');
    const err = lines(r.stderr);
    assert.equal(err.length, 2, `one error line and the hint: ${JSON.stringify(r.stderr)}`);
    if (message instanceof RegExp)
        assert.match(err[0], message);
    else
        assert.equal(err[0], `${prog}: ${message}`);
    assert.equal(err[1], `Try '${prog} --help'.`);
}

/* SplitMix64, as udp-server draws --drop's choices: one draw per datagram, dropped when
 * draw % 100 < percent. Returns the 1-based numbers of the datagrams it drops. */
function expectedDrops(seed, count, percent) {
    const MASK = (1n << 64n) - 1n;
    let state = BigInt(seed);
    const dropped = [];
    for (let i = 1; i <= count; i++) {
        state = (state + 0x9e3779b97f4a7c15n) & MASK;
        let z = state;
        z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
        z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
        z ^= z >> 31n;
        if (z % 100n < BigInt(percent))
            dropped.push(i);
    }
    return dropped;
}

/* A Node echo server: sends every datagram back (`times` times) to its sender. */
async function nodeEchoServer(opts = {}, times = 1) {
    const peer = await udpSocket(opts);
    peer.socket.on('message', (msg, rinfo) => {
        for (let i = 0; i < times; i++)
            peer.socket.send(msg, rinfo.port, rinfo.address);
    });
    return peer;
}

// ---------------------------------------------------------------------------------------------
// udp-server, with Node as the client

test('udp-server prints the tutorial line for a datagram from a Node client', async () => {
    const server = await startServer('udp-server');
    assert.equal(server.readyLine, `udp-server listening on 127.0.0.1:${server.port}`);
    const client = await udpSocket();
    await client.send(HELLO, server.port, '127.0.0.1');
    const m = await server.waitForStdout(/^server got: /);
    assert.equal(m.input, `server got: ${HELLO} from 127.0.0.1:${client.port}`);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
    assert.deepEqual(server.stdoutLines(), [server.readyLine, m.input]);
    assert.equal(server.stderrText(), '');
});

test('udp-server binds 41234 by default', async (t) => {
    try {
        const probe = await udpSocket({ port: 41234 });
        probe.close();
    } catch (err) {
        return t.skip(`port 41234 is busy here (${err.code})`);
    }
    const server = spawnProgram('udp-server', []);
    const m = await server.waitForStdout(/listening/, 5000 * timeoutScale).catch((err) => {
        if (/Address already in use/.test(server.stderrText()))
            return null;   // something took the port between the probe and the start
        throw err;
    });
    if (!m)
        return t.skip('port 41234 was taken meanwhile');
    assert.equal(m.input, 'udp-server listening on 127.0.0.1:41234');
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('udp-server escapes bytes that are not printable ASCII or UTF-8', async () => {
    const server = await startServer('udp-server');
    const client = await udpSocket();
    const bytes = Buffer.concat([
        Buffer.from('h\n\x1b[31m\\'), Buffer.from('你', 'utf8'),
        Buffer.from([0xff, 0xc2, 0x85, 0x09, 0x0d, 0x00, 0x7f, 0xed, 0xa0, 0x80]), Buffer.from('é', 'utf8'),
    ]);
    await client.send(bytes, server.port, '127.0.0.1');
    const m = await server.waitForStdout(/^server got: /);
    assert.equal(m.input, 'server got: h\\n\\x1b[31m\\\\你\\xff\\xc2\\x85\\t\\r\\x00\\x7f\\xed\\xa0\\x80é' +
                 ` from 127.0.0.1:${client.port}`);
    await server.stop();
    assert.equal(server.stdoutLines().length, 2, 'one line for the datagram, whatever its bytes');
});

test('udp-server -v traces listening, message and close; -x adds a hexdump', async () => {
    const server = await startServer('udp-server', ['-x']);
    const listening = await server.waitForStderr(/ #0 listening /);
    assert.match(listening.input, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} #0 listening 127\\.0\\.0\\.1:${server.port} loop=epoll rcvbuf=\\d+$`));
    const client = await udpSocket();
    await client.send(HELLO, server.port, '127.0.0.1');
    const msg = await server.waitForStderr(/ #0 message /);
    assert.match(msg.input, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} #0 message 127\\.0\\.0\\.1:${client.port} 14 bytes$`));
    const dump = await server.waitForStderr(/^0000/);
    assert.equal(dump.input, '00000000  68 65 6c 6c 6f 20 6e 6f  64 65 20 75 64 70        |hello node udp|');
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
    assert.match(server.stderrLines().at(-1),
                 new RegExp(`#0 close 127\\.0\\.0\\.1:${server.port} 1 datagrams \\(14 bytes\\) received, 0 \\(0 bytes\\) sent$`));
});

test('udp-server --echo sends each datagram back to its Node sender', async () => {
    const server = await startServer('udp-server', ['--echo']);
    const client = await udpSocket();
    await client.send(HELLO, server.port, '127.0.0.1');
    const reply = await client.receive();
    assert.equal(reply.data.toString(), HELLO);
    assert.equal(reply.port, server.port);
    await server.waitForStdout(`server got: ${HELLO} from 127.0.0.1:${client.port}`);
});

test('datagram boundaries: 0, 1, 1472 and 65507 bytes arrive as four datagrams, and echo back so', async () => {
    const sizes = [0, 1, 1472, 65507];
    const server = await startServer('udp-server', ['--echo', '-q', '-v']);
    const client = await udpSocket();
    for (const n of sizes)
        await client.send(pattern(n), server.port, '127.0.0.1');
    for (const n of sizes) {
        const m = await server.waitForStderr(/ #0 message /);
        assert.ok(m.input.endsWith(` #0 message 127.0.0.1:${client.port} ${n} bytes`), m.input);
        const echo = await client.receive();
        assert.equal(echo.data.length, n);
        assert.ok(echo.data.equals(pattern(n)), `echo of ${n} bytes is byte-exact`);
    }
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
    assert.equal(server.stdoutLines().at(-1), 'received 4 datagrams, 66980 bytes, echoed 4');
});

test('udp-server -q counts a burst of 100 datagrams exactly', async () => {
    // 100 small datagrams fit in any default receive buffer; --rcvbuf adds a margin.
    const server = await startServer('udp-server', ['-q', '--rcvbuf', '1M']);
    const r = await run('udp-client', ['-c', '100', '-i', '0', '127.0.0.1', server.port]);
    assert.equal(r.code, 0, r.stderr);
    let bytes = 0;
    for (let seq = 1; seq <= 100; seq++)
        bytes += numbered(seq).length;
    assert.equal(bytes, 2092);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
    assert.deepEqual(server.stdoutLines(), [server.readyLine, `received 100 datagrams, ${bytes} bytes`]);
});

test('SIGINT and SIGTERM end udp-server cleanly, echoes still waiting included', async () => {
    for (const signal of ['SIGINT', 'SIGTERM']) {
        const server = await startServer('udp-server', ['--echo', '--delay', '5000', '-q']);
        const client = await udpSocket();
        await client.send('one', server.port, '127.0.0.1');
        await client.send('two', server.port, '127.0.0.1');
        await sleep(100);
        const started = Date.now();
        assert.deepEqual(await server.stop(signal), { code: 0, signal: null });
        assert.ok(Date.now() - started < 2000 * timeoutScale, 'exits at once, not after the delay');
        assert.equal(server.stdoutLines().at(-1), 'received 2 datagrams, 6 bytes, echoed 0');
        assert.equal(server.stderrText(), '');
    }
});

// ---------------------------------------------------------------------------------------------
// udp-client, with Node as the server

test('udp-client sends the tutorial datagram, byte for byte, and prints nothing', async () => {
    const peer = await udpSocket();
    const r = await run('udp-client', ['127.0.0.1', peer.port]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
    const d = await peer.receive();
    assert.ok(d.data.equals(Buffer.from(HELLO)), `got ${JSON.stringify(d.data.toString())}`);
    await assert.rejects(peer.receive(200), /no datagram/, 'exactly one datagram');
});

test('udp-client --offset and --length choose part of the buffer, as send() does', async () => {
    const peer = await udpSocket();
    const cases = [   // [options, MESSAGE or null, what must arrive]
        [['--offset', '6', '--length', '4'], null, 'node'],
        [['--offset', '6'], null, 'node udp'],
        [['--length', '5'], null, 'hello'],
        [['--offset', '14'], null, ''],
        [['--offset', '2', '--length', '3'], 'abcdefgh', 'cde'],
        [[], '你好世界', '你好世界'],
        [['--offset', '3'], '你好世界', '好世界'],
    ];
    for (const [opts, message, want] of cases) {
        const args = [...opts, '127.0.0.1', peer.port, ...(message === null ? [] : [message])];
        const r = await run('udp-client', args);
        assert.equal(r.code, 0, r.stderr);
        const d = await peer.receive();
        assert.equal(d.data.toString('utf8'), want, `udp-client ${args.join(' ')}`);
    }
});

test('udp-client --file sends a file (any bytes) or standard input', async () => {
    const peer = await udpSocket();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-udp-'));
    try {
        const file = path.join(dir, 'data.bin');
        const content = Buffer.from([0x00, 0x01, 0x02, 0x0a, 0x00, 0xff, 0x41, 0x42, 0x00]);
        fs.writeFileSync(file, content);
        let r = await run('udp-client', ['--file', file, '127.0.0.1', peer.port]);
        assert.equal(r.code, 0, r.stderr);
        assert.ok((await peer.receive()).data.equals(content));
        r = await run('udp-client', ['--file', file, '--offset', '3', '--length', '4', '127.0.0.1', peer.port]);
        assert.equal(r.code, 0, r.stderr);
        assert.ok((await peer.receive()).data.equals(content.subarray(3, 7)));
        r = await run('udp-client', ['-f', '-', '127.0.0.1', peer.port], { input: 'from stdin\n' });
        assert.equal(r.code, 0, r.stderr);
        assert.equal((await peer.receive()).data.toString(), 'from stdin\n');
        r = await run('udp-client', ['--file', file, '--offset', '10', '127.0.0.1', peer.port]);
        assertUsageError(r, 'udp-client', '--offset 10: out of range, the buffer has 9 bytes');
        r = await run('udp-client', ['--file', path.join(dir, 'missing'), '127.0.0.1', peer.port]);
        assert.equal(r.code, 1);
        assert.equal(r.stderr, `udp-client: open ${path.join(dir, 'missing')}: No such file or directory\n`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('udp-client --size: 0, 1, 1472 and 65507 bytes arrive whole, one datagram each', async () => {
    const peer = await udpSocket();
    for (const n of [0, 1, 1472, 65507]) {
        const r = await run('udp-client', ['--size', n, '127.0.0.1', peer.port]);
        assert.equal(r.code, 0, r.stderr);
    }
    for (const n of [0, 1, 1472, 65507]) {
        const d = await peer.receive();
        assert.equal(d.data.length, n);
        assert.ok(d.data.equals(pattern(n)), `${n} bytes of the pattern`);
    }
    await assert.rejects(peer.receive(200), /no datagram/);
});

test('udp-client refuses 65508 bytes over IPv4 with EMSGSIZE, sending nothing', async () => {
    const peer = await udpSocket();
    const r = await run('udp-client', ['--size', '65508', '127.0.0.1', peer.port]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `udp-client: send 127.0.0.1:${peer.port}: Message too long ` +
                 '(the datagram holds 65508 bytes; UDP over IPv4 carries at most 65507)\n');
    await assert.rejects(peer.receive(200), /no datagram/);
});

test('udp-client -v traces its own port (listening), connect, send and close', async () => {
    const peer = await udpSocket();
    const r = await run('udp-client', ['-v', '127.0.0.1', peer.port]);
    assert.equal(r.code, 0);
    const d = await peer.receive();
    const events = lines(r.stderr).map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d{3} /, ''));
    assert.deepEqual(events, [
        `#0 listening 127.0.0.1:${d.port}`,
        `#0 connect 127.0.0.1:${peer.port}`,
        `#0 send 127.0.0.1:${peer.port} 14 bytes`,
        `#0 close 127.0.0.1:${peer.port} 0 datagrams (0 bytes) received, 1 (14 bytes) sent`,
    ]);
});

test('udp-client --count numbers its datagrams "seq=N "', async () => {
    const peer = await udpSocket();
    const r = await run('udp-client', ['-c', '3', '-i', '0', '127.0.0.1', peer.port, 'ping']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
    for (let seq = 1; seq <= 3; seq++)
        assert.equal((await peer.receive()).data.toString(), numbered(seq, 'ping'));
});

// ---------------------------------------------------------------------------------------------
// Round trips

test('echo round trip: udp-client -c 3 -w against udp-server --echo, with ping\'s summary', async () => {
    const server = await startServer('udp-server', ['--echo']);
    const r = await run('udp-client', ['-c', '3', '-i', '20', '-w', '2000', '127.0.0.1', server.port]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const got = replies(r.stdout);
    assert.deepEqual(got.map((x) => [x.from, x.seq, x.bytes, x.dup]),
                     [1, 2, 3].map((seq) => [`127.0.0.1:${server.port}`, seq, 20, false]));
    checkSummary(r.stdout, `127.0.0.1:${server.port}`, 3, 3);
    const seen = [];
    for (let seq = 1; seq <= 3; seq++)
        seen.push((await server.waitForStdout(/^server got: /)).input.replace(/ from 127\.0\.0\.1:\d+$/, ''));
    assert.deepEqual(seen, [1, 2, 3].map((seq) => `server got: ${numbered(seq)}`));
});

test('udp-client -w without --count: one reply to the exact tutorial bytes', async () => {
    const server = await startServer('udp-server', ['--echo']);
    const r = await run('udp-client', ['-w', '2000', '127.0.0.1', server.port]);
    assert.equal(r.code, 0, r.stderr);
    const got = replies(r.stdout);
    assert.deepEqual(got.map((x) => [x.seq, x.bytes]), [[1, 14]]);
    checkSummary(r.stdout, `127.0.0.1:${server.port}`, 1, 1);
    await server.waitForStdout(new RegExp(`^server got: ${HELLO} from 127\\.0\\.0\\.1:\\d+$`));
});

test('udp-client matches replies by number: reordered and duplicated by a Node peer', async () => {
    // A Node peer that holds three datagrams, then answers them last first.
    const peer = await udpSocket();
    const held = [];
    peer.socket.on('message', (msg, rinfo) => {
        held.push([msg, rinfo]);
        if (held.length === 3)
            for (const [m, ri] of held.reverse())
                peer.socket.send(m, ri.port, ri.address);
    });
    let r = await run('udp-client', ['-c', '3', '-i', '0', '-w', '2000', '127.0.0.1', peer.port]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(replies(r.stdout).map((x) => x.seq), [3, 2, 1]);
    checkSummary(r.stdout, `127.0.0.1:${peer.port}`, 3, 3);

    const doubler = await nodeEchoServer({}, 2);
    r = await run('udp-client', ['-c', '2', '-i', '200', '-w', '500', '127.0.0.1', doubler.port]);
    assert.equal(r.code, 0, r.stderr);
    // Like ping -c, the client ends once every datagram has its answer: the second copy of
    // the last reply finds it gone.
    assert.deepEqual(replies(r.stdout).map((x) => [x.seq, x.dup]), [[1, false], [1, true], [2, false]]);
    checkSummary(r.stdout, `127.0.0.1:${doubler.port}`, 2, 2, 1);
});

test('--drop 50 --seed 7 loses the same datagrams on every run', async () => {
    const count = 20;
    // The reference itself, pinned: SplitMix64 from seed 7 draws 87 4 46 3 74 5 98 82 85 25 ...
    assert.deepEqual(expectedDrops(7, count, 50), [2, 3, 4, 6, 10, 12, 14, 17, 20]);
    let bytes = 0;
    for (let seq = 1; seq <= count; seq++)
        bytes += numbered(seq).length;
    // --drop 25 puts a draw (the 10th, 25) right on the boundary: it must be kept.
    for (const percent of [50, 25]) {
        const dropped = expectedDrops(7, count, percent);
        const answered = [];
        for (let seq = 1; seq <= count; seq++)
            if (!dropped.includes(seq))
                answered.push(seq);
        for (let runNo = 1; runNo <= 2; runNo++) {
            const server = await startServer('udp-server', ['--echo', '--drop', percent, '--seed', '7', '-q', '-v']);
            await server.waitForStderr(new RegExp(` #0 listening .* drop=${percent}% seed=7$`));
            const r = await run('udp-client', ['-c', count, '-i', '5', '-w', '500', '127.0.0.1', server.port]);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(replies(r.stdout).map((x) => x.seq), answered,
                             `--drop ${percent}, run ${runNo}: the seed's choices`);
            checkSummary(r.stdout, `127.0.0.1:${server.port}`, count, answered.length);
            assert.deepEqual(await server.stop(), { code: 0, signal: null });
            assert.equal(server.stdoutLines().at(-1), `received ${count} datagrams, ${bytes} bytes, ` +
                         `dropped ${dropped.length} (--drop), echoed ${answered.length}`);
            assert.equal(server.stderrLines().filter((l) => / #0 drop /.test(l)).length, dropped.length);
        }
    }
});

test('--drop 100: no reply at all makes udp-client exit 1, like ping', async () => {
    const server = await startServer('udp-server', ['--echo', '--drop', '100']);
    const r = await run('udp-client', ['-c', '2', '-i', '0', '-w', '300', '127.0.0.1', server.port]);
    assert.equal(r.code, 1);
    checkSummary(r.stdout, `127.0.0.1:${server.port}`, 2, 0);
    assert.equal(r.stderr, `udp-client: no reply from 127.0.0.1:${server.port} within 300 ms\n`);
});

test('--delay 200 delays every echo by at least 200 ms, many in flight at once', async () => {
    const server = await startServer('udp-server', ['--echo', '--delay', '200']);
    const r = await run('udp-client', ['-c', '5', '-i', '10', '-w', '3000', '127.0.0.1', server.port]);
    assert.equal(r.code, 0, r.stderr);
    const got = replies(r.stdout);
    assert.deepEqual(got.map((x) => x.seq), [1, 2, 3, 4, 5], 'echoes keep their order');
    for (const x of got) {
        assert.ok(x.time >= 200, `seq=${x.seq} came back after ${x.time} ms, before 200`);
        // One at a time, the fourth echo would wait about 770 ms: these overlap.
        assert.ok(x.time < 600, `seq=${x.seq} took ${x.time} ms: echoes were not in flight together`);
    }
    checkSummary(r.stdout, `127.0.0.1:${server.port}`, 5, 5);
    assertUsageError(await run('udp-server', ['--delay', '200']), 'udp-server', '--delay delays echoes: add --echo');
});

test('udp-client against a Node echo server', async () => {
    const peer = await nodeEchoServer();
    const r = await run('udp-client', ['-c', '2', '-i', '0', '-w', '2000', '127.0.0.1', peer.port, 'abc']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(replies(r.stdout).map((x) => [x.seq, x.bytes]), [[1, 9], [2, 9]]);
    checkSummary(r.stdout, `127.0.0.1:${peer.port}`, 2, 2);
});

test('connected socket: a closed port answers ECONNREFUSED at once; --no-connect never hears it', async () => {
    const port = await freeUdpPort();
    let r = await run('udp-client', ['-w', '3000', '127.0.0.1', port]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `udp-client: recv 127.0.0.1:${port}: Connection refused ` +
                 '(an ICMP port unreachable came back: nothing listens there)\n');
    assert.ok(r.ms < 2500, `refused at once, not after --wait (${r.ms} ms)`);

    r = await run('udp-client', ['--no-connect', '-w', '300', '127.0.0.1', port]);
    assert.equal(r.code, 1);
    checkSummary(r.stdout, `127.0.0.1:${port}`, 1, 0);
    assert.equal(r.stderr, `udp-client: no reply from 127.0.0.1:${port} within 300 ms\n`);
    assert.ok(r.ms >= 300, 'waited the whole --wait');
});

// ---------------------------------------------------------------------------------------------
// IPv6, loop backends

test('IPv6: udp-server -b ::1 and udp-client ::1', async (t) => {
    if (!(await hasIPv6()))
        return t.skip('this host has no IPv6 loopback (::1)');
    const server = await startServer('udp-server', ['-b', '::1', '--echo']);
    assert.equal(server.readyLine, `udp-server listening on [::1]:${server.port}`);
    const client = await udpSocket({ ipv6: true });
    await client.send(HELLO, server.port, '::1');
    const m = await server.waitForStdout(/^server got: /);
    assert.equal(m.input, `server got: ${HELLO} from [::1]:${client.port}`);
    assert.equal((await client.receive()).data.toString(), HELLO);

    const r = await run('udp-client', ['-w', '2000', '::1', server.port]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(replies(r.stdout).map((x) => [x.from, x.seq, x.bytes]), [[`[::1]:${server.port}`, 1, 14]]);
    checkSummary(r.stdout, `[::1]:${server.port}`, 1, 1);

    // IPv6's limit is 65527 bytes, not IPv4's 65507.
    const peer = await udpSocket({ ipv6: true });
    let big = await run('udp-client', ['--size', '65527', '::1', peer.port]);
    assert.equal(big.code, 0, big.stderr);
    assert.ok((await peer.receive()).data.equals(pattern(65527)));
    big = await run('udp-client', ['--size', '65528', '::1', peer.port]);
    assert.equal(big.code, 1);
    assert.equal(big.stderr, `udp-client: send [::1]:${peer.port}: Message too long ` +
                 '(the datagram holds 65528 bytes; UDP over IPv6 carries at most 65527)\n');
});

for (const backend of ['poll', 'epoll']) {
    test(`--loop ${backend}: echo round trip`, async () => {
        const server = await startServer('udp-server', ['--echo', '-v', '--loop', backend]);
        await server.waitForStderr(new RegExp(` #0 listening 127\\.0\\.0\\.1:${server.port} loop=${backend} `));
        const r = await run('udp-client', ['--loop', backend, '-c', '3', '-i', '0', '-w', '2000',
                                           '127.0.0.1', server.port]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(replies(r.stdout).map((x) => x.seq), [1, 2, 3]);
        checkSummary(r.stdout, `127.0.0.1:${server.port}`, 3, 3);
        assert.deepEqual(await server.stop(), { code: 0, signal: null });
    });
}

// ---------------------------------------------------------------------------------------------
// Failures: usage (exit 2), runtime (exit 1)

test('bad arguments: exit 2 with one line and the --help hint', async () => {
    const cases = [
        ['udp-server', ['--drop', '101'], "--drop: '101' is not a number from 0 to 100"],
        ['udp-server', ['--drop', 'x'], "--drop: 'x' is not a number from 0 to 100"],
        ['udp-server', ['-p', '70000'], "--port: '70000' is not a number from 0 to 65535"],
        ['udp-server', ['--loop', 'select'], "--loop: 'select' is not a backend here (epoll or poll)"],
        ['udp-server', ['--rcvbuf', '1'], "--rcvbuf: '1' is not a size from 1K to 256M"],
        ['udp-server', ['extra'], "unexpected argument 'extra'"],
        // getopt words this one itself, naming the program as it was invoked.
        ['udp-server', ['--bogus'], /udp-server: unrecognized option '--bogus'$/],
        ['udp-client', ['-z', '127.0.0.1', '1'], /udp-client: invalid option -- 'z'$/],
        ['udp-client', [], 'HOST and PORT are needed'],
        ['udp-client', ['127.0.0.1'], 'HOST and PORT are needed'],
        ['udp-client', ['127.0.0.1', '0'], "PORT: '0' is not a number from 1 to 65535"],
        ['udp-client', ['127.0.0.1', '41234x'], "PORT: '41234x' is not a number from 1 to 65535"],
        ['udp-client', ['127.0.0.1', '1', 'a', 'b'], "unexpected argument 'b'"],
        ['udp-client', ['--offset', '15', '127.0.0.1', '1'], '--offset 15: out of range, the buffer has 14 bytes'],
        ['udp-client', ['--offset', '10', '--length', '5', '127.0.0.1', '1'],
         '--offset 10 --length 5: out of range, the buffer has 14 bytes'],
        ['udp-client', ['--length', '15', '127.0.0.1', '1'], '--offset 0 --length 15: out of range, the buffer has 14 bytes'],
        ['udp-client', ['--offset', '-1', '127.0.0.1', '1'], "--offset: '-1' is not a number from 0 to 1048576"],
        ['udp-client', ['-c', '0', '127.0.0.1', '1'], "--count: '0' is not a number from 1 to 1000000"],
        ['udp-client', ['-w', 'soon', '127.0.0.1', '1'], /^udp-client: --wait: 'soon' is not a number from 0 to \d+$/],
        ['udp-client', ['--size', '2M', '127.0.0.1', '1'], '--size: at most 1048576 bytes'],
        ['udp-client', ['--size', '3', '127.0.0.1', '1', 'text'], 'give one of MESSAGE, --file and --size'],
    ];
    for (const [prog, args, message] of cases)
        assertUsageError(await run(prog, args), prog, message);
});

test('a port in use: udp-server exits 1 with one line', async () => {
    const holder = await udpSocket();   // Node binds without SO_REUSEADDR
    let r = await run('udp-server', ['-p', holder.port]);
    assert.deepEqual([r.code, r.stdout], [1, '']);
    assert.equal(r.stderr, `udp-server: bind 127.0.0.1:${holder.port}: Address already in use\n`);

    // A second udp-server must not share the first one's port (UDP's SO_REUSEADDR would).
    const first = await startServer('udp-server');
    r = await run('udp-server', ['-p', first.port]);
    assert.deepEqual([r.code, r.stdout], [1, '']);
    assert.equal(r.stderr, `udp-server: bind 127.0.0.1:${first.port}: Address already in use\n`);
});

test('udp-client: an unknown host exits 1 with one line', async () => {
    const r = await run('udp-client', ['nosuch.invalid', '41234']);
    assert.deepEqual([r.code, r.stdout], [1, '']);
    assert.equal(r.stderr, 'udp-client: resolve nosuch.invalid:41234: unknown host\n');
});

test('SIGINT stops udp-client mid-count with its summary', async () => {
    const server = await startServer('udp-server', ['--echo']);
    const client = spawnProgram('udp-client', ['-c', '100', '-i', '100', '-w', '1000', '127.0.0.1', server.port]);
    await client.waitForStdout(/seq=3 /, 5000 * timeoutScale);
    client.kill('SIGINT');
    assert.deepEqual(await client.wait(5000 * timeoutScale), { code: 0, signal: null });
    const out = client.stdoutText();
    const sent = Number(/^(\d+) datagrams sent/m.exec(out)[1]);
    assert.ok(sent >= 3 && sent < 100, `stopped after ${sent}`);
    checkSummary(out, `127.0.0.1:${server.port}`, sent, replies(out).length);
});
