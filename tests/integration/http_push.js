// requires: node curl
// timeout: 180
'use strict';
/*
 * http_push.js - http-push (document 003) on the wire, read with curl and Node's WebSocket.
 *
 * What it proves:
 *   - polling: /clock answers at once with the time as three lines (time, date, epoch ms), not
 *     cacheable; the -v trace shows one request per poll;
 *   - long polling: an answer comes within a second after a multiple of 5 s, to every held
 *     request at once; a request held to --long-limit gets 204;
 *   - SSE (curl -N): the head (text/event-stream, no-cache, chunked), the opening comment and
 *     retry: 2000, then events field by field (id counting up by one, event: clock, data split
 *     into three lines that agree with each other), and the heartbeat comment every 15 ticks;
 *   - resuming with Last-Event-ID gives the next id with no gap or repeat, from the history of
 *     the last 60 (a comment says when older ones were lost); nonsense ids are ignored;
 *     --sse-drop-after ends the stream cleanly after N events;
 *   - the iframe stream: text/html, at least 1 KiB of padding before the first script, then
 *     one <script>parent.showClock(...)</script> per tick;
 *   - WebSocket at /clock/ws: the clock every tick, and 服务器说 + what the client sends;
 *   - many clients at once on one loop get the same ticks; clients that go away are noticed
 *     and freed (the sanitizer build proves no leak), SIGTERM ends every stream cleanly and the
 *     program exits 0; errors: 404, 405, 426, a bad option (exit 2).
 *
 * Run it alone after `make`: node tests/integration/http_push.js
 */
const WebSocket = require('ws');
const { test, assert, startServer, run, runCommand, spawnCommand, sleep, waitFor, withTimeout } =
    require('../lib/harness');

const FAST = ['--interval', '100']; // ten ticks a second, so the stream tests are quick

function push(args = []) {
    return startServer('http-push', args);
}

function curl(args, opts = {}) {
    return runCommand('curl', ['-sS', '--max-time', '10', ...args], opts);
}

/* "18:07:38" for a time in ms, in the local time zone (the server's, since it is ours). */
function localTime(ms) {
    const d = new Date(ms);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function localDate(ms) {
    const d = new Date(ms);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/* Checks the clock text every technique sends: time, date, epoch ms, consistent, and recent. */
function checkClock(text, what) {
    const [time, date, ms, ...rest] = text.split('\n');
    assert.equal(rest.length, 0, `${what}: three lines: ${JSON.stringify(text)}`);
    assert.match(ms, /^\d{13}$/, `${what}: epoch ms`);
    assert.equal(time, localTime(Number(ms)), `${what}: the time agrees with the ms`);
    assert.equal(date, localDate(Number(ms)), `${what}: the date agrees with the ms`);
    assert.ok(Math.abs(Date.now() - Number(ms)) < 60000, `${what}: a recent time`);
    return Number(ms);
}

/*
 * Splits an event stream into its blocks (each ended by an empty line; an unfinished last
 * block is left out). Returns {events: [{id, event, data, lines}], comments, retry, blocks}.
 */
function parseStream(text) {
    const blocks = text.split('\n\n');
    blocks.pop();
    const result = { events: [], comments: [], retry: [], blocks };
    for (const block of blocks) {
        const lines = block.split('\n');
        if (lines.every((l) => l.startsWith(':'))) {
            result.comments.push(...lines.map((l) => l.slice(1).trim()));
        } else if (lines.length === 1 && lines[0].startsWith('retry: ')) {
            result.retry.push(Number(lines[0].slice(7)));
        } else {
            const [id, event, ...data] = lines;
            assert.match(id, /^id: \d+$/, `the id line: ${JSON.stringify(block)}`);
            assert.equal(event, 'event: clock', `the event line: ${JSON.stringify(block)}`);
            assert.equal(data.length, 3, `three data lines: ${JSON.stringify(block)}`);
            for (const line of data)
                assert.match(line, /^data: /, `a data line: ${JSON.stringify(block)}`);
            const text = data.map((l) => l.slice(6)).join('\n');
            result.events.push({ id: Number(id.slice(4)), event: 'clock', data: text, lines });
        }
    }
    return result;
}

/* The body of what curl printed: after the head when it was asked for one (-i). */
function bodyOf(text, withHead) {
    if (!withHead)
        return text;
    const split = text.indexOf('\r\n\r\n');
    return split < 0 ? '' : text.slice(split + 4);
}

/* Starts `curl -N` on a stream; read() parses the body that has come so far. */
function streamReader(url, extra = []) {
    const proc = spawnCommand('curl', ['-sS', '-N', ...extra, url]);
    const withHead = extra.includes('-i');
    return {
        proc,
        text: () => proc.stdoutText(),
        read: () => parseStream(bodyOf(proc.stdoutText(), withHead)),
        async events(n, ms = 5000) {
            await waitFor(() => this.read().events.length >= n, ms, `${n} events from ${url}`);
            return this.read();
        },
    };
}

/* Ids must count up by one: no gap, no repeat. */
function assertConsecutive(ids, what) {
    for (let i = 1; i < ids.length; i++)
        assert.equal(ids[i], ids[i - 1] + 1, `${what}: id ${ids[i]} after ${ids[i - 1]} (${ids.join(' ')})`);
}

// ---------------------------------------------------------------------------------------------
// Polling

test('polling: /clock answers the time at once, three lines, not cacheable', async () => {
    const server = await push();
    const r = await curl(['-i', server.url('/clock')]);
    const [head, body] = r.stdout.split('\r\n\r\n').map((part, i) => (i === 0 ? part + '\r\n' : part));
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\nContent-Type: text\/plain; charset=utf-8\r\n/);
    assert.match(head, /\r\nCache-Control: no-store\r\n/);
    assert.match(head, /\r\nContent-Length: \d+\r\n/);
    const ms = checkClock(body, '/clock');
    assert.ok(Math.abs(Date.now() - ms) < 2000, 'the time is now');
});

test('polling counts its requests: five polls are five requests in the -v trace', async () => {
    const server = await push(['-v']);
    const urls = Array.from({ length: 5 }, () => server.url('/clock'));
    const r = await curl(urls);
    assert.equal(r.stdout.match(/\d\d:\d\d:\d\d\n\d{4}-\d\d-\d\d\n\d{13}/g).length, 5, 'five answers');
    await waitFor(() => server.stderrLines().filter((l) => / request \S+ GET \/clock HTTP\/1\.1$/.test(l)).length === 5,
                  3000, 'five request lines');
    assert.equal(server.stderrLines().filter((l) => / connection /.test(l)).length, 1,
                 'curl asked all five on one keep-alive connection');
});

// ---------------------------------------------------------------------------------------------
// Long polling

test('long polling: held until a multiple of 5 s, every held request answered together', async () => {
    const server = await push();
    // Not right before a boundary, so that the request surely arrives before it.
    if (Date.now() % 5000 > 4500)
        await sleep(600);
    const asks = [0, 1, 2].map(() => curl(['-w', '\n%{http_code}', server.url('/clock/long')]));
    const answers = await Promise.all(asks.map((p) => p.then((r) => ({ r, at: Date.now() }))));
    for (const { r, at } of answers) {
        const lines = r.stdout.split('\n');
        assert.equal(lines.pop(), '200');
        const ms = checkClock(lines.join('\n'), '/clock/long');
        assert.equal(Math.floor(ms / 1000) % 5, 0, `answered at ${localTime(ms)}, seconds divisible by 5`);
        assert.ok(ms % 5000 < 1000, `within a second of the multiple of 5 (+${ms % 5000} ms)`);
        assert.ok(at % 5000 < 1000, `received within a second of it (+${at % 5000} ms)`);
    }
    const stamps = new Set(answers.map(({ r }) => r.stdout.split('\n')[2]));
    assert.equal(stamps.size, 1, 'the three held requests were answered by the same tick');
});

test('long polling: a request held to --long-limit gets 204 No Content', async () => {
    const server = await push(['--long-limit', '400']);
    // Far from a multiple of 5 s, so the limit comes first.
    while (Date.now() % 5000 > 3500 || Date.now() % 5000 < 100)
        await sleep(100);
    const started = Date.now();
    const r = await curl(['-i', server.url('/clock/long')]);
    const took = Date.now() - started;
    assert.match(r.stdout, /^HTTP\/1\.1 204 No Content\r\n/);
    assert.doesNotMatch(r.stdout, /Content-Length|Transfer-Encoding/, '204 has no body and no framing');
    assert.ok(took >= 380 && took < 1500, `answered after the limit (${took} ms)`);
});

// ---------------------------------------------------------------------------------------------
// Server-Sent Events

test('SSE with curl -N: the head, retry, and each event field by field', async () => {
    const server = await push(FAST);
    const sse = streamReader(server.url('/clock/events'), ['-i']);
    await sse.events(20);
    const text = sse.text();
    const split = text.indexOf('\r\n\r\n');
    const head = text.slice(0, split + 2);
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\nContent-Type: text\/event-stream\r\n/);
    assert.match(head, /\r\nCache-Control: no-cache\r\n/);
    assert.match(head, /\r\nTransfer-Encoding: chunked\r\n/);
    assert.match(head, /\r\nConnection: keep-alive\r\n/);
    const stream = parseStream(text.slice(split + 4));
    assert.equal(stream.blocks[0], ': http-push clock, an event every 100 ms', 'an opening comment');
    assert.equal(stream.blocks[1], 'retry: 2000', 'then the reconnection delay');
    assert.deepEqual(stream.retry, [2000]);
    const ids = stream.events.map((e) => e.id);
    assertConsecutive(ids, 'live events');
    let last = 0;
    for (const e of stream.events) {
        const ms = checkClock(e.data, `event ${e.id}`);
        assert.ok(ms >= last, 'time goes forward');
        last = ms;
    }
    // The heartbeat: a comment block before every 15th event.
    const withBeat = stream.events.find((e) => e.id % 15 === 0);
    if (withBeat) {
        const at = stream.blocks.indexOf(withBeat.lines.join('\n'));
        assert.equal(stream.blocks[at - 1], ': heartbeat', `a heartbeat before event ${withBeat.id}`);
    }
    assert.ok(stream.comments.includes('heartbeat'), 'a heartbeat within 20 ticks');
});

test('SSE resume: Last-Event-ID gets the next id, no gap, no repeat, even after a pause', async () => {
    const server = await push(FAST);
    const first = streamReader(server.url('/clock/events'));
    const got = (await first.events(5)).events;
    await first.proc.stop();
    const last = got[got.length - 1].id;
    await sleep(700); // seven ticks missed: they must come from the history
    const second = streamReader(server.url('/clock/events'), ['-H', `Last-Event-ID: ${last}`]);
    const resumed = (await second.events(15)).events;
    assert.equal(resumed[0].id, last + 1, 'the first event is the one after Last-Event-ID');
    assertConsecutive([...got.map((e) => e.id), ...resumed.map((e) => e.id)], 'across the reconnection');
    assert.ok(resumed.length >= 7, 'the missed events were replayed');
    await server.waitForStdout(new RegExp(`resuming after id ${last}: \\d+ events replayed`));
});

test('SSE resume: older than the history of 60 loses what it must and says so; nonsense ids are ignored', async () => {
    const server = await push(['--interval', '20']);
    const probe = streamReader(server.url('/clock/events'));
    await waitFor(() => { const e = probe.read().events; return e.length && e[e.length - 1].id > 80; }, 5000, 'id 80');
    await probe.proc.stop();

    const old = streamReader(server.url('/clock/events'), ['-H', 'Last-Event-ID: 1']);
    const s = await old.events(61);
    assert.ok(s.comments.some((c) => /^\d+ events were older than the history$/.test(c)), 'a comment tells the loss');
    const ids = s.events.map((e) => e.id);
    assertConsecutive(ids, 'after the loss');
    const lost = Number(s.comments.find((c) => /older/.test(c)).split(' ')[0]);
    assert.equal(ids[0], 2 + lost, 'the oldest kept event follows the lost ones');
    await old.proc.stop();

    for (const bad of ['abc', '-1', '999999999', '']) {
        const r = streamReader(server.url('/clock/events'), ['-H', `Last-Event-ID: ${bad}`]);
        const e = (await r.events(2)).events;
        assert.ok(!r.read().comments.some((c) => /older/.test(c)), `no replay for '${bad}'`);
        assert.equal(e[1].id, e[0].id + 1);
        await r.proc.stop();
    }
});

test('SSE --sse-drop-after 3: the stream ends cleanly after three live events', async () => {
    const server = await push([...FAST, '--sse-drop-after', '3']);
    const r = await curl(['-N', server.url('/clock/events')]);
    assert.equal(r.code, 0, `curl saw a complete response: ${r.stderr}`);
    const s = parseStream(r.stdout);
    assert.equal(s.events.length, 3);
    assertConsecutive(s.events.map((e) => e.id), 'before the drop');
    await server.waitForStdout(/^sse #\d+ \S+ closed after 3 ticks$/);
});

test('--loop poll: the same stream, resumed the same way', async () => {
    const server = await push([...FAST, '--loop', 'poll']);
    const first = streamReader(server.url('/clock/events'));
    const got = (await first.events(3)).events;
    await first.proc.stop();
    const last = got[got.length - 1].id;
    const second = streamReader(server.url('/clock/events'), ['-H', `Last-Event-ID: ${last}`]);
    const resumed = (await second.events(5)).events;
    assertConsecutive([...got, ...resumed].map((e) => e.id), 'on the poll backend');
});

// ---------------------------------------------------------------------------------------------
// iframe streaming

test('iframe stream with curl -N: HTML, 1 KiB of padding, then one script per tick', async () => {
    const server = await push(FAST);
    const stream = streamReader(server.url('/clock/stream'), ['-i']);
    const SCRIPT = /^<script>parent\.showClock\((\d+), "(\d\d:\d\d:\d\d)", "(\d{4}-\d\d-\d\d)", (\d{13})\)<\/script>$/;
    await waitFor(() => stream.text().split('\n').filter((l) => SCRIPT.test(l)).length >= 5, 5000, 'five scripts');
    const text = stream.text();
    const split = text.indexOf('\r\n\r\n');
    assert.match(text.slice(0, split + 2), /\r\nContent-Type: text\/html; charset=utf-8\r\n/);
    assert.match(text.slice(0, split + 2), /\r\nTransfer-Encoding: chunked\r\n/);
    const body = text.slice(split + 4);
    assert.match(body, /^<!DOCTYPE html>\n<html><head><meta charset="utf-8">/);
    assert.ok(body.indexOf('<script>') >= 1024, `padding before the first script (${body.indexOf('<script>')} bytes)`);
    const scripts = body.split('\n').map((l) => SCRIPT.exec(l)).filter(Boolean);
    assertConsecutive(scripts.map((m) => Number(m[1])), 'script ids');
    for (const m of scripts)
        checkClock(`${m[2]}\n${m[3]}\n${m[4]}`, `script ${m[1]}`);
});

// ---------------------------------------------------------------------------------------------
// WebSocket

test('WebSocket /clock/ws: the clock every tick, and 服务器说 + what the client says', async () => {
    const server = await push(FAST);
    const ws = new WebSocket(server.url('/clock/ws', 'ws'));
    const messages = [];
    ws.on('message', (data) => messages.push(data.toString()));
    await withTimeout(new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); }),
                      5000, 'WebSocket open');
    ws.send('你好, clock');
    await waitFor(() => messages.filter((m) => !m.startsWith('服务器说')).length >= 3 &&
                        messages.includes('服务器说你好, clock'), 5000, 'three ticks and the echo');
    for (const m of messages.filter((x) => !x.startsWith('服务器说')))
        checkClock(m, 'ws message');
    await server.waitForStdout(/^websocket #\d+ \S+ message: 你好, clock$/);
    ws.close(1000, 'bye');
    await server.waitForStdout(/^websocket #\d+ \S+ closed after \d+ ticks: 1000 bye$/);
});

// ---------------------------------------------------------------------------------------------
// Many clients, clients that leave, shutdown

test('many clients on one loop: 30 SSE streams get the same ids; those that leave are freed', async () => {
    const server = await push(FAST);
    const readers = Array.from({ length: 30 }, () => streamReader(server.url('/clock/events')));
    const holds = Array.from({ length: 10 }, () => spawnCommand('curl', ['-sS', server.url('/clock/long')]));
    const frames = Array.from({ length: 10 }, () => streamReader(server.url('/clock/stream')));
    await Promise.all(readers.map((r) => r.events(5)));
    // Every reader saw the same id with the same data.
    await sleep(300);
    const byId = new Map();
    for (const r of readers) {
        for (const e of r.read().events) {
            if (byId.has(e.id))
                assert.equal(byId.get(e.id), e.data, `event ${e.id} is the same for everyone`);
            byId.set(e.id, e.data);
        }
    }
    // They all go away without a word (SIGKILL: no FIN from curl's side first, just the kernel's).
    for (const p of [...readers.map((r) => r.proc), ...holds, ...frames.map((f) => f.proc)])
        p.kill('SIGKILL');
    await waitFor(() => server.stdoutLines().filter((l) => /closed after \d+ ticks/.test(l)).length === 40,
                  5000, 'the server noticed all 40 streams leave');
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null });
});

test('SIGTERM: streams end cleanly, held long polls get 204, WebSockets 1001, exit 0', async () => {
    const server = await push(FAST);
    const sse = curl(['-N', server.url('/clock/events')]);
    const frame = curl(['-N', server.url('/clock/stream')]);
    const held = curl(['-w', '%{http_code}', server.url('/clock/long')]);
    const ws = new WebSocket(server.url('/clock/ws', 'ws'));
    const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve([code, reason.toString()])));
    await waitFor(() => server.stdoutLines().filter((l) => / open$/.test(l)).length === 3, 5000, 'three streams open');
    await sleep(300);
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null });
    const [s, f, h] = await Promise.all([sse, frame, held]);
    assert.equal(s.code, 0, `the event stream ended with its last chunk: ${s.stderr}`);
    assert.ok(parseStream(s.stdout).events.length > 0);
    assert.equal(f.code, 0, `the iframe stream ended with its last chunk: ${f.stderr}`);
    assert.equal(h.stdout, '204');
    assert.deepEqual(await withTimeout(closed, 5000, 'ws close'), [1001, 'server shutting down']);
});

// ---------------------------------------------------------------------------------------------
// Errors

test('errors: 404, 405 with Allow, 426 for the socket without an upgrade, bad options exit 2', async () => {
    const server = await push();
    const code = async (args) => (await curl(['-o', '/dev/null', '-w', '%{http_code}', ...args])).stdout;
    assert.equal(await code([server.url('/nope')]), '404');
    assert.equal(await code(['-X', 'POST', server.url('/clock/events')]), '405');
    assert.equal(await code(['-X', 'DELETE', server.url('/sse')]), '405');
    assert.equal(await code([server.url('/clock/ws')]), '426');
    assert.equal(await code([server.url('/clock?x=1')]), '200', 'a query string is allowed');
    for (const page of ['/', '/polling', '/long-polling', '/iframe', '/sse', '/websocket']) {
        const r = await curl(['-i', server.url(page)]);
        assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\n/, page);
        assert.match(r.stdout, /\r\nContent-Type: text\/html; charset=utf-8\r\n/, page);
    }
    const script = await curl(['-i', server.url('/push.js')]);
    assert.match(script.stdout, /^HTTP\/1\.1 200 OK\r\n/, '/push.js, the pages\' shared script');
    assert.match(script.stdout, /\r\nContent-Type: text\/javascript; charset=utf-8\r\n/);
    for (const bad of [['--interval', '5'], ['--interval', 'x'], ['--long-limit', '0'], ['--sse-drop-after', '-1'], ['extra']]) {
        const r = await run('http-push', bad);
        assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /^http-push: /);
    }
});
