// requires: node curl openssl
// timeout: 180
'use strict';
/*
 * tls.js - https and wss (docs/tls.md): our servers and clients against curl and Node's `https`
 * and `ws`, with a throwaway CA and certificates made by the `openssl` command for this run.
 *
 * What it proves:
 *   - http-server --tls-cert/--tls-key serves https that curl --cacert and Node's https trust;
 *     http-client verifies Node's https server against --cacert, sends SNI for a name and none
 *     for an address, reuses kept-alive TLS
 *     connections, and refuses a server whose certificate names another host, or is signed by
 *     a CA it does not trust (exit 1, one line saying why); --insecure connects, with a warning;
 *   - ws-echo and ws-chat serve wss to Node's ws; ws-client speaks wss to Node's ws server;
 *   - big bodies cross intact both ways (records, partial writes, back-pressure);
 *   - a failed handshake, or plain HTTP sent to the TLS port, drops that connection only: a
 *     connection already open goes on, and the server takes new ones;
 *   - --keylog writes the key log format Wireshark reads, the same lines Node's client logs;
 *   - bad TLS options are usage errors (exit 2).
 * In a build without TLS (make TLS=0 check) it proves instead that every TLS option and URL
 * fails at once, with exit 2 and "this build has no TLS".
 *
 * Run it alone after `make`: node tests/integration/tls.js
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');
const {
    test, assert, log, startServer, run, runCommand, tcpConnect, unusedPort, waitFor,
    withTimeout,
} = require('../lib/harness');

const NO_TLS = /this build has no TLS \(rebuild with OpenSSL: apt-get install libssl-dev\)/;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-tls-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name) => path.join(dir, name);

// ---------------------------------------------------------------------------------------------
// Certificates, made with the openssl command as docs/tls.md shows

async function openssl(args) {
    const r = await runCommand('openssl', args, { timeout: 30000 });
    if (r.code !== 0)
        throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
}

/* A CA (ca.pem), and server certificates it signs: good.pem for localhost and 127.0.0.1,
 * wrong.pem for another name only; self.pem is self-signed (no CA trusts it). */
async function makeCertificates() {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    await openssl(['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'),
                   '-days', '2', '-subj', '/CN=wirelab test CA']);
    await openssl(['req', ...ec, '-keyout', file('key.pem'), '-out', file('server.csr'),
                   '-subj', '/CN=localhost']);
    const sign = async (out, san) => {
        fs.writeFileSync(file(`${out}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n` +
                         'extendedKeyUsage=serverAuth\n');
        await openssl(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'),
                       '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2',
                       '-out', file(out), '-extfile', file(`${out}.ext`)]);
    };
    await sign('good.pem', 'DNS:localhost,IP:127.0.0.1,IP:::1');
    await sign('wrong.pem', 'DNS:elsewhere.example');
    await openssl(['req', '-x509', ...ec, '-keyout', file('self.key'), '-out', file('self.pem'),
                   '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost']);
}

const serverTls = (cert = 'good.pem', key = 'key.pem') => ['--tls-cert', file(cert), '--tls-key', file(key)];
const ca = () => fs.readFileSync(file('ca.pem'));

/* Whether this build has TLS: a server given a certificate says so at once if it has not. */
async function buildHasTls() {
    const r = await run('http-server', ['-p', '0', '--tls-cert', '/nonexistent', '--tls-key', '/nonexistent']);
    return !NO_TLS.test(r.stderr);
}

// ---------------------------------------------------------------------------------------------
// Node peers

function httpsGet(url, opts = {}) {
    return withTimeout(new Promise((resolve, reject) => {
        const req = https.get(url, { ca: ca(), ...opts }, (res) => {
            const socket = res.socket; // detached once the response ends
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                                          body: Buffer.concat(chunks), socket }));
        });
        req.on('error', reject);
    }), 10000, `GET ${url}: no answer`);
}

/* Node's https server: hello world, or the request body echoed back for POST. */
function nodeHttpsServer(handler) {
    const server = https.createServer({ cert: fs.readFileSync(file('good.pem')),
                                        key: fs.readFileSync(file('key.pem')) }, handler);
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function wsOpen(url, opts = {}) {
    const WebSocket = require('ws');
    const ws = new WebSocket(url, { ca: ca(), ...opts });
    const messages = [];
    ws.on('message', (data) => messages.push(data.toString()));
    ws.messages = messages;
    return withTimeout(new Promise((resolve, reject) => {
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
    }), 10000, `${url}: did not open`);
}

// ---------------------------------------------------------------------------------------------
// The tests

async function main() {
    if (!(await buildHasTls())) {
        log('this build has no TLS: checking that the TLS options say so');
        noTlsTests();
        return;
    }
    await makeCertificates();
    tlsTests();
}

function noTlsTests() {
    for (const prog of ['http-server', 'http-push', 'ws-echo', 'ws-chat']) {
        test(`${prog} --tls-cert: exit 2, this build has no TLS`, async () => {
            const r = await run(prog, ['-p', '0', '--tls-cert', 'cert.pem', '--tls-key', 'key.pem']);
            assert.equal(r.code, 2);
            assert.match(r.stderr, NO_TLS);
            assert.equal(r.stdout, '', 'no ready line');
        });
    }
    test('http-client https:// and --cacert: exit 2, this build has no TLS', async () => {
        let r = await run('http-client', ['https://127.0.0.1:1/']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, NO_TLS);
        r = await run('http-client', ['--cacert', 'ca.pem', 'http://127.0.0.1:1/']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, NO_TLS);
    });
    test('ws-client wss:// and --insecure: exit 2, this build has no TLS', async () => {
        let r = await run('ws-client', ['wss://127.0.0.1:1/']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, NO_TLS);
        r = await run('ws-client', ['--insecure', 'ws://127.0.0.1:1/']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, NO_TLS);
    });
    test('--version says the build has no TLS', async () => {
        const r = await run('ws-chat', ['--version']);
        assert.match(r.stdout, /^ws-chat \(wirelab\) .*\nTLS: none \(built without OpenSSL\)\n$/);
    });
    test('the help still lists the TLS options', async () => {
        const r = await run('http-server', ['--help']);
        assert.match(r.stdout, /--tls-cert FILE/);
        assert.match((await run('http-client', ['--help'])).stdout, /--cacert FILE/);
    });
}

function tlsTests() {
    test('curl --cacert gets hello world from http-server over https, twice on one connection', async () => {
        const server = await startServer('http-server', ['-v', ...serverTls()]);
        const url = `https://localhost:${server.port}/`;
        const r = await runCommand('curl', ['-sS', '--cacert', file('ca.pem'), '-w', '%{ssl_verify_result} %{num_connects}\\n',
                                            url, url]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'hello world0 1\nhello world0 0\n');
        await server.waitForStderr(/secureConnection 127\.0\.0\.1:\d+ TLSv1\.3 /);
        await server.stop();
        const connections = server.stderrText().match(/ secureConnection /g);
        assert.equal(connections.length, 1, 'the second request reused the TLS connection');
    });

    test('curl with no CA to trust refuses http-server; http-server drops that connection only', async () => {
        const server = await startServer('http-server', ['-v', ...serverTls()]);
        const r = await runCommand('curl', ['-sS', `https://localhost:${server.port}/`]);
        assert.equal(r.code, 60, r.stderr); // CURLE_PEER_FAILED_VERIFICATION
        await server.waitForStderr(/error 127\.0\.0\.1:\d+ TLS handshake: .*unknown ca/);
        const ok = await httpsGet(`https://localhost:${server.port}/`);
        assert.equal(ok.body.toString(), 'hello world');
    });

    test("Node's https client and http-server: hello world, and a 4 MiB file intact", async () => {
        const big = crypto.randomBytes(4 << 20);
        fs.mkdirSync(file('www'), { recursive: true });
        fs.writeFileSync(file('www/big.bin'), big);
        const server = await startServer('http-server', ['--static', file('www'), ...serverTls()]);
        const agent = new https.Agent({ keepAlive: true, ca: ca() });
        const hello = await httpsGet(`https://127.0.0.1:${server.port}/missing`, { agent });
        assert.equal(hello.status, 404);
        const r = await httpsGet(`https://localhost:${server.port}/big.bin`, { agent });
        assert.equal(r.status, 200);
        assert.ok(r.body.equals(big), 'the body arrived intact');
        agent.destroy();
    });

    test("http-client --cacert against Node's https server: GET, and a 3 MiB POST echoed back", async () => {
        const server = await nodeHttpsServer((req, res) => {
            res.setHeader('Content-Type', 'application/octet-stream');
            req.pipe(res);
        });
        try {
            const port = server.address().port;
            const body = crypto.randomBytes(3 << 20);
            fs.writeFileSync(file('body.bin'), body);
            let r = await run('http-client', ['--cacert', file('ca.pem'), `https://localhost:${port}/`]);
            assert.equal(r.code, 0, r.stderr);
            r = await run('http-client', ['--cacert', file('ca.pem'), '--data-file', file('body.bin'),
                                          '-o', file('echoed.bin'), `https://127.0.0.1:${port}/`]);
            assert.equal(r.code, 0, r.stderr);
            assert.ok(fs.readFileSync(file('echoed.bin')).equals(body), 'the echo is the body');
        } finally {
            server.closeAllConnections();
            server.close();
        }
    });

    test('http-client sends SNI for a name, none for an address (RFC 6066)', async () => {
        const names = [];
        const server = await nodeHttpsServer((req, res) => {
            names.push(req.socket.servername);
            res.end('ok');
        });
        try {
            const port = server.address().port;
            for (const host of ['localhost', '127.0.0.1']) {
                const r = await run('http-client', ['--cacert', file('ca.pem'), `https://${host}:${port}/`]);
                assert.equal(r.code, 0, r.stderr);
            }
            assert.deepEqual(names, ['localhost', false]);
        } finally {
            server.closeAllConnections();
            server.close();
        }
    });

    test('http-client --keep-alive reuses TLS connections: 12 requests, 2 handshakes', async () => {
        const server = await startServer('http-server', serverTls());
        const r = await run('http-client', ['--cacert', file('ca.pem'), '--repeat', '12', '--parallel', '2',
                                            '--keep-alive', `https://localhost:${server.port}/`]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^12 requests, 2 connections opened, 10 reused$/m);
    });

    test('http-client refuses a certificate for another host name (exit 1, one line)', async () => {
        const server = await startServer('http-server', serverTls('wrong.pem'));
        const r = await run('http-client', ['--cacert', file('ca.pem'), `https://localhost:${server.port}/`]);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /^http-client: connect localhost:\d+: TLS handshake: certificate verify failed: hostname mismatch\n$/i);
        // The address is checked too: 127.0.0.1 is not in wrong.pem.
        const byIp = await run('http-client', ['--cacert', file('ca.pem'), `https://127.0.0.1:${server.port}/`]);
        assert.equal(byIp.code, 1);
        assert.match(byIp.stderr, /IP address mismatch/i);
    });

    test('http-client refuses an untrusted certificate; --insecure connects with a warning', async () => {
        const server = await startServer('http-server', serverTls('self.pem', 'self.key'));
        const url = `https://localhost:${server.port}/`;
        let r = await run('http-client', ['--cacert', file('ca.pem'), url]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /certificate verify failed: self.signed certificate/i);
        r = await run('http-client', [url]); // the system's store does not know it either
        assert.equal(r.code, 1);
        assert.match(r.stderr, /certificate verify failed/);
        r = await run('http-client', ['--insecure', url]);
        assert.equal(r.code, 0);
        assert.equal(r.stdout, 'hello world');
        assert.match(r.stderr, /warning: --insecure: the server's certificate is not checked/);
    });

    test('plain HTTP and a broken handshake on the TLS port drop those connections only', async () => {
        const server = await startServer('http-server', ['-v', ...serverTls()]);
        const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ca() });
        const first = await httpsGet(`https://localhost:${server.port}/`, { agent });
        const plain = await tcpConnect(server.port);
        await plain.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
        await plain.waitClose();
        const junk = await tcpConnect(server.port);
        await junk.write(Buffer.from('16030100050100000100', 'hex')); // a ClientHello cut short
        await junk.write(crypto.randomBytes(64));
        await junk.waitClose();
        await server.waitForStderr(/TLS handshake: http request/);
        const again = await httpsGet(`https://localhost:${server.port}/`, { agent });
        assert.equal(again.body.toString(), 'hello world');
        assert.equal(again.socket, first.socket, 'the open connection carried on');
        agent.destroy();
        assert.equal(server.status, null, 'the server is still running');
    });

    test('--keylog writes the key log format: the lines Node\'s client logs for the same connection', async () => {
        const keylog = file('server-keys.log');
        const server = await startServer('http-server', [...serverTls(), '--keylog', keylog]);
        const nodeLines = [];
        const socket = tls.connect({ port: server.port, host: '127.0.0.1', servername: 'localhost', ca: ca() });
        socket.on('keylog', (line) => nodeLines.push(line.toString().trim()));
        await withTimeout(new Promise((resolve, reject) => {
            socket.once('secureConnect', resolve);
            socket.once('error', reject);
        }), 5000, 'no handshake');
        socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
        await withTimeout(new Promise((resolve) => socket.on('end', resolve).resume()), 5000, 'no answer');
        const ours = await waitFor(() => {
            const text = fs.existsSync(keylog) ? fs.readFileSync(keylog, 'utf8') : '';
            const lines = text.split('\n').filter(Boolean);
            return lines.length >= 5 && lines;
        }, 5000, 'five key log lines');
        for (const line of ours)
            assert.match(line, /^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0|EXPORTER_SECRET) [0-9a-f]{64} [0-9a-f]{64,96}$/);
        assert.deepEqual([...ours].sort(), [...nodeLines].sort());
    });

    test('clients log keys too: http-client --keylog, ws-client with SSLKEYLOGFILE', async () => {
        const server = await startServer('ws-echo', serverTls());
        const viaOption = file('client-keys.log');
        let r = await run('http-client', ['--cacert', file('ca.pem'), '--keylog', viaOption,
                                          `https://localhost:${server.port}/`]);
        assert.equal(r.code, 0, r.stderr);
        const viaEnv = file('env-keys.log');
        r = await run('ws-client', ['--cacert', file('ca.pem'), '--execute', 'x', `wss://localhost:${server.port}/`],
                      { env: { ...process.env, SSLKEYLOGFILE: viaEnv } });
        assert.equal(r.code, 0, r.stderr);
        for (const log of [viaOption, viaEnv]) {
            const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
            assert.equal(lines.length, 5, `${path.basename(log)}: the five TLS 1.3 secrets`);
            assert.ok(lines.every((l) => /^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+$/.test(l)));
        }
    });

    test('ws-echo over wss: Node\'s ws client gets its messages back, 1 MiB too', async () => {
        const server = await startServer('ws-echo', serverTls());
        const ws = await wsOpen(`wss://localhost:${server.port}/`);
        ws.send('hello over TLS');
        const big = 'x'.repeat(1 << 20);
        ws.send(big);
        await waitFor(() => ws.messages.length === 2, 10000, 'two echoes');
        assert.equal(ws.messages[0], 'hello over TLS');
        assert.equal(ws.messages[1], big);
        ws.close();
    });

    test('ws-echo --legacy over wss: the old draft\'s Location says wss://', async () => {
        const server = await startServer('ws-echo', ['--legacy', ...serverTls()]);
        const r = await run('ws-client', ['--legacy', '--cacert', file('ca.pem'), '-v', '--execute', 'old and secure',
                                          `wss://localhost:${server.port}/`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'old and secure\n');
        assert.match(r.stderr, new RegExp(`Sec-WebSocket-Location: wss://localhost:${server.port}/`));
    });

    test('ws-chat over wss: the page over https, two Node ws members chat', async () => {
        const server = await startServer('ws-chat', serverTls());
        const page = await httpsGet(`https://localhost:${server.port}/`);
        assert.match(page.body.toString(), /location\.protocol === 'https:' \? 'wss:\/\/'/);
        const a = await wsOpen(`wss://localhost:${server.port}/`);
        const b = await wsOpen(`wss://127.0.0.1:${server.port}/`);
        a.send('hi b');
        await waitFor(() => b.messages.some((m) => m.includes('user1 says: hi b')), 5000, 'b hears a');
        a.close();
        b.close();
    });

    test("ws-client wss:// against Node's ws server on https", async () => {
        const WebSocket = require('ws');
        const server = await nodeHttpsServer((req, res) => res.end());
        const wss = new WebSocket.Server({ server });
        wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`node got ${m}`)));
        try {
            const port = server.address().port;
            let r = await run('ws-client', ['--cacert', file('ca.pem'), '--execute', 'one', '--execute', 'two',
                                            `wss://localhost:${port}/`]);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout, 'node got one\nnode got two\n');
            r = await run('ws-client', ['--execute', 'one', `wss://localhost:${port}/`]);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /certificate verify failed/);
        } finally {
            wss.close();
            server.closeAllConnections();
            server.close();
        }
    });

    test('http-push serves its pages and its WebSocket over https/wss', async () => {
        const server = await startServer('http-push', serverTls());
        const page = await httpsGet(`https://localhost:${server.port}/`);
        assert.equal(page.status, 200);
        const ws = await wsOpen(`wss://localhost:${server.port}/clock/ws`);
        await waitFor(() => ws.messages.length > 0, 5000, 'a clock message');
        ws.close();
    });

    test('--version names the TLS library', async () => {
        const r = await run('http-server', ['--version']);
        assert.match(r.stdout, /^http-server \(wirelab\) .*\nTLS: OpenSSL \d/);
    });

    test('bad TLS options are usage errors (exit 2)', async () => {
        let r = await run('http-server', ['-p', '0', '--tls-cert', file('good.pem')]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /--tls-cert and --tls-key go together/);
        r = await run('http-server', ['-p', '0', '--tls-cert', file('missing.pem'), '--tls-key', file('key.pem')]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /--tls-cert .*missing\.pem/);
        r = await run('ws-echo', ['-p', '0', '--tls-cert', file('good.pem'), '--tls-key', file('self.key')]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /key/);
        r = await run('http-client', ['--cacert', file('missing.pem'), `https://localhost:${await unusedPort()}/`]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /--cacert .*missing\.pem/);
    });
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
