// requires: node curl
// timeout: 120
'use strict';
/*
 * http_server.js - http-server (document 000, section 三) against real peers: curl, Node's
 * `http` module, and raw `net` sockets that send exactly the bytes a test wants, however
 * wrong or however cut.
 *
 * What it proves, with exact statuses and bytes:
 *   - the tutorial's hello world: body, Content-Type, an IMF-fixdate Date, keep-alive and
 *     Content-Length; keep-alive reuse seen by curl, Node's agent and the server's -v trace;
 *     HEAD, POST, chunked uploads, Expect: 100-continue; pipelined requests answered in order,
 *     byte for byte; a request sent one byte at a time; HTTP/1.0 with and without keep-alive;
 *     a client that half-closes after its request;
 *   - every malformed request gets its status (400, 405, 413, 414, 431, 501, 505) and a
 *     closed connection, while a keep-alive client on the same server goes on being served;
 *   - slowloris (408 within the headers timeout) and the keep-alive timeout;
 *   - --static: MIME types, HEAD, 304, 404, 405, directory index, and traversal attempts
 *     (../, %2e%2e, ..%2f, %00, symbolic links out of the root, an index.html that is such a
 *     link) that never show the secret; 5 MiB byte-exact to a client that pauses;
 *   - SIGTERM: a download in flight completes while new connections are refused, exit 0;
 *     idle keep-alive connections do not delay the exit;
 *   - the main cases on both loops (--loop epoll and --loop poll); port in use (exit 1, one
 *     line) and bad option values (exit 2).
 *
 * Run it alone after `make`: node tests/integration/http_server.js
 * Against the sanitizer build: WIRELAB_BIN=$PWD/build/san/bin node tests/integration/http_server.js
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const {
    test, assert, startServer, run, runCommand, tcpConnect, sleep, waitFor, withTimeout,
} = require('../lib/harness');

const LOOPS = ['epoll', 'poll'];
const HELLO = 'hello world';
const HUGE = 64 * 1024 * 1024;
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

// ---------------------------------------------------------------------------------------------
// Helpers

const servers = [];   // every server started, for the last test

async function httpServer(args = [], loop = 'epoll') {
    const server = await startServer('http-server', ['--loop', loop, ...args]);
    servers.push(server);
    return server;
}

function sha256(data) {
    return crypto.createHash('sha256').update(data).digest('hex');
}

/* A request head as a raw client writes it: HTTP/1.1 with a Host unless told otherwise. */
function request(method, target, extra = '', version = '1.1') {
    const host = version === '1.1' ? 'Host: test\r\n' : '';
    return `${method} ${target} HTTP/${version}\r\n${host}${extra}\r\n`;
}

/*
 * Parses the response at the front of buf, strictly: a status line, "Name: value" lines, CRLF
 * everywhere, and a body framed by Content-Length (or none, for HEAD, 1xx, 204 and 304; or up
 * to the end when atEnd says the server has closed). Returns null while incomplete;
 * {status, statusLine, headers, get(name), body, raw} once complete, raw being its exact bytes.
 */
function parseResponse(buf, opts = {}) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0)
        return null;
    const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) (.*)$/.exec(lines[0]);
    assert.ok(m, `not a status line: ${JSON.stringify(lines[0])}`);
    const headers = lines.slice(1).map((line) => {
        const at = line.indexOf(': ');
        assert.ok(at > 0, `not a header line: ${JSON.stringify(line)}`);
        return [line.slice(0, at), line.slice(at + 2)];
    });
    const get = (name) => {
        const found = headers.filter(([n]) => n.toLowerCase() === name.toLowerCase());
        assert.ok(found.length <= 1, `${name} appears ${found.length} times`);
        return found.length ? found[0][1] : undefined;
    };
    const status = Number(m[1]);
    const start = end + 4;
    let stop;
    if (opts.head || status < 200 || status === 204 || status === 304)
        stop = start;
    else if (get('content-length') !== undefined)
        stop = start + Number(get('content-length'));
    else if (opts.atEnd)
        stop = buf.length;
    else
        return null;
    if (buf.length < stop)
        return null;
    return { status, statusLine: lines[0], headers, get, body: buf.subarray(start, stop), raw: buf.subarray(0, stop) };
}

/* Reads one whole response from a Conn. */
async function readResponse(conn, opts = {}, ms = 5000) {
    const bytes = await conn.readUntil((buf) => {
        const r = parseResponse(buf, opts);
        return r ? r.raw.length : null;
    }, ms);
    return parseResponse(bytes, opts);
}

/* Sends bytes on a fresh connection and returns everything up to the server's FIN. */
async function exchange(port, bytes, ms = 5000) {
    const c = await tcpConnect(port);
    await c.write(bytes);
    return c.readAll(ms);
}

/* Checks every Date line (an IMF-fixdate within a minute of now) and replaces its value, so
 * that the rest of a response can be compared byte for byte. */
function withoutDates(bytes) {
    return Buffer.from(bytes).toString('latin1').replace(/^Date: (.*)\r$/gm, (line, value) => {
        assert.match(value, IMF_FIXDATE);
        assert.ok(Math.abs(Date.parse(value) - Date.now()) < 60000, `Date ${value} is not now`);
        return 'Date: <date>\r';
    });
}

/* The hello-world response exactly as the server must send it (its Date replaced). */
function helloBytes({ keepAlive = true, body = true } = {}) {
    return 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: <date>\r\n' +
        (keepAlive ? 'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n' : 'Connection: close\r\n') +
        'Content-Length: 11\r\n\r\n' + (body ? HELLO : '');
}

/* The trace lines of one event in a server's -v output ("12:00:00.000 #1 request ..."). */
function traceEvents(server, event) {
    const re = new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} #\\d+ ${event}( |$)`);
    return server.stderrLines().filter((line) => re.test(line));
}

function curl(args, opts = {}) {
    return runCommand('curl', ['-sS', '--max-time', '10', ...args], opts);
}

/* One request with Node's http module: {status, headers, body}. */
function nodeRequest(url, opts = {}, body = undefined) {
    const done = new Promise((resolve, reject) => {
        const req = http.request(url, opts, (res) => {
            const chunks = [];
            res.on('data', (d) => chunks.push(d));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
            res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
    });
    return withTimeout(done, 5000, `${opts.method || 'GET'} ${url}: no response within 5000 ms`);
}

/*
 * Downloads url with Node's http module on a connection of its own. After the first chunk the
 * response is paused and whilePaused() runs; reading resumes when it settles. Resolves with
 * {status, headers, length, hash} of the whole body.
 */
function pausedDownload(url, whilePaused, ms = 20000) {
    const done = new Promise((resolve, reject) => {
        const req = http.get(url, { agent: false }, (res) => {
            const hash = crypto.createHash('sha256');
            let length = 0;
            let paused = false;
            res.on('data', (d) => {
                hash.update(d);
                length += d.length;
                if (paused)
                    return;
                paused = true;
                res.pause();
                Promise.resolve().then(whilePaused).then(() => res.resume(), reject);
            });
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, length, hash: hash.digest('hex') }));
            res.on('error', reject);
        });
        req.on('error', reject);
    });
    return withTimeout(done, ms, `download of ${url} not complete within ${ms} ms`);
}

/* Where the server has read an open file up to (its file offset), from /proc. */
function fileOffset(pid, file) {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        let target;
        try {
            target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch (e) {
            continue;
        }
        if (target === file)
            return Number(/^pos:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))[1]);
    }
    return null;
}

/* Resolves once connecting to port is refused. */
function waitRefused(port) {
    return waitFor(async () => {
        try {
            const c = await tcpConnect(port, '127.0.0.1', { timeout: 1000 });
            c.destroy();
            return false;
        } catch (err) {
            return /ECONNREFUSED/.test(err.message);
        }
    }, 3000, `connections to port ${port} refused`);
}

/*
 * The served tree, made once for the whole file: files of several types, a directory with an
 * index and one without, and symbolic links leading out of the root to a secret, including an
 * index.html that is such a link.
 */
function makeTree() {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-http-'));
    const root = path.join(base, 'root');
    const outside = path.join(base, 'outside');
    const secret = `top-secret-${crypto.randomBytes(8).toString('hex')}`;
    for (const dir of [root, outside, 'sub', 'noindex', 'escape'].map((d) => path.resolve(root, d)))
        fs.mkdirSync(dir, { recursive: true });
    const files = {
        'hello.txt': 'hello static\n',
        'page.html': '<!doctype html><title>page</title>\n',
        'style.css': 'body { color: black }\n',
        'data.json': '{"ok":true}\n',
        'empty.txt': '',
        'sub/index.html': '<h1>sub</h1>\n',
        'noindex/file.txt': 'no index here\n',
    };
    for (const [name, text] of Object.entries(files))
        fs.writeFileSync(path.join(root, name), text);
    const big = crypto.randomBytes(5 * 1024 * 1024);
    fs.writeFileSync(path.join(root, 'big.bin'), big);
    const medium = crypto.randomBytes(100 * 1024);
    fs.writeFileSync(path.join(root, 'medium.bin'), medium);
    // 64 MiB of zeros, sparse: more than the kernel's socket buffers could ever hold.
    fs.closeSync(fs.openSync(path.join(root, 'huge.bin'), 'w'));
    fs.truncateSync(path.join(root, 'huge.bin'), HUGE);
    fs.writeFileSync(path.join(outside, 'secret.txt'), secret);
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link-out.txt'));
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'escape', 'index.html'));
    fs.symlinkSync(outside, path.join(root, 'out-dir'));
    fs.symlinkSync('hello.txt', path.join(root, 'link-in.txt'));
    process.on('exit', () => fs.rmSync(base, { recursive: true, force: true }));
    return {
        root, secret, files, big, hugePath: path.join(root, 'huge.bin'),
        hashes: { 'big.bin': sha256(big), 'medium.bin': sha256(medium) },
    };
}

const tree = makeTree();

function staticServer(args = [], loop = 'epoll') {
    return httpServer(['--static', tree.root, ...args], loop);
}

function mtimeOf(name) {
    return fs.statSync(path.join(tree.root, name)).mtime.toUTCString();
}

// ---------------------------------------------------------------------------------------------
// The hello world, on each loop backend

for (const loop of LOOPS) {
    test(`--loop ${loop}: hello world with Content-Type, Date, keep-alive and Content-Length`, async () => {
        const server = await httpServer([], loop);
        assert.equal(server.readyLine, `http-server listening on 127.0.0.1:${server.port}`);
        const r = await curl(['-i', server.url('/')], { encoding: 'buffer' });
        assert.equal(r.code, 0, r.stderr.toString());
        const res = parseResponse(r.stdout, { atEnd: true });
        assert.equal(res.statusLine, 'HTTP/1.1 200 OK');
        assert.equal(res.body.toString(), HELLO);
        assert.equal(res.get('Content-Type'), 'text/plain');
        assert.equal(res.get('Connection'), 'keep-alive');
        assert.equal(res.get('Content-Length'), '11');
        assert.match(res.get('Date'), IMF_FIXDATE);
        assert.equal(res.raw.length, r.stdout.length, 'bytes after the response');
        // And the exact bytes, to a raw socket.
        const c = await tcpConnect(server.port);
        await c.write(request('GET', '/'));
        assert.equal(withoutDates((await readResponse(c)).raw), helloBytes());
        assert.deepEqual(await server.stop(), { code: 0, signal: null });
    });

    test(`--loop ${loop}: pipelined requests in one write come back in order, byte for byte`, async () => {
        const server = await httpServer([], loop);
        const c = await tcpConnect(server.port);
        // A HEAD between two GETs: answered out of order, or with a body, the bytes differ.
        const body = 'name=wirelab';
        await c.write(request('GET', '/one') + request('HEAD', '/two') +
                      request('POST', '/three', `Content-Length: ${body.length}\r\n`) + body +
                      request('GET', '/four', 'Connection: close\r\n'));
        const all = await c.readAll();
        assert.equal(withoutDates(all), helloBytes() + helloBytes({ body: false }) + helloBytes() +
                     helloBytes({ keepAlive: false }));
    });

    test(`--loop ${loop}: a request sent one byte at a time is answered once it is complete`, async () => {
        const server = await httpServer([], loop);
        const c = await tcpConnect(server.port);
        c.socket.setNoDelay(true);
        const bytes = request('POST', '/split', 'Content-Length: 5\r\n') + 'hello';
        for (const ch of bytes.slice(0, -1)) {
            await c.write(ch);
            await sleep(1);
        }
        await sleep(100);
        assert.equal(c.received().length, 0, 'an answer before the body was complete');
        await c.write(bytes.slice(-1));
        assert.equal(withoutDates((await readResponse(c)).raw), helloBytes());
        await sleep(100);
        assert.equal(c.received().length, 0, 'more than one response');
    });

    test(`--loop ${loop}: malformed request gets 400 and a close; others are still served`, async () => {
        const server = await httpServer([], loop);
        const keep = await tcpConnect(server.port);
        await keep.write(request('GET', '/'));
        assert.equal((await readResponse(keep)).status, 200);
        const got = parseResponse(await exchange(server.port, 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'), { atEnd: true });
        assert.equal(got.statusLine, 'HTTP/1.1 400 Bad Request');
        await keep.write(request('GET', '/'));
        assert.equal((await readResponse(keep)).status, 200);
    });
}

// ---------------------------------------------------------------------------------------------
// Keep-alive, methods, bodies

test('keep-alive: curl reuses one connection for two URLs; the trace shows one connection, two requests', async () => {
    const server = await httpServer(['-v']);
    const r = await curl(['-v', server.url('/a'), server.url('/b')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, HELLO + HELLO);
    assert.match(r.stderr, /Re-using existing connection/);
    assert.match(r.stderr, /^< Connection: keep-alive\r?$/m);
    await waitFor(() => traceEvents(server, 'request').length === 2, 3000, 'two request events');
    assert.equal(traceEvents(server, 'connection').length, 1);
    assert.deepEqual(traceEvents(server, 'request').map((l) => l.replace(/^.* request \S+ /, '')),
        ['GET /a HTTP/1.1', 'GET /b HTTP/1.1']);
    // -v prints each request as parsed.
    assert.ok(server.stderrLines().includes('< GET /a HTTP/1.1'));
    assert.ok(server.stderrLines().some((l) => /^< Host: 127\.0\.0\.1:\d+$/.test(l)));
});

test("keep-alive: Node's agent (keepAlive, maxSockets 1) sends three requests on one connection", async () => {
    const server = await httpServer(['-v']);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
        const answers = await Promise.all([1, 2, 3].map((i) => nodeRequest(server.url(`/${i}`), { agent })));
        for (const a of answers) {
            assert.equal(a.status, 200);
            assert.equal(a.body.toString(), HELLO);
            assert.equal(a.headers.connection, 'keep-alive');
        }
    } finally {
        agent.destroy();
    }
    await waitFor(() => traceEvents(server, 'request').length === 3, 3000, 'three request events');
    assert.equal(traceEvents(server, 'connection').length, 1);
});

test('HEAD: the same Content-Length, no body', async () => {
    const server = await httpServer();
    const r = await curl(['-I', server.url('/')], { encoding: 'buffer' });
    assert.equal(r.code, 0);
    const res = parseResponse(r.stdout, { head: true });
    assert.equal(res.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(res.get('Content-Length'), '11');
    assert.equal(res.raw.length, r.stdout.length, 'a body after a HEAD response');
    const node = await nodeRequest(server.url('/'), { method: 'HEAD', agent: false });
    assert.equal(node.headers['content-length'], '11');
    assert.equal(node.body.length, 0);
});

test('POST: a body with -d, and a chunked upload of a file', async () => {
    const server = await httpServer(['-v']);
    const posted = await curl(['-d', 'name=wirelab&lang=c', server.url('/form')]);
    assert.equal(posted.code, 0, posted.stderr);
    assert.equal(posted.stdout, HELLO);

    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-http-up-')), 'upload.bin');
    fs.writeFileSync(file, crypto.randomBytes(200 * 1024));
    try {
        const up = await curl(['-v', '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`,
                               server.url('/upload')]);
        assert.equal(up.code, 0, up.stderr);
        assert.equal(up.stdout, HELLO);
        assert.match(up.stderr, /^> Transfer-Encoding: chunked\r?$/m);
    } finally {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
    await waitFor(() => traceEvents(server, 'request').length === 2, 3000, 'two request events');
    assert.ok(server.stderrLines().includes('< Transfer-Encoding: chunked'));
    assert.ok(server.stderrLines().includes('< POST /form HTTP/1.1'));
});

/* A file of n bytes of x in a fresh temporary directory, removed when the file ends. */
function fillerFile(n) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-http-body-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, `body-${n}`);
    fs.writeFileSync(file, 'x'.repeat(n));
    return file;
}

test('Expect: 100-continue: 100 Continue before the body, or 413 instead of it', async () => {
    const server = await httpServer(['--max-body', '4M']);
    // curl 7.x asked for 100-continue on POSTs over 1 KiB, curl 8 does over 1 MiB: ask
    // explicitly for the small one, and let curl decide for the large one.
    const small = await curl(['-v', '-H', 'Expect: 100-continue', '--data-binary', `@${fillerFile(2000)}`,
                              server.url('/small')]);
    const large = await curl(['-v', '--data-binary', `@${fillerFile(2 * 1024 * 1024)}`, server.url('/large')]);
    for (const r of [small, large]) {
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /^> Expect: 100-continue\r?$/m);
        assert.match(r.stderr, /^< HTTP\/1\.1 100 Continue\r?$/m);
        assert.match(r.stderr, /^< HTTP\/1\.1 200 OK\r?$/m);
        assert.equal(r.stdout, HELLO);
    }
    // Over --max-body the answer is 413 at once, and the client need not send the body at all.
    const refused = await curl(['-v', '-H', 'Expect: 100-continue', '--data-binary', `@${fillerFile(5 * 1024 * 1024)}`,
                                server.url('/huge')]);
    assert.match(refused.stderr, /^< HTTP\/1\.1 413 Content Too Large\r?$/m);
    assert.doesNotMatch(refused.stderr, /100 Continue/);

    const c = await tcpConnect(server.port);
    await c.write(request('POST', '/', 'Content-Length: 5\r\nExpect: 100-continue\r\n'));
    assert.equal((await c.readUntil('\r\n\r\n')).toString(), 'HTTP/1.1 100 Continue\r\n\r\n');
    await sleep(100);
    assert.equal(c.received().length, 0, 'a final response before the body');
    await c.write('hello');
    assert.equal(withoutDates((await readResponse(c)).raw), helloBytes());
});

test('HTTP/1.0: Connection: close unless keep-alive is asked for', async () => {
    const server = await httpServer();
    // Without keep-alive: Connection: close, and the server closes.
    assert.equal(withoutDates(await exchange(server.port, request('GET', '/', '', '1.0'))),
        helloBytes({ keepAlive: false }));
    // With it: the connection stays open for another request.
    const c = await tcpConnect(server.port);
    await c.write(request('GET', '/', 'Connection: keep-alive\r\n', '1.0'));
    assert.equal(withoutDates((await readResponse(c)).raw), helloBytes());
    await sleep(200);
    assert.equal(c.ended || c.closed, false, 'closed after a keep-alive HTTP/1.0 response');
    await c.write(request('GET', '/', '', '1.0'));
    assert.equal(withoutDates(await c.readAll()), helloBytes({ keepAlive: false }));
});

test('a client that half-closes right after its requests (nc -N) still gets every response', async () => {
    const server = await httpServer();
    const c = await tcpConnect(server.port);
    await c.end(request('GET', '/1') + request('GET', '/2'));
    const all = await c.readAll();
    const first = parseResponse(all);
    const second = parseResponse(all.subarray(first.raw.length));
    assert.deepEqual([first.status, first.body.toString(), second.status, second.body.toString()],
        [200, HELLO, 200, HELLO]);
    assert.equal(first.raw.length + second.raw.length, all.length);
    assert.deepEqual(await c.waitClose(), { hadError: false });
});

// ---------------------------------------------------------------------------------------------
// Malformed requests

const BAD_REQUESTS = [
    ['a request line that is not one', 'GARBAGE\r\n\r\n', 400],
    ['a request line without a version', 'GET /\r\n\r\n', 400],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : test\r\n\r\n', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: test\r\nX-Long: one\r\n  two\r\n\r\n', 400],
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', 400],
    ['two Host fields', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['Content-Length with Transfer-Encoding',
        request('POST', '/', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n') + '0\r\n\r\n', 400],
    ['a Content-Length that is not a number', request('POST', '/', 'Content-Length: 5x\r\n') + 'hello', 400],
    ['a negative Content-Length', request('POST', '/', 'Content-Length: -1\r\n'), 400],
    ['two different Content-Lengths', request('POST', '/', 'Content-Length: 5\r\nContent-Length: 6\r\n'), 400],
    ['Transfer-Encoding: gzip', request('POST', '/', 'Transfer-Encoding: gzip\r\n'), 501],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: test\r\n\r\n', 505],
    ['a URI over 8 KiB', request('GET', `/${'a'.repeat(9000)}`), 414],
    ['a header section over 16 KiB', request('GET', '/', `X-Big: ${'b'.repeat(17000)}\r\n`), 431],
    ['a body over --max-body by Content-Length',
        request('POST', '/', 'Content-Length: 1025\r\n') + 'c'.repeat(1025), 413],
    ['a chunked body that grows past --max-body',
        request('POST', '/', 'Transfer-Encoding: chunked\r\n') + `400\r\n${'d'.repeat(1024)}\r\n1\r\ne\r\n0\r\n\r\n`, 413],
    ['a chunk size that is not hex', request('POST', '/', 'Transfer-Encoding: chunked\r\n') + 'zz\r\nhello\r\n0\r\n\r\n', 400],
    ['a NUL byte in a header', request('GET', '/', 'X-Nul: a\0b\r\n'), 400],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405],
];

test('malformed requests: the exact status and a close, while a keep-alive client is still served',
    { timeout: 30000 }, async () => {
    const server = await httpServer(['--max-body', '1K', '-v']);
    const keep = await tcpConnect(server.port);
    const served = async () => {
        await keep.write(request('GET', '/'));
        assert.equal(withoutDates((await readResponse(keep)).raw), helloBytes());
    };
    await served();
    for (const [what, bytes, status] of BAD_REQUESTS) {
        const all = await exchange(server.port, bytes);
        const res = parseResponse(all);
        assert.ok(res, `${what}: no complete response: ${JSON.stringify(all.toString('latin1'))}`);
        assert.equal(res.statusLine, `HTTP/1.1 ${status} ${http.STATUS_CODES[status].replace('Payload', 'Content')}`, what);
        assert.equal(res.get('Connection'), 'close', what);
        assert.equal(res.get('Content-Type'), 'text/plain', what);
        assert.match(res.body.toString(), /^[^\n]+\n$/, `${what}: a one-line reason`);
        assert.equal(res.raw.length, all.length, `${what}: bytes after the response`);
        await served();
    }
    // The limit itself is allowed.
    await keep.write(request('POST', '/', 'Content-Length: 1024\r\n') + 'f'.repeat(1024));
    assert.equal((await readResponse(keep)).status, 200);
    await waitFor(() => traceEvents(server, 'clientError').length === BAD_REQUESTS.length, 3000,
        'a clientError event for each');
    assert.equal(traceEvents(server, 'connection').length, BAD_REQUESTS.length + 1);
});

// ---------------------------------------------------------------------------------------------
// Timeouts

test('slowloris: half a head gets 408 and a close within the headers timeout; others are served meanwhile',
    async () => {
    const server = await httpServer(['--headers-timeout', '500']);
    const slow = await tcpConnect(server.port);
    const started = Date.now();
    await slow.write('GET / HTTP/1.1\r\nHost: test\r\nX-Slow: ');
    const got = slow.readAll(3000);
    await sleep(150);
    const r = await curl([server.url('/')]);
    assert.equal(r.stdout, HELLO);
    assert.equal(slow.received().length, 0, 'the slow client was answered early');
    const res = parseResponse(await got);
    const ms = Date.now() - started;
    assert.equal(res.statusLine, 'HTTP/1.1 408 Request Timeout');
    assert.equal(res.get('Connection'), 'close');
    assert.ok(ms >= 400 && ms <= 1500, `closed after ${ms} ms`);
});

test('--keep-alive-timeout 300: an idle connection is closed; a busy one is not', async () => {
    const server = await httpServer(['--keep-alive-timeout', '300']);
    const idle = await tcpConnect(server.port);
    const busy = await tcpConnect(server.port);
    for (const c of [idle, busy]) {
        await c.write(request('GET', '/'));
        assert.equal((await readResponse(c)).status, 200);
    }
    const started = Date.now();
    const idleEnd = idle.readAll(3000);
    for (let i = 0; i < 6; i++) {
        await sleep(120);
        await busy.write(request('GET', `/${i}`));
        assert.equal((await readResponse(busy)).status, 200);
    }
    assert.equal((await idleEnd).length, 0);
    const ms = Date.now() - started;
    assert.ok(ms >= 250 && ms <= 1500, `idle connection closed after ${ms} ms`);
    assert.equal(busy.ended || busy.closed, false, 'the busy connection was closed');
});

// ---------------------------------------------------------------------------------------------
// Static files

test('--static: files with their type and length, a directory index, HEAD, empty files', async () => {
    const server = await staticServer();
    const types = {
        'hello.txt': 'text/plain; charset=utf-8',
        'page.html': 'text/html; charset=utf-8',
        'style.css': 'text/css; charset=utf-8',
        'data.json': 'application/json',
        'empty.txt': 'text/plain; charset=utf-8',
        'link-in.txt': 'text/plain; charset=utf-8',
    };
    const c = await tcpConnect(server.port);
    for (const [name, type] of Object.entries(types)) {
        await c.write(request('GET', `/${name}`));
        const res = await readResponse(c);
        const want = tree.files[name === 'link-in.txt' ? 'hello.txt' : name];
        assert.equal(res.statusLine, 'HTTP/1.1 200 OK', name);
        assert.equal(res.get('Content-Type'), type, name);
        assert.equal(res.get('Content-Length'), String(Buffer.byteLength(want)), name);
        assert.equal(res.get('Last-Modified'), mtimeOf(name === 'link-in.txt' ? 'hello.txt' : name), name);
        assert.equal(res.body.toString(), want, name);
    }
    for (const target of ['/sub/', '/sub']) {
        await c.write(request('GET', target));
        const res = await readResponse(c);
        assert.equal(res.status, 200, target);
        assert.equal(res.get('Content-Type'), 'text/html; charset=utf-8', target);
        assert.equal(res.body.toString(), tree.files['sub/index.html'], target);
    }
    await c.write(request('HEAD', '/hello.txt'));
    const head = await readResponse(c, { head: true });
    assert.equal(head.status, 200);
    assert.equal(head.get('Content-Length'), String(tree.files['hello.txt'].length));
    await c.write(request('GET', '/hello.txt?download=1'));
    assert.equal((await readResponse(c)).body.toString(), tree.files['hello.txt']);
    await sleep(100);
    assert.equal(c.received().length, 0, 'bytes after the HEAD response');
    const r = await curl(['-I', server.url('/big.bin')]);
    assert.match(r.stdout, /^Content-Length: 5242880\r$/m);
    assert.match(r.stdout, /^Content-Type: application\/octet-stream\r$/m);
});

test('--static: 304 for If-Modified-Since, 404, 403 for a directory without index, 405 with Allow', async () => {
    const server = await staticServer();
    const c = await tcpConnect(server.port);
    const ask = async (method, target, extra = '') => {
        await c.write(request(method, target, extra));
        return readResponse(c, { head: method === 'HEAD' });
    };
    const since = mtimeOf('hello.txt');
    const notModified = await ask('GET', '/hello.txt', `If-Modified-Since: ${since}\r\n`);
    assert.equal(notModified.statusLine, 'HTTP/1.1 304 Not Modified');
    assert.equal(notModified.body.length, 0);
    assert.equal(notModified.get('Last-Modified'), since);
    const older = new Date(Date.parse(since) - 1000).toUTCString();
    assert.equal((await ask('GET', '/hello.txt', `If-Modified-Since: ${older}\r\n`)).status, 200);
    const future = new Date(Date.now() + 86400000).toUTCString();
    assert.equal((await ask('GET', '/hello.txt', `If-Modified-Since: ${future}\r\n`)).status, 200);
    assert.equal((await ask('GET', '/hello.txt', 'If-Modified-Since: yesterday\r\n')).status, 200);
    assert.equal((await ask('GET', '/hello.txt',
        `If-Modified-Since: ${since}\r\nIf-None-Match: "x"\r\n`)).status, 200);
    assert.equal((await ask('HEAD', '/hello.txt', `If-Modified-Since: ${since}\r\n`)).status, 304);

    const missing = await ask('GET', '/missing.txt');
    assert.equal(missing.statusLine, 'HTTP/1.1 404 Not Found');
    assert.equal(missing.body.toString(), 'not found\n');
    assert.equal((await ask('GET', '/noindex/')).statusLine, 'HTTP/1.1 403 Forbidden');
    assert.equal((await ask('GET', '/noindex/file.txt')).status, 200);

    const posted = await ask('POST', '/hello.txt', 'Content-Length: 3\r\n');
    await c.write('abc');
    assert.equal(posted.statusLine, 'HTTP/1.1 405 Method Not Allowed');
    assert.equal(posted.get('Allow'), 'GET, HEAD');
    // The body of the refused POST was read and dropped: the connection is still in step.
    assert.equal((await ask('GET', '/hello.txt')).body.toString(), tree.files['hello.txt']);
    const r = await curl(['-X', 'DELETE', '-w', '%{http_code}', '-o', '/dev/null', server.url('/hello.txt')]);
    assert.equal(r.stdout, '405');
});

test('--static: traversal attempts and links out of the root never show the secret', async () => {
    const server = await staticServer();
    const seen = [];
    const viaCurl = [
        ['/../outside/secret.txt', 403],
        ['/sub/../../outside/secret.txt', 403],
        ['/%2e%2e/outside/secret.txt', 403],
        ['/..%2foutside%2fsecret.txt', 403],
        ['/link-out.txt', 403],
        ['/escape/', 403],
        ['/escape/index.html', 403],
        ['/out-dir/secret.txt', 403],
        ['/hello.txt%00.html', 400],
        ['/%00', 400],
        ['/%zz', 400],
    ];
    for (const [target, status] of viaCurl) {
        const r = await curl(['--path-as-is', '-i', server.url(target)], { encoding: 'buffer' });
        seen.push(r.stdout);
        const res = parseResponse(r.stdout, { atEnd: true });
        assert.equal(res.status, status, `curl --path-as-is ${target}`);
    }
    const raw = [
        ['/../outside/secret.txt', 403],
        ['/./../outside/secret.txt', 403],
        ['/sub/%2E%2E/%2E%2E/outside/secret.txt', 403],
        ['/sub/..%2F..%2Foutside/secret.txt', 403],
        ['/.%2e/outside/secret.txt', 403],
        ['http://test/../outside/secret.txt', 403],
        ['http://test/hello.txt', 200],
        ['/link-out.txt%00', 400],
        ['/out-dir/../hello.txt', 200],
    ];
    for (const [target, status] of raw) {
        const all = await exchange(server.port, request('GET', target, 'Connection: close\r\n'));
        seen.push(all);
        assert.equal(parseResponse(all).status, status, `raw GET ${target}`);
    }
    for (const bytes of seen)
        assert.ok(!bytes.includes(tree.secret), `the secret was served: ${bytes.toString('latin1')}`);
});

test('--static: requests pipelined behind a file being sent are all answered, in order',
    { timeout: 30000 }, async () => {
    const server = await staticServer();
    const small = ['hello.txt', 'page.html', 'data.json'];
    // One request behind 100 KiB, which the kernel takes in one go: the response ends while the
    // server is still handling the read that brought both requests. Then about 24 KiB of
    // requests behind 5 MiB: they wait, unparsed, while the big response is written.
    for (const [file, count] of [['medium.bin', 1], ['big.bin', 600]]) {
        const c = await tcpConnect(server.port);
        let bytes = request('GET', `/${file}`);
        for (let i = 0; i < count; i++)
            bytes += request('GET', `/${small[i % 3]}`);
        await c.write(bytes + request('GET', '/style.css', 'Connection: close\r\n'));
        let all = await c.readAll(10000);
        const first = parseResponse(all);
        assert.ok(first, `${file}: its response is cut short (${all.length} bytes)`);
        assert.equal(sha256(first.body), tree.hashes[file]);
        all = all.subarray(first.raw.length);
        for (let i = 0; i <= count; i++) {
            const res = parseResponse(all);
            const name = i < count ? small[i % 3] : 'style.css';
            assert.ok(res, `${file}: response ${i + 2} of ${count + 2} is missing`);
            assert.equal(res.body.toString(), tree.files[name], `${file}: response ${i + 2}`);
            all = all.subarray(res.raw.length);
        }
        assert.equal(all.length, 0, 'bytes after the last response');
    }
});

test('--static: 5 MiB byte-exact to a Node client that pauses; the server waits for it',
    { timeout: 30000 }, async () => {
    const server = await staticServer();
    const got = await pausedDownload(server.url('/big.bin'), () => sleep(800));
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-length'], String(tree.big.length));
    assert.equal(got.length, tree.big.length);
    assert.equal(got.hash, tree.hashes['big.bin']);

    // Back-pressure made visible: while a client is paused, the server stops reading the file.
    // Its file offset (from /proc) stays where the socket buffers filled up; a server that read
    // on regardless would have read all 64 MiB into memory, and closed the file.
    const offsets = [];
    const huge = await pausedDownload(server.url('/huge.bin'), async () => {
        for (let i = 0; i < 2; i++) {
            await sleep(400);
            offsets.push(fileOffset(server.pid, tree.hugePath));
        }
    });
    assert.equal(huge.length, HUGE);
    assert.equal(huge.hash, sha256(Buffer.alloc(HUGE)));
    assert.ok(offsets[0] !== null && offsets[0] < HUGE / 2,
        `the server had read ${offsets[0]} of ${HUGE} bytes while its client was paused`);
    assert.equal(offsets[1], offsets[0], 'the server went on reading while its client was paused');
});

// ---------------------------------------------------------------------------------------------
// Shutdown

test('SIGTERM during a slow download: it completes, new connections are refused, exit 0',
    { timeout: 30000 }, async () => {
    const server = await staticServer();
    let killedAt = 0;
    const got = await pausedDownload(server.url('/big.bin'), async () => {
        killedAt = Date.now();
        server.kill('SIGTERM');
        await waitRefused(server.port);
        await sleep(200);
        assert.equal(server.status, null, 'the server exited with a download in flight');
    });
    assert.equal(got.length, tree.big.length);
    assert.equal(got.hash, tree.hashes['big.bin']);
    assert.deepEqual(await server.wait(5000), { code: 0, signal: null });
    assert.ok(Date.now() - killedAt < 4000, 'the exit waited for the grace period');
});

test('SIGTERM with only idle keep-alive connections: each gets a FIN, exit 0 promptly', async () => {
    const server = await httpServer();
    const clients = [];
    for (let i = 0; i < 3; i++) {
        const c = await tcpConnect(server.port);
        await c.write(request('GET', '/'));
        assert.equal((await readResponse(c)).status, 200);
        clients.push(c);
    }
    const started = Date.now();
    server.kill('SIGTERM');
    for (const c of clients) {
        assert.equal((await c.readAll(3000)).length, 0);
        assert.deepEqual(await c.waitClose(3000), { hadError: false });
    }
    assert.deepEqual(await server.wait(5000), { code: 0, signal: null });
    const ms = Date.now() - started;
    assert.ok(ms < 1500, `the server took ${ms} ms to exit`);
});

// ---------------------------------------------------------------------------------------------
// The command line

test('port in use: exit 1 with one line; bad option values: exit 2', async () => {
    const first = await httpServer();
    const inUse = await run('http-server', ['-p', String(first.port)]);
    assert.deepEqual([inUse.code, inUse.stdout, inUse.stderr],
        [1, '', `http-server: listen 127.0.0.1:${first.port}: Address already in use\n`]);

    const bad = [
        [['--max-body', 'lots'], /^http-server: --max-body: 'lots' is not a size/],
        [['--max-header-size', '-1'], /^http-server: --max-header-size: '-1' is not a size/],
        [['--headers-timeout', 'soon'], /^http-server: --headers-timeout: 'soon' is not a number/],
        [['--keep-alive-timeout', '-5'], /^http-server: --keep-alive-timeout: '-5' is not a number/],
        [['--loop', 'kqueue'], /^http-server: --loop: 'kqueue' is not a backend here/],
        [['-p', '70000'], /^http-server: --port: '70000' is not a number from 0 to 65535/],
        [['--static', path.join(tree.root, 'missing')], /^http-server: --static .*missing: No such file or directory/],
        [['--static', path.join(tree.root, 'hello.txt')], /^http-server: --static .*hello\.txt: Not a directory/],
        [['-p', '0', 'extra'], /^http-server: unexpected argument 'extra'/],
    ];
    for (const [args, message] of bad) {
        const r = await run('http-server', args);
        assert.equal(r.code, 2, args.join(' '));
        assert.equal(r.stdout, '', args.join(' '));
        assert.match(r.stderr, message);
    }
});

// Each test's servers were stopped with SIGTERM when it ended. Every one must have shut down
// by itself, with 0: one that had to be killed would also have skipped the sanitizers' exit
// checks (leaks), so a clean exit is part of "ASan reports nothing".
test('every server exited 0 on SIGTERM', async () => {
    assert.ok(servers.length > 20);
    for (const server of servers)
        assert.deepEqual(await server.wait(5000), { code: 0, signal: null }, server.args.join(' '));
});
