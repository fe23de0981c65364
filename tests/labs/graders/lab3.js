'use strict';
/*
 * lab3.js - grades lab 3, an HTTP/1.1 static file server (docs/labs/lab3.md).
 *
 * The student writes http_static.c's path decoding and normalizing (percent_decode,
 * normalize), the MIME types, the file body sent in chunks with back-pressure (send_more) and
 * the conditional GET (parse_http_date, not_modified). Each case starts
 * `http-server --static ROOT` on loopback, port 0, over a small tree the grader writes, and
 * speaks HTTP over raw TCP, so that what is sent is exactly what the hint shows (curl and
 * Node's http would clean up "/../" before sending it).
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { gradedCase, hint, harness } = require('../lib/grader');
const { startServer, tcpConnect, sleep } = harness;

// The tree served: ROOT/www, with a secret beside it that no request may reach.
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-lab3-'));
const root = path.join(base, 'www');
const big = crypto.randomBytes(8 * 1024 * 1024 + 123);
const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const files = {
    'index.html': '<h1>home</h1>\n',
    'hello.txt': 'hello, static world\n',
    'with space.txt': 'a name with a space\n',
    'data.json': '{"ok":true}\n',
    'noext': 'no extension\n',
    'LOUD.HTML': '<p>upper case</p>\n',
    'sub/index.html': '<h1>sub</h1>\n',
    'sub/page.css': 'body { color: teal }\n',
    'sub/app.js': 'console.log(1)\n',
    'img.png': png,
    'big.bin': big,
};
for (const [name, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), data);
}
fs.writeFileSync(path.join(base, 'secret.txt'), 'the secret outside the root\n');
process.on('exit', () => fs.rmSync(base, { recursive: true, force: true }));

function server() {
    return startServer('http-server', ['--static', root]);
}

/* Reads one response from conn: {status, headers (lower-case names), body, head}. */
async function readResponse(conn, { head = false } = {}) {
    const raw = (await conn.readUntil('\r\n\r\n', 5000)).toString('latin1');
    const lines = raw.split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
        const at = l.indexOf(':');
        if (at > 0)
            headers[l.slice(0, at).trim().toLowerCase()] = l.slice(at + 1).trim();
    }
    let body = Buffer.alloc(0);
    const len = Number(headers['content-length'] || 0);
    if (!head && status !== 304 && len > 0)
        body = await conn.read(len, 20000);
    return { status, headers, body, head: raw };
}

/* One request on a new connection. */
async function get(port, target, extra = '', method = 'GET') {
    const conn = await tcpConnect(port);
    const sent = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
    await conn.write(sent);
    let res;
    try {
        res = await readResponse(conn, { head: method === 'HEAD' });
    } catch (err) {
        throw hint.make({
            why: `No whole response came back (${err.message.replace(/^conn to \S+ /, '')}). ` +
                 'A server that destroys the connection, or sends fewer body bytes than its ' +
                 'Content-Length, ends here.',
            sent,
        });
    }
    res.sent = sent;
    res.conn = conn;
    return res;
}

function expectStatus(res, status, why) {
    hint.check(res.status === status, { why, sent: res.sent, expected: `status ${status}`, got: res.head });
}

gradedCase('GET /hello.txt: 200 with the file, Content-Length and Content-Type', 10, async () => {
    const s = await server();
    const res = await get(s.port, '/hello.txt');
    expectStatus(res, 200, 'The file exists under the root.');
    hint.equal(res.body.toString(), files['hello.txt'], { sent: res.sent });
    hint.equal(res.headers['content-type'], 'text/plain; charset=utf-8', { why: 'Content-Type of a .txt', sent: res.sent });
});

gradedCase('MIME types follow the extension, in any case', 10, async () => {
    const s = await server();
    const want = {
        '/index.html': 'text/html; charset=utf-8', '/LOUD.HTML': 'text/html; charset=utf-8',
        '/sub/page.css': 'text/css; charset=utf-8', '/sub/app.js': 'text/javascript; charset=utf-8',
        '/data.json': 'application/json', '/img.png': 'image/png', '/noext': 'application/octet-stream',
    };
    for (const [target, type] of Object.entries(want)) {
        const res = await get(s.port, target);
        expectStatus(res, 200, `${target} exists.`);
        hint.equal(res.headers['content-type'], type, { why: `Content-Type of ${target}`, sent: res.sent });
    }
});

gradedCase('a directory serves its index.html', 10, async () => {
    const s = await server();
    for (const [target, body] of [['/', files['index.html']], ['/sub/', files['sub/index.html']], ['/sub', files['sub/index.html']]]) {
        const res = await get(s.port, target);
        expectStatus(res, 200, `${target} is a directory with an index.html.`);
        hint.equal(res.body.toString(), body, { sent: res.sent });
    }
});

gradedCase('escapes, dot segments and queries lead to the right file', 15, async () => {
    const s = await server();
    const want = {
        '/with%20space.txt': 'with space.txt', '/%68ello.txt': 'hello.txt', '/hello.txt?x=1&y=%zz': 'hello.txt',
        '/./sub/../hello.txt': 'hello.txt', '//sub//page.css': 'sub/page.css', '/sub%2fpage.css': 'sub/page.css',
    };
    for (const [target, file] of Object.entries(want)) {
        const res = await get(s.port, target);
        expectStatus(res, 200, `${target} names ${file}.`);
        hint.equal(res.body.toString('latin1'), Buffer.from(files[file]).toString('latin1'), { sent: res.sent });
    }
});

gradedCase('no request reaches a file outside the root; bad paths are 400', 20, async () => {
    const s = await server();
    const refused = {
        '/../secret.txt': 403, '/%2e%2e/secret.txt': 403, '/sub/..%2f..%2fsecret.txt': 403,
        '/sub/../../secret.txt': 403, '/a%00b': 400, '/%zz': 400, '/%4': 400, '/x%0aSet-Cookie:%20a=b': 400,
    };
    for (const [target, status] of Object.entries(refused)) {
        const res = await get(s.port, target);
        hint.check(!res.body.toString().includes('secret'), {
            why: 'The file outside the root was served!', sent: res.sent, got: res.head + res.body.toString(),
        });
        expectStatus(res, status, status === 403 ? "'..' must not climb above the root, escaped or not."
            : 'A broken escape or a control byte makes the path malformed.');
    }
});

gradedCase('HEAD: the GET headers without a body; the connection stays usable', 10, async () => {
    const s = await server();
    const res = await get(s.port, '/hello.txt', '', 'HEAD');
    expectStatus(res, 200, 'HEAD of an existing file.');
    hint.equal(res.headers['content-length'], String(files['hello.txt'].length), { why: 'HEAD announces the length GET would send.', sent: res.sent });
    const sent = 'GET /data.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    await res.conn.write(sent);
    const next = await readResponse(res.conn);
    hint.check(next.status === 200 && next.body.toString() === files['data.json'], {
        why: 'After a HEAD the next request on the same connection must get its own answer (no stray body bytes).',
        sent, got: next.head + next.body.toString(),
    });
});

gradedCase('an 8 MiB file to a slow reader arrives whole, then the connection serves again', 15, async () => {
    const s = await server();
    const conn = await tcpConnect(s.port);
    conn.socket.pause();
    const sent = 'GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    await conn.write(sent);
    await sleep(500);   // the server meets a full socket: it must wait for drain, not spin or drop
    conn.socket.resume();
    const res = await readResponse(conn);
    expectStatus(res, 200, 'big.bin exists.');
    hint.check(res.body.equals(big), {
        why: 'The body must be the file, byte for byte.', sent,
        expected: `${big.length} bytes, sha256 ${crypto.createHash('sha256').update(big).digest('hex').slice(0, 16)}...`,
        got: `${res.body.length} bytes, sha256 ${crypto.createHash('sha256').update(res.body).digest('hex').slice(0, 16)}...`,
    });
    await conn.write('GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const next = await readResponse(conn);
    hint.equal(next.body.toString(), files['hello.txt'], { why: 'Keep-alive: the next request on the same connection.' });
}, { timeout: 30000 });

gradedCase('If-Modified-Since: 304 when the copy is current, 200 otherwise', 10, async () => {
    const s = await server();
    const first = await get(s.port, '/hello.txt');
    const lm = first.headers['last-modified'];
    hint.check(!!lm, { why: 'Responses with a file carry Last-Modified.', got: first.head });
    const current = await get(s.port, '/hello.txt', `If-Modified-Since: ${lm}\r\n`);
    expectStatus(current, 304, 'The client holds the current copy.');
    hint.equal(current.body.length, 0, { why: 'A 304 has no body.' });
    const old = await get(s.port, '/hello.txt', 'If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n');
    expectStatus(old, 200, 'The file changed after 1994.');
    const bad = await get(s.port, '/hello.txt', 'If-Modified-Since: yesterday\r\n');
    expectStatus(bad, 200, 'A date that does not parse is ignored.');
    const future = new Date(Date.now() + 86400e3 * 30).toUTCString();
    const later = await get(s.port, '/hello.txt', `If-Modified-Since: ${future}\r\n`);
    expectStatus(later, 200, 'A date in the future proves nothing.');
    const both = await get(s.port, '/hello.txt', `If-Modified-Since: ${lm}\r\nIf-None-Match: "x"\r\n`);
    expectStatus(both, 200, 'With If-None-Match present, If-Modified-Since is ignored.');
});
