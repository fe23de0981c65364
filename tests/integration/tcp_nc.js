// requires: node nc
// timeout: 60
'use strict';
/*
 * tcp_nc.js - tcp-server and tcp-client with netcat (Debian's netcat-openbsd) on the other
 * end: the tool the tutorial's readers try first.
 *
 * `nc -N` half-closes (shutdown SHUT_WR) when its stdin ends, so it can show what the
 * document's server does on 'end': reply with its goodbye and close. Without -N, nc would send
 * no FIN and the server would wait. The other way round, `nc -l` plays the server for
 * tcp-client, in the document's one-message mode and in -i mode.
 *
 * Run it alone after `make`: node tests/integration/tcp_nc.js
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const {
    test, assert, startServer, spawnProgram, spawnCommand, run, runCommand, unusedPort, waitFor,
} = require('../lib/harness');

const LOOPS = ['epoll', 'poll'];
const BANNER = 'welcome to node tcp';

/* Whether something listens on 127.0.0.1:port (state 0A in /proc/net/tcp): how a test waits
 * for `nc -l` without connecting to it, which would use up its one connection. */
function listening(port) {
    const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    return fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').some((line) => {
        const f = line.trim().split(/\s+/);
        return f[1] === hex && f[3] === '0A';
    });
}

/* Starts `nc -l 127.0.0.1 PORT` (with extra flags first) and waits until it listens. */
async function ncListen(flags = []) {
    const port = await unusedPort();
    const nc = spawnCommand('nc', [...flags, '-l', '127.0.0.1', String(port)]);
    await waitFor(() => listening(port) || nc.status, 3000, `nc -l on port ${port}`);
    assert.equal(nc.status, null, `nc -l exited: ${nc.stderrText()}`);
    return { nc, port };
}

for (const loop of LOOPS) {
    test(`nc -N with tcp-server --loop ${loop}: banner, reply, goodbye after nc's FIN`, async () => {
        const server = await startServer('tcp-server', ['--loop', loop]);
        for (let i = 0; i < 2; i++) {
            const r = await runCommand('nc', ['-N', '127.0.0.1', String(server.port)], { input: 'world!\r\n' });
            assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${BANNER}helloend`, '']);
        }
        assert.deepEqual(await server.stop(), { code: 0, signal: null });
    });

    test(`nc -N with tcp-server --loop ${loop} --lines: an unfinished last line gets no reply`, async () => {
        const server = await startServer('tcp-server', ['--loop', loop, '--lines']);
        const r = await runCommand('nc', ['-N', '127.0.0.1', String(server.port)], { input: 'one\ntwo\nthree' });
        assert.deepEqual([r.code, r.stdout], [0, `${BANNER}hellohelloend`]);
    });

    test(`nc -N with tcp-server --loop ${loop} --echo: 1 MiB comes back byte for byte`, async () => {
        const server = await startServer('tcp-server', ['--loop', loop, '--echo']);
        const data = crypto.randomBytes(1024 * 1024);
        const r = await runCommand('nc', ['-N', '127.0.0.1', String(server.port)],
            { input: data, encoding: 'buffer', timeout: 15000 });
        assert.equal(r.code, 0);
        assert.equal(r.stdout.length, data.length);
        assert.ok(r.stdout.equals(data), 'the echo differs from what was sent');
    });
}

test('tcp-client with nc -l as the server: the message, the FIN, the answer', async () => {
    const { nc, port } = await ncListen(['-N']);
    await nc.end('reply\n');   // nc sends this, then (-N) its FIN
    const r = await run('tcp-client', ['127.0.0.1', String(port)]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'reply\n', '']);
    assert.deepEqual(await nc.wait(3000), { code: 0, signal: null });
    assert.equal(nc.stdoutText(), 'world!\r\n');
});

test('tcp-client -i with nc -l: lines both ways, then the end of stdin ends it all', async () => {
    const { nc, port } = await ncListen();
    const client = spawnProgram('tcp-client', ['-i', '127.0.0.1', String(port)]);
    await client.write('from the client\n');
    await nc.waitForStdout(/^from the client$/);
    await nc.write('from nc\n');
    await client.waitForStdout(/^from nc$/);
    // The client half-closes; nc sees the end of the stream and quits, closing the
    // connection, and that ends the client.
    await client.end();
    assert.deepEqual(await client.wait(3000), { code: 0, signal: null });
    assert.deepEqual(await nc.wait(3000), { code: 0, signal: null });
    assert.equal(client.stdoutText(), 'from nc\n');
    assert.equal(nc.stdoutText(), 'from the client\n');
});
