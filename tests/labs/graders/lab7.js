'use strict';
/*
 * lab7.js - grades lab 7, the server-push shoot-out (docs/labs/lab7.md).
 *
 * The student writes http-push's Server-Sent Events format (sse.c: sse_event), the resume
 * after a reconnection (last_event_id, sse_replay), the long poll's answer on the next multiple
 * of 5 seconds (on_five) and the WebSocket echo with the document's prefix (on_ws_message).
 * Each case starts http-push on loopback, port 0, with a fast clock (--interval), and reads the
 * streams with Node's http module (which removes the chunked framing) or a raw WebSocket.
 */
const http = require('node:http');
const { gradedCase, hint, harness } = require('../lib/grader');
const { frame, readFrame, describe, wsOpen } = require('../lib/ws');
const { startServer, sleep } = harness;

function push(...args) {
    return startServer('http-push', args);
}

/*
 * Opens GET path as an event stream. Resolves with {res, head, next(ms)}: next resolves with
 * the next event {id, event, data (lines), comments, raw}, read as EventSource reads them.
 */
function sseOpen(port, path = '/clock/events', headers = {}) {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
            let text = '';
            const waiters = [];
            const events = [];
            let pendingComments = [];
            const pump = () => {
                for (;;) {
                    const m = /\r\n\r\n|\n\n|\r\r/.exec(text);
                    if (!m)
                        break;
                    const block = text.slice(0, m.index);
                    text = text.slice(m.index + m[0].length);
                    const ev = { id: null, event: null, data: [], comments: pendingComments, raw: block, fields: [] };
                    for (const line of block.split(/\r\n|\n|\r/)) {
                        if (line.startsWith(':')) {
                            ev.comments.push(line.slice(1).trim());
                            continue;
                        }
                        const at = line.indexOf(':');
                        const name = at < 0 ? line : line.slice(0, at);
                        const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
                        ev.fields.push(name);
                        if (name === 'id')
                            ev.id = value;
                        else if (name === 'event')
                            ev.event = value;
                        else if (name === 'data')
                            ev.data.push(value);
                    }
                    if (ev.data.length === 0) {
                        pendingComments = ev.comments;   // comments and retry: no event to dispatch
                        continue;
                    }
                    pendingComments = [];
                    events.push(ev);
                }
                while (waiters.length && events.length)
                    waiters.shift()(events.shift());
            };
            res.setEncoding('utf8');
            res.on('data', (d) => {
                text += d;
                pump();
            });
            res.on('error', () => {});
            const stream = {
                res,
                close: () => req.destroy(),
                next: (ms = 3000) => new Promise((resolve, reject) => {
                    const timer = setTimeout(() => {
                        waiters.splice(waiters.indexOf(take), 1);
                        reject(new Error(`no event within ${ms} ms; the stream so far ends with ` +
                                         `${JSON.stringify(text.slice(-300))}`));
                    }, ms);
                    const take = (ev) => {
                        clearTimeout(timer);
                        resolve(ev);
                    };
                    waiters.push(take);
                    pump();
                }),
            };
            resolve(stream);
        });
        req.on('error', reject);
        setTimeout(() => reject(new Error(`GET ${path}: no response head within 5000 ms`)), 5000).unref();
    });
}

function checkClockData(ev, sent) {
    const [time, date, ms] = ev.data;
    hint.check(ev.data.length === 3 && /^\d\d:\d\d:\d\d$/.test(time) && /^\d{4}-\d\d-\d\d$/.test(date) && /^\d{13}$/.test(ms), {
        why: 'The clock is three lines of text ("18:07:38\\n2026-11-23\\n1795975658000"): in an event stream that is ' +
             'three "data: " lines, which EventSource joins with "\\n".',
        sent, expected: 'data: HH:MM:SS / data: YYYY-MM-DD / data: <13-digit ms>', got: ev.raw,
    });
}

gradedCase('SSE: text/event-stream, each tick an event with id, event: clock and an empty line', 15, async () => {
    const server = await push('--interval', '200');
    const s = await sseOpen(server.port);
    const sent = 'GET /clock/events';
    hint.equal(s.res.headers['content-type'], 'text/event-stream', { why: 'The Content-Type of an event stream.', sent });
    let last = null;
    for (let i = 0; i < 3; i++) {
        let ev;
        try {
            ev = await s.next();
        } catch (err) {
            throw hint.make({ why: `Event ${i + 1} did not come: ${err.message}`, sent });
        }
        hint.check(ev.event === 'clock' && /^\d+$/.test(ev.id || ''), {
            why: 'Each event carries "id: N" and "event: clock" lines, then its data, then an empty line.',
            sent, got: ev.raw,
        });
        if (last !== null)
            hint.equal(Number(ev.id), last + 1, { why: 'Event ids count the ticks: one more each time.', sent });
        last = Number(ev.id);
    }
    s.close();
});

gradedCase('SSE: the three-line clock is three data lines', 10, async () => {
    const server = await push('--interval', '200');
    const s = await sseOpen(server.port);
    checkClockData(await s.next(), 'GET /clock/events');
    s.close();
});

gradedCase('Last-Event-ID: a reconnecting client gets the events it missed, in order', 15, async () => {
    const server = await push('--interval', '150');
    const a = await sseOpen(server.port);
    let ev;
    do
        ev = await a.next();
    while (Number(ev.id) < 5);
    a.close();
    await sleep(400);   // more ticks go by while the client is away
    const sent = 'GET /clock/events with Last-Event-ID: 2';
    const b = await sseOpen(server.port, '/clock/events', { 'Last-Event-ID': '2' });
    const ids = [];
    for (let i = 0; i < 6; i++)
        ids.push(Number((await b.next()).id));
    hint.check(ids.every((id, i) => id === 3 + i), {
        why: 'After Last-Event-ID: 2 the stream starts with event 3 and goes on without a gap (the missed ' +
             'events are replayed from the history before the live ones).',
        sent, expected: '3,4,5,6,7,8', got: ids.join(','),
    });
    b.close();
});

gradedCase('Last-Event-ID: events older than the history are reported in a comment', 10, async () => {
    const server = await push('--interval', '15');
    const a = await sseOpen(server.port);
    let ev;
    do
        ev = await a.next();
    while (Number(ev.id) < 80);
    a.close();
    const sent = 'GET /clock/events with Last-Event-ID: 1, after more than 60 ticks';
    const b = await sseOpen(server.port, '/clock/events', { 'Last-Event-ID': '1' });
    const first = await b.next();
    const note = first.comments.find((c) => /older than the history/.test(c));
    hint.check(!!note, {
        why: 'Only the last 60 events are kept: a comment line says how many were lost (": N events were older than the history").',
        sent, got: first.raw,
    });
    const lost = Number(/^(\d+)/.exec(note)?.[1]);
    hint.equal(Number(first.id), 2 + lost, { why: 'The replay starts with the oldest event kept, right after the lost ones.', sent });
    b.close();
});

gradedCase('Last-Event-ID: a malformed or future id replays nothing', 10, async () => {
    const server = await push('--interval', '200');
    const a = await sseOpen(server.port);
    let ev;
    do
        ev = await a.next();
    while (Number(ev.id) < 3);
    const current = Number(ev.id);
    a.close();
    for (const bad of ['abc', '-1', '3x', '99999999', '123456789012345678901234']) {
        const s = await sseOpen(server.port, '/clock/events', { 'Last-Event-ID': bad });
        const first = await s.next();
        hint.check(Number(first.id) > current, {
            why: 'Only a plain decimal id that the server could have sent is resumed from; anything else gets ' +
                 'the live stream, from the next tick.',
            sent: `GET /clock/events with Last-Event-ID: ${bad}`, rawSent: true,
            expected: `a first event id above ${current}`, got: first.raw,
        });
        s.close();
    }
});

gradedCase('long polling: the held request is answered at the next multiple of 5 seconds', 20, async () => {
    const server = await push('--long-limit', '8000');
    const started = Date.now();
    const res = await new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: server.port, path: '/clock/long', agent: false }, (r) => {
            let body = '';
            r.setEncoding('utf8');
            r.on('data', (d) => { body += d; });
            r.on('end', () => resolve({ status: r.statusCode, body, at: Date.now() }));
        });
        req.on('error', reject);
    });
    const sent = 'GET /clock/long';
    hint.equal(res.status, 200, { why: 'The held request is answered with the time, not left to the 204 of --long-limit.', sent });
    const ms = Number(res.body.split('\n')[2]);
    hint.check(Math.floor(ms / 1000) % 5 === 0 && res.at - started <= 5500, {
        why: "The answer comes when the clock's seconds are a multiple of 5 (the body's third line is its milliseconds).",
        sent, got: `${res.body} after ${res.at - started} ms`,
    });
}, { timeout: 15000 });

gradedCase('WebSocket: a message comes back after 服务器说; binary is refused with 1003', 20, async () => {
    const server = await push('--interval', '300');
    const conn = await wsOpen(server.port, { target: '/clock/ws' });
    await conn.write(frame(1, '你好'));
    let echo = null;
    for (let i = 0; i < 6 && !echo; i++) {
        let f;
        try {
            f = await readFrame(conn, 2000);
        } catch (err) {
            break;
        }
        const text = f.payload.toString('utf8');
        if (f.opcode === 1 && text.startsWith('服务器说'))
            echo = text;
        else if (f.opcode !== 1)
            throw hint.make({ why: 'Expected text messages: the clock and the echo.', sent: 'text "你好"', got: describe(f) });
    }
    hint.equal(echo, '服务器说你好', { why: 'Among the clock ticks, the echo with the document\'s prefix.', sent: 'text "你好"' });
    await conn.write(frame(2, Buffer.from([1, 2, 3])));
    let f;
    do
        f = await readFrame(conn, 2000).catch(() => null);
    while (f && f.opcode === 1);
    hint.check(f && f.opcode === 8 && f.payload.length >= 2 && f.payload.readUInt16BE(0) === 1003, {
        why: 'A binary message is refused with close code 1003.', sent: 'binary 01 02 03', got: f ? describe(f) : '(nothing)',
    });
});
