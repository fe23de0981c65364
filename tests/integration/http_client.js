// requires: node
// timeout: 180
'use strict';
/*
 * http-client against Node's own http server (and a few raw TCP servers that answer the way
 * old or odd servers do). Each test starts its server on 127.0.0.1 port 0, runs the client to
 * completion, and checks exact bytes: what the server received and what the client printed.
 */
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { test, run, spawnProgram, unusedPort, hasIPv6, sleep, assert, tlsBuild } = require('../lib/harness');

const servers = new Set();

/* A Node http server on loopback that counts its TCP connections and records every request
 * (method, url, headers, body). handler(req, res, body) answers; it runs once the body is in. */
async function httpServer(handler) {
    const rec = { connections: 0, requests: [], open: 0, maxOpen: 0 };
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (d) => chunks.push(d));
        req.on('end', () => {
            const body = Buffer.concat(chunks);
            rec.requests.push({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body });
            handler(req, res, body);
        });
    });
    server.on('connection', (socket) => {
        rec.connections++;
        rec.open++;
        rec.maxOpen = Math.max(rec.maxOpen, rec.open);
        socket.on('close', () => rec.open--);
    });
    return listen(server, rec);
}

/* A raw TCP server: onConnection(socket) does whatever the test needs. */
function rawServer(onConnection) {
    const rec = { connections: 0 };
    const server = net.createServer((socket) => {
        rec.connections++;
        socket.on('error', () => {});
        onConnection(socket);
    });
    return listen(server, rec);
}

function listen(server, rec, host = '127.0.0.1') {
    servers.add(server);
    // Every socket is destroyed at the end of the test: a raw socket that nobody reads never
    // sees the client's FIN, and would keep server.close() waiting.
    server.sockets = new Set();
    server.on('connection', (socket) => {
        server.sockets.add(socket);
        socket.on('close', () => server.sockets.delete(socket));
    });
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => {
            rec.server = server;
            rec.port = server.address().port;
            const h = host.includes(':') ? `[${host}]` : host;
            rec.url = (p = '/') => `http://${h}:${rec.port}${p}`;
            resolve(rec);
        });
    });
}

async function closeServers() {
    for (const s of servers) {
        for (const socket of s.sockets)
            socket.destroy();
        await new Promise((resolve) => s.close(() => resolve()));
    }
    servers.clear();
}

/* Runs one test body, then closes its servers whatever happened. */
function serverTest(name, fn, opts) {
    test(name, async (t) => {
        try {
            await fn(t);
        } finally {
            await closeServers();
        }
    }, opts);
}

/* Reads an HTTP/1.x request head from a raw socket; resolves with {head, rest}. */
function readHead(socket) {
    return new Promise((resolve) => {
        let buf = Buffer.alloc(0);
        const onData = (d) => {
            buf = Buffer.concat([buf, d]);
            const at = buf.indexOf('\r\n\r\n');
            if (at >= 0) {
                socket.removeListener('data', onData);
                resolve({ head: buf.subarray(0, at + 4).toString('latin1'), rest: buf.subarray(at + 4) });
            }
        };
        socket.on('data', onData);
    });
}

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

// ---------------------------------------------------------------------------------------------
// One request, bodies both ways

serverTest('GET: the body reaches stdout byte for byte', async () => {
    const body = Buffer.concat([allBytes, Buffer.from('\r\n\0end'), allBytes]);
    const srv = await httpServer((req, res) => res.end(body));
    const r = await run('http-client', [srv.url('/bytes?x=1')], { encoding: 'buffer' });
    assert.equal(r.code, 0, r.stderr.toString());
    assert.deepEqual(r.stdout, body);
    assert.equal(srv.requests.length, 1);
    const q = srv.requests[0];
    assert.equal(q.method, 'GET');
    assert.equal(q.url, '/bytes?x=1');
    assert.equal(q.headers.host, `127.0.0.1:${srv.port}`);
    assert.equal(q.headers.connection, 'close');
    assert.equal(q.headers['content-length'], undefined);
    assert.equal(q.headers['transfer-encoding'], undefined);
});

serverTest('POST -d: Content-Length and the body as sent', async () => {
    const srv = await httpServer((req, res) => res.end('ok'));
    const r = await run('http-client', ['-d', 'name=wirelab', '-d', 'x=1 2', srv.url('/form')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ok');
    const q = srv.requests[0];
    assert.equal(q.method, 'POST');
    assert.equal(q.headers['content-length'], '18');
    assert.equal(q.headers['transfer-encoding'], undefined);
    assert.equal(q.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(q.body.toString(), 'name=wirelab&x=1 2');
});

serverTest('--data-file FILE: the whole file with Content-Length', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-')), 'body.bin');
    const data = Buffer.concat(Array.from({ length: 300 }, () => allBytes)); // 76800 bytes
    fs.writeFileSync(file, data);
    const srv = await httpServer((req, res) => res.end(String(req.headers['content-length'])));
    const r = await run('http-client', ['-X', 'PUT', '--data-file', file, srv.url('/f')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '76800');
    assert.equal(srv.requests[0].method, 'PUT');
    assert.deepEqual(srv.requests[0].body, data);
    fs.rmSync(path.dirname(file), { recursive: true });
});

serverTest('--data-file -: stdin streamed as a chunked body', async () => {
    const data = Buffer.concat(Array.from({ length: 1200 }, (_, i) => Buffer.from(`line ${i} `.repeat(20) + '\n')));
    const srv = await httpServer((req, res) => res.end(`got ${req.headers['transfer-encoding']}`));
    const r = await run('http-client', ['--data-file', '-', srv.url('/up')], { input: data });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'got chunked');
    const q = srv.requests[0];
    assert.equal(q.method, 'POST');
    assert.equal(q.headers['content-length'], undefined);
    assert.ok(data.length > 200000);
    assert.equal(q.body.length, data.length);
    assert.deepEqual(q.body, data);
});

serverTest('--data-file - with an empty stdin: the body is known at once, Content-Length: 0', async () => {
    // stdin ends before anything was written, so the whole body is known when the head goes.
    const srv = await httpServer((req, res) => res.end(`${req.headers['transfer-encoding']}/${req.headers['content-length']}`));
    const r = await run('http-client', ['--data-file', '-', srv.url('/')], { input: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'undefined/0');
    assert.equal(srv.requests[0].body.length, 0);
});

serverTest('-u sends Basic credentials, the URL\'s user info too', async () => {
    const srv = await httpServer((req, res) => res.end(req.headers.authorization));
    let r = await run('http-client', ['-u', 'Aladdin:open sesame', srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    r = await run('http-client', [`http://me%40home:p%3Ass@127.0.0.1:${srv.port}/`]);
    assert.equal(r.stdout, 'Basic ' + Buffer.from('me@home:p:ss').toString('base64'));
});

serverTest('-H adds headers in order, replaces and removes defaults', async () => {
    const srv = await httpServer((req, res) => res.end(JSON.stringify(req.rawHeaders)));
    const r = await run('http-client', ['-H', 'X-One: a: b', '-H', 'Accept:', '-H', 'User-Agent: mine',
                                        '-H', 'X-Empty;', srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [
        'Host', `127.0.0.1:${srv.port}`, 'X-One', 'a: b', 'User-Agent', 'mine', 'X-Empty', '',
        'Connection', 'close',
    ]);
});

serverTest('a header value with CR LF is refused, not sent (exit 2)', async () => {
    const srv = await httpServer((req, res) => res.end('x'));
    const r = await run('http-client', ['-H', 'X-Evil: a\r\nInjected: 1', srv.url('/')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^http-client: header 'X-Evil': .*control/);
    assert.equal(srv.connections, 0);
});

// ---------------------------------------------------------------------------------------------
// Response framing

serverTest('a chunked response (res.write twice) is de-chunked', async () => {
    const srv = await httpServer((req, res) => {
        res.write('hello ');
        setTimeout(() => res.end('world'), 50);
    });
    const r = await run('http-client', ['-i', srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(r.stdout, /\r\nTransfer-Encoding: chunked\r\n/);
    assert.ok(r.stdout.endsWith('\r\n\r\nhello world'), JSON.stringify(r.stdout));
});

serverTest('an HTTP/1.0 response without a length lasts until the server closes', async () => {
    const srv = await rawServer(async (socket) => {
        await readHead(socket);
        socket.write('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst ');
        await sleep(50);
        socket.write('second ');
        await sleep(50);
        socket.end('last');
    });
    const r = await run('http-client', [srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'first second last');
});

serverTest('a head split into single bytes, with the body in the last piece', async () => {
    const response = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Split: yes\r\n\r\nhello';
    const srv = await rawServer(async (socket) => {
        await readHead(socket);
        for (let i = 0; i < response.length - 5; i++) {
            socket.write(response[i]);
            await sleep(2);
        }
        socket.write('hello');
    });
    const r = await run('http-client', ['-i', srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Split: yes\r\n\r\nhello');
});

serverTest('interim 1xx heads in the same read as the final response are skipped', async () => {
    const srv = await rawServer(async (socket) => {
        await readHead(socket);
        socket.end('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n' +
                   'HTTP/1.1 100 Continue\r\n\r\n' +
                   'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody');
    });
    const r = await run('http-client', ['-v', '-i', srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody');
    assert.match(r.stderr, /^< HTTP\/1\.1 103 Early Hints$/m);
    assert.match(r.stderr, /^< HTTP\/1\.1 100 Continue$/m);
});

serverTest('HEAD: a Content-Length without a body does not make the client wait', async () => {
    const srv = await httpServer((req, res) => {
        res.setHeader('Content-Length', '1000');
        res.end();
    });
    const r = await run('http-client', ['-X', 'HEAD', '-i', srv.url('/')], { timeout: 3000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: 1000\r\n[^]*\r\n\r\n$/);
});

serverTest('a response that is not HTTP is a protocol error (exit 1)', async () => {
    const srv = await rawServer(async (socket) => {
        await readHead(socket);
        socket.end('SSH-2.0-OpenSSH\r\n\r\n');
    });
    const r = await run('http-client', [srv.url('/')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^http-client: 127\\.0\\.0\\.1:${srv.port}: bad response: .+\\n$`));
});

serverTest('a response cut short is an error (exit 1)', async () => {
    const srv = await rawServer(async (socket) => {
        await readHead(socket);
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    });
    const r = await run('http-client', [srv.url('/')]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'abc');
    assert.equal(r.stderr, `http-client: 127.0.0.1:${srv.port}: connection closed before the end of the response\n`);
});

serverTest('--node prints status: and headers: as the document\'s corrected client', async () => {
    const srv = await httpServer((req, res) => {
        res.writeHead(200, [['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b="2"'],
                            ['X-Dup', 'x'], ['X-Dup', 'y'], ['Content-Length', '11']]);
        res.end('hello world');
    });
    const r = await run('http-client', ['--node', srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'status: 200');
    assert.match(lines[1], /^headers: \{/);
    const headers = JSON.parse(lines[1].slice('headers: '.length));
    assert.equal(headers['content-type'], 'text/plain');
    assert.deepEqual(headers['set-cookie'], ['a=1', 'b="2"']);
    assert.equal(headers['x-dup'], 'x, y');
    assert.equal(headers['content-length'], '11');
    assert.equal(lines.slice(2).join('\n'), 'hello world');
});

serverTest('-o writes the body to a file', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-')), 'out.bin');
    const srv = await httpServer((req, res) => res.end(allBytes));
    const r = await run('http-client', ['-o', out, srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(fs.readFileSync(out), allBytes);
    fs.rmSync(path.dirname(out), { recursive: true });
});

serverTest('a 404 is still a response: exit 0, as curl', async () => {
    const srv = await httpServer((req, res) => {
        res.statusCode = 404;
        res.end('not here');
    });
    const r = await run('http-client', [srv.url('/nope')]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'not here');
});

// ---------------------------------------------------------------------------------------------
// Expect: 100-continue

serverTest('--expect-continue: the body follows the server\'s 100 Continue', async () => {
    const srv = await httpServer((req, res, body) => res.end(`got ${body.length}`));
    let expected = null;
    srv.server.on('checkContinue', (req, res) => {
        expected = req.headers.expect;
        res.writeContinue();
        srv.server.emit('request', req, res);
    });
    const r = await run('http-client', ['-v', '--expect-continue', '-d', 'payload!', srv.url('/up')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'got 8');
    assert.equal(expected, '100-continue');
    assert.equal(srv.requests[0].body.toString(), 'payload!');
    assert.match(r.stderr, /^> Expect: 100-continue$/m);
    assert.match(r.stderr, /^< HTTP\/1\.1 100 Continue$/m);
    assert.ok(r.ms < 900, `took ${r.ms} ms: it waited for the timeout instead of the 100`);
});

serverTest('--expect-continue: a 417 instead of 100 and the body is never sent', async () => {
    let received = 0;
    let sockets = 0;
    const server = http.createServer(() => {});
    server.on('connection', (socket) => {
        sockets++;
        socket.on('data', (d) => { received += d.length; });
    });
    server.on('checkContinue', (req, res) => {
        res.writeHead(417, { 'Content-Type': 'text/plain' });
        res.end('too big');
    });
    const srv = await listen(server, {});
    const r = await run('http-client', ['--expect-continue', '-d', 'x'.repeat(5000), srv.url('/up')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'too big');
    await sleep(200);
    assert.equal(sockets, 1);
    assert.ok(received < 1000, `the server received ${received} bytes: the body was sent`);
});

serverTest('--expect-continue: a server that never says 100 gets the body after ~1 s', async () => {
    let head = null;
    const srv = await rawServer(async (socket) => {
        const got = await readHead(socket);
        head = got.head;
        let body = got.rest;
        const started = Date.now();
        socket.on('data', (d) => {
            body = Buffer.concat([body, d]);
            if (body.length === 4) {
                const text = `body after ${Date.now() - started}ms`;
                socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
            }
        });
    });
    const r = await run('http-client', ['--expect-continue', '-d', 'data', srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(head, /\r\nExpect: 100-continue\r\n/);
    const m = /^body after (\d+)ms$/.exec(r.stdout);
    assert.ok(m, JSON.stringify(r.stdout));
    assert.ok(Number(m[1]) >= 900 && Number(m[1]) < 3000, `body came after ${m[1]} ms`);
});

// ---------------------------------------------------------------------------------------------
// The agent

serverTest('--keep-alive --max-sockets 2: 20 requests over exactly 2 connections', async () => {
    const srv = await httpServer((req, res) => setTimeout(() => res.end(`r${req.url}`), 5));
    const r = await run('http-client', ['--repeat', '20', '--parallel', '4', '--keep-alive', '--max-sockets', '2',
                                        srv.url('/n/{n}')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 21);
    assert.equal(lines[20], '20 requests, 2 connections opened, 18 reused');
    assert.equal(srv.connections, 2);
    assert.equal(srv.maxOpen, 2);
    assert.equal(srv.requests.length, 20);
    for (const q of srv.requests)
        assert.equal(q.headers.connection, 'keep-alive');
    assert.deepEqual(srv.requests.map((q) => q.url).sort(), Array.from({ length: 20 }, (_, i) => `/n/${i + 1}`).sort());
    assert.equal(lines.filter((l) => / \(new\)$/.test(l)).length, 2);
    assert.equal(lines.filter((l) => / \(reused\)$/.test(l)).length, 18);
    for (let i = 1; i <= 20; i++)
        assert.ok(lines.some((l) => new RegExp(`^request ${i}: 200 OK, ${`r/n/${i}`.length} bytes, connection #\\d+ \\((new|reused)\\)$`).test(l)),
                  `no line for request ${i}`);
});

serverTest('without --keep-alive each request has its own connection (Connection: close)', async () => {
    const srv = await httpServer((req, res) => res.end('x'));
    const r = await run('http-client', ['--repeat', '20', '--parallel', '4', '--max-sockets', '2', srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').pop(), '20 requests, 20 connections opened, 0 reused');
    assert.equal(srv.connections, 20);
    assert.ok(srv.maxOpen <= 2, `${srv.maxOpen} connections open at once`);
    for (const q of srv.requests)
        assert.equal(q.headers.connection, 'close');
});

serverTest('--keep-alive, but the server says Connection: close: no reuse', async () => {
    const srv = await httpServer((req, res) => {
        res.setHeader('Connection', 'close');
        res.end('bye');
    });
    const r = await run('http-client', ['--repeat', '5', '--keep-alive', srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').pop(), '5 requests, 5 connections opened, 0 reused');
    assert.equal(srv.connections, 5);
});

serverTest('queued requests go out in the order they were made', async () => {
    const srv = await httpServer((req, res) => setTimeout(() => res.end(req.url), 10));
    const r = await run('http-client', ['--repeat', '8', '--parallel', '8', '--keep-alive', '--max-sockets', '1',
                                        srv.url('/q/{n}')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(srv.requests.map((q) => q.url), ['/q/1', '/q/2', '/q/3', '/q/4', '/q/5', '/q/6', '/q/7', '/q/8']);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 8).map((l) => l.split(':')[0]),
                     ['request 1', 'request 2', 'request 3', 'request 4', 'request 5', 'request 6', 'request 7', 'request 8']);
    assert.equal(lines[8], '8 requests, 1 connections opened, 7 reused');
    assert.equal(srv.connections, 1);
});

/* A server that drops a kept-alive connection when a second request arrives on it, as a server
 * does when its keep-alive timeout fires just as the client reuses the connection. */
async function droppingServer() {
    const perSocket = new WeakMap();
    return httpServer((req, res) => {
        const n = (perSocket.get(req.socket) || 0) + 1;
        perSocket.set(req.socket, n);
        if (n > 1)
            req.socket.destroy();
        else
            res.end(`first on its connection: ${req.url}`);
    });
}

serverTest('an idempotent GET that fails on a reused connection is retried on a new one', async () => {
    const srv = await droppingServer();
    const r = await run('http-client', ['--repeat', '2', '--keep-alive', '--max-sockets', '1', srv.url('/g/{n}')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^request 1: 200 OK, 29 bytes, connection #\d+ \(new\)$/);
    assert.match(lines[1], /^request 2: 200 OK, 29 bytes, connection #\d+ \(new\)$/);
    assert.equal(lines[2], '2 requests, 2 connections opened, 1 reused, 1 retried');
    assert.equal(srv.connections, 2);
    assert.deepEqual(srv.requests.map((q) => q.url), ['/g/1', '/g/2', '/g/2']);
});

serverTest('a POST that fails on a reused connection is not retried', async () => {
    const srv = await droppingServer();
    const r = await run('http-client', ['--repeat', '2', '--keep-alive', '-d', 'once', srv.url('/p')]);
    assert.equal(r.code, 1);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^request 1: 200 OK/);
    assert.equal(lines[1], 'request 2: failed');
    assert.match(r.stderr, new RegExp(`^http-client: 127\\.0\\.0\\.1:${srv.port}: (connection closed before any response|Connection reset by peer)\\n$`));
    assert.equal(srv.connections, 1);
});

serverTest('an idle pooled connection the server closes leaves the pool', async () => {
    // The server says keep-alive, then closes the connection once the response is out, as
    // its keep-alive timeout would (Node's own timer is too coarse to use here).
    const srv = await httpServer((req, res) => res.end('ok', () => req.socket.end()));
    const r = await run('http-client', ['-v', '--repeat', '2', '--keep-alive', '--delay', '300', srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').pop(), '2 requests, 2 connections opened, 0 reused');
    assert.match(r.stderr, / #\d+ pool 127\.0\.0\.1:\d+ closed by the server while idle: dropped$/m);
    assert.equal(srv.connections, 2);
});

serverTest('--free-socket-timeout closes our idle connections first', async () => {
    const srv = await httpServer((req, res) => res.end('ok'));
    const r = await run('http-client', ['--repeat', '2', '--keep-alive', '--delay', '300', '--free-socket-timeout', '100',
                                        srv.url('/')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').pop(), '2 requests, 2 connections opened, 0 reused');
    const r2 = await run('http-client', ['--repeat', '2', '--keep-alive', '--delay', '100', '--free-socket-timeout', '2000',
                                         srv.url('/')]);
    assert.equal(r2.stdout.trimEnd().split('\n').pop(), '2 requests, 1 connections opened, 1 reused');
});

serverTest('--max-sochets (the document\'s typo) is a usage error, not silently ignored', async () => {
    const r = await run('http-client', ['--max-sochets', '10', 'http://127.0.0.1:9/']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /max-sochets/);
});

// ---------------------------------------------------------------------------------------------
// Failures, usage, tracing

test('connection refused: exit 1 and one line', async () => {
    const port = await unusedPort();
    const r = await run('http-client', [`http://127.0.0.1:${port}/`]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `http-client: connect 127.0.0.1:${port}: Connection refused\n`);
});

serverTest('--timeout: a server that never answers (exit 1)', async () => {
    const srv = await rawServer(() => {});
    const r = await run('http-client', ['--timeout', '300', srv.url('/')]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `http-client: 127.0.0.1:${srv.port}: timed out: nothing for 300 ms\n`);
});

test('usage errors exit 2: no URL, bad URL, https', async () => {
    let r = await run('http-client', []);
    assert.equal(r.code, 2);
    r = await run('http-client', ['http://127.0.0.1:99999/']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad port/);
    r = await run('http-client', ['ftp://127.0.0.1/']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unsupported scheme/);
    r = await run('http-client', [`https://127.0.0.1:${await unusedPort()}/`]);
    if (tlsBuild) { // tls.js has the https tests
        assert.equal(r.code, 1);
        assert.match(r.stderr, /Connection refused/);
    } else {
        assert.equal(r.code, 2);
        assert.match(r.stderr, /this build has no TLS/);
    }
});

serverTest('-v shows the request head with "> " and the response head with "< "', async () => {
    const srv = await httpServer((req, res) => {
        res.setHeader('Content-Type', 'text/plain');
        res.end('hello world');
    });
    const r = await run('http-client', ['-v', srv.url('/')]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'hello world');
    const lines = r.stderr.split('\n');
    const req = lines.indexOf('> GET / HTTP/1.1');
    assert.ok(req >= 0, r.stderr);
    assert.equal(lines[req + 1], `> Host: 127.0.0.1:${srv.port}`);
    const resp = lines.indexOf('< HTTP/1.1 200 OK');
    assert.ok(resp > req, r.stderr);
    assert.ok(lines.includes('< Content-Type: text/plain'));
    assert.ok(lines.includes('< '), 'the empty line that ends the response head');
    assert.match(r.stderr, / #\d+ connect 127\.0\.0\.1:\d+/);
});

test('IPv6: http://[::1]:port/ and Host: [::1]:port', async (t) => {
    if (!(await hasIPv6()))
        return t.skip('no IPv6 loopback here');
    const rec = {};
    const server = http.createServer((req, res) => res.end(req.headers.host));
    await listen(server, rec, '::1');
    try {
        const r = await run('http-client', [rec.url('/')]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `[::1]:${rec.port}`);
    } finally {
        await closeServers();
    }
});

// ---------------------------------------------------------------------------------------------
// Hand-overs: CONNECT and Upgrade

serverTest('CONNECT: a 200 hands over the connection as a tunnel (connect event)', async () => {
    const server = http.createServer((req, res) => res.end('not a tunnel'));
    let target = null;
    server.on('connect', (req, socket, head) => {
        target = req.url;
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\nwelcome\n');
        socket.on('data', (d) => socket.write(d.toString().toUpperCase()));
        socket.on('end', () => socket.end());
    });
    const srv = await listen(server, {});
    const r = await run('http-client', ['-X', 'CONNECT', '--request-target', 'example.com:443', srv.url('/')],
                        { input: 'through the tunnel\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(target, 'example.com:443');
    assert.equal(r.stdout, 'welcome\nTHROUGH THE TUNNEL\n');
});

serverTest('Upgrade: 101 Switching Protocols hands over the connection (upgrade event)', async () => {
    const server = http.createServer((req, res) => res.end('plain'));
    server.on('upgrade', (req, socket) => {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
        socket.on('data', (d) => socket.write(d));
        socket.on('end', () => socket.end());
    });
    const srv = await listen(server, {});
    const r = await run('http-client', ['-H', 'Connection: Upgrade', '-H', 'Upgrade: echo', srv.url('/')],
                        { input: 'echo me' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'echo me');
});
