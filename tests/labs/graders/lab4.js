'use strict';
/*
 * lab4.js - grades lab 4, an HTTP client with a keep-alive agent (docs/labs/lab4.md).
 *
 * The student writes the agent's pool in http_client.c: which connection a request gets
 * (origin_dispatch, origin_idle_conn, origin_has_room), when a connection may carry another
 * request (conn_reusable) and how it goes back to the pool (conn_release). The grader runs
 * http-client --repeat against servers of its own on loopback, port 0, which count the TCP
 * connections they accept and the requests on each, so that reuse is seen from the server's
 * side of the wire.
 */
const http = require('node:http');
const net = require('node:net');
const { gradedCase, hint, harness } = require('../lib/grader');
const { run, sleep } = harness;

/*
 * A counting HTTP server. opts: {delay (ms before each answer), closeEvery (answer every Nth
 * request with Connection: close), idleClose (ms: the server closes idle keep-alive
 * connections after this)}. Resolves with {port, stats, close()}.
 */
function countingServer(opts = {}) {
    const stats = { connections: 0, requests: 0, open: 0, maxOpen: 0, perConn: [] };
    const server = http.createServer((req, res) => {
        stats.requests++;
        const conn = req.socket.wirelabId;
        stats.perConn[conn]++;
        const n = stats.requests;
        setTimeout(() => {
            if (opts.closeEvery && n % opts.closeEvery === 0)
                res.setHeader('Connection', 'close');
            res.end(`answer ${n} on connection ${conn + 1}\n`);
        }, opts.delay || 0);
    });
    server.on('connection', (socket) => {
        socket.wirelabId = stats.connections++;
        if (opts.idleClose) {
            // Close the connection once it has been idle idleClose ms after an answer.
            let timer = null;
            socket.on('data', () => clearTimeout(timer));
            server.on('request', (req, res) => {
                if (req.socket === socket)
                    res.on('finish', () => { timer = setTimeout(() => socket.end(), opts.idleClose); });
            });
            socket.on('close', () => clearTimeout(timer));
        }
        stats.perConn.push(0);
        stats.open++;
        stats.maxOpen = Math.max(stats.maxOpen, stats.open);
        socket.on('close', () => { stats.open--; });
    });
    return new Promise((resolve) => {
        server.listen(0, '127.0.0.1', () => resolve({
            port: server.address().port, stats,
            close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
        }));
    });
}

async function withServer(opts, fn) {
    const s = await countingServer(opts);
    try {
        return await fn(s);
    } finally {
        await s.close();
    }
}

function client(port, args) {
    return run('http-client', [...args, `http://127.0.0.1:${port}/item/{n}`], { timeout: 15000 });
}

/* Every request must have its 200. */
function expectAllAnswered(r, n, sent) {
    const ok = r.stdout.split('\n').filter((l) => /^request \d+: 200 /.test(l)).length;
    hint.check(r.code === 0 && ok === n, {
        why: `Each of the ${n} requests gets its own 200 ("request N: 200 OK, ..." lines) and the client exits 0.`,
        sent, got: `exit ${r.code}\n${r.stdout}${r.stderr}`,
    });
}

gradedCase('--keep-alive: five requests in a row share one connection', 20, async () => {
    await withServer({}, async (s) => {
        const sent = 'http-client --repeat 5 --keep-alive URL';
        const r = await client(s.port, ['--repeat', '5', '--keep-alive']);
        expectAllAnswered(r, 5, sent);
        hint.equal(s.stats.connections, 1, { why: 'The server accepted this many TCP connections: a kept-alive connection carries every request.', sent });
        hint.match(r.stdout, /^5 requests, 1 connections? opened, 4 reused$/m, { why: 'The summary line.', sent });
    });
});

gradedCase('without --keep-alive each request has a connection of its own', 10, async () => {
    await withServer({}, async (s) => {
        const sent = 'http-client --repeat 3 URL';
        const r = await client(s.port, ['--repeat', '3']);
        expectAllAnswered(r, 3, sent);
        hint.equal(s.stats.connections, 3, { why: 'No agent keep-alive: three requests, three connections.', sent });
    });
});

gradedCase('--max-sockets 2: eight requests, four in flight, never more than two connections', 20, async () => {
    await withServer({ delay: 80 }, async (s) => {
        const sent = 'http-client --repeat 8 --parallel 4 --keep-alive --max-sockets 2 URL (each answer 80 ms late)';
        const r = await client(s.port, ['--repeat', '8', '--parallel', '4', '--keep-alive', '--max-sockets', '2']);
        expectAllAnswered(r, 8, sent);
        hint.check(s.stats.maxOpen <= 2, {
            why: 'Requests beyond max_sockets wait in the queue for a connection to come free.',
            sent, expected: 'at most 2 connections open at once', got: `${s.stats.maxOpen} at once`,
        });
        hint.equal(s.stats.connections, 2, { why: 'Two connections, each reused for the queued requests.', sent });
    });
});

gradedCase('a response with Connection: close is not reused', 15, async () => {
    await withServer({ closeEvery: 2 }, async (s) => {
        const sent = 'http-client --repeat 6 --keep-alive URL (every 2nd answer says Connection: close)';
        const r = await client(s.port, ['--repeat', '6', '--keep-alive']);
        expectAllAnswered(r, 6, sent);
        hint.equal(s.stats.connections, 3, {
            why: 'Requests 2, 4 and 6 end their connections; 1, 3 and 5 each open one: three connections.', sent,
        });
    });
});

gradedCase('an idle connection the server closed is not used again', 15, async () => {
    await withServer({ idleClose: 100 }, async (s) => {
        const sent = 'http-client --repeat 4 --delay 300 --keep-alive URL (the server closes connections idle 100 ms)';
        const r = await client(s.port, ['--repeat', '4', '--delay', '300', '--keep-alive']);
        expectAllAnswered(r, 4, sent);
        hint.equal(s.stats.connections, 4, { why: 'Each pause outlasts the server\'s idle timeout: every request needs a new connection.', sent });
    });
});

gradedCase('HTTP/1.0 answers without keep-alive end the connection\'s use', 10, async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
        connections++;
        let text = '';
        socket.on('data', (d) => {
            text += d.toString('latin1');
            while (text.includes('\r\n\r\n')) {
                text = text.slice(text.indexOf('\r\n\r\n') + 4);
                socket.write('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n');   // and stays open
            }
        });
        socket.on('error', () => {});
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
        const sent = 'http-client --repeat 3 --keep-alive URL (the server answers HTTP/1.0 200 without Connection: keep-alive, and does not close)';
        const r = await client(server.address().port, ['--repeat', '3', '--keep-alive']);
        expectAllAnswered(r, 3, sent);
        hint.equal(connections, 3, { why: 'An HTTP/1.0 response without "Connection: keep-alive" means the connection is done.', sent });
    } finally {
        server.close();
        await sleep(10);
    }
});

gradedCase('--max-free-sockets 0: a connection nobody waits for is closed, not pooled', 10, async () => {
    await withServer({ delay: 60 }, async (s) => {
        const sent = 'http-client --repeat 6 --parallel 3 --keep-alive --max-sockets 3 --max-free-sockets 0 URL';
        const r = await client(s.port, ['--repeat', '6', '--parallel', '3', '--keep-alive', '--max-sockets', '3', '--max-free-sockets', '0']);
        expectAllAnswered(r, 6, sent);
        hint.check(s.stats.connections > 3, {
            why: 'With --max-free-sockets 0 a connection that comes free while no request waits is closed, not pooled: ' +
                 'the second round of requests opens new ones.',
            sent, expected: 'more than 3 connections', got: `${s.stats.connections}`,
        });
    });
});
