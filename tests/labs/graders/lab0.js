'use strict';
/*
 * lab0.js - grades lab 0, networking by hand (docs/labs/lab0.md).
 *
 * The student runs the programs with telnet, nc and curl, reads the -v traces, and writes what
 * they saw into lab0/answers.txt ("name: value" lines). For each question the grader plays the
 * scenario again, on loopback with port 0, reads the answer off its own trace (the server's -v
 * stderr, the bytes on the wire, curl -v where curl is installed) and compares: case and
 * surrounding quotes or spaces do not matter.
 */
const fs = require('node:fs');
const path = require('node:path');
const { gradedCase, hint, harness } = require('../lib/grader');
const { startServer, tcpConnect, run, runCommand, sleep } = harness;

const answersFile = path.join(process.env.LAB_DIR || '.', 'lab0', 'answers.txt');

/* name -> answer, from the "name: value" lines. */
function readAnswers() {
    const answers = {};
    let text = '';
    try {
        text = fs.readFileSync(answersFile, 'utf8');
    } catch (err) {
        return answers;
    }
    for (const line of text.split('\n')) {
        const m = /^\s*([a-z0-9_]+)\s*:(.*)$/.exec(line);
        if (m && !line.trim().startsWith('#'))
            answers[m[1]] = m[2].trim();
    }
    return answers;
}
const answers = readAnswers();

function clean(text) {
    return String(text).trim().replace(/^["'`](.*)["'`]$/, '$1').trim().toLowerCase();
}

/* Checks the answer to `name` against what the trace showed (one value or several accepted). */
function expectAnswer(name, observed, how) {
    const given = answers[name];
    const accepted = (Array.isArray(observed) ? observed : [observed]).map(String);
    hint.check(given !== undefined && given !== '', {
        why: `No answer for ${name} in lab0/answers.txt (a line "${name}: your answer").`,
    });
    hint.check(accepted.some((a) => clean(a) === clean(given)), {
        why: `The answer to ${name} does not match the trace. The grader ${how}.`,
        got: given,
    });
}

async function hasCommand(cmd) {
    const r = await runCommand('sh', ['-c', `command -v ${cmd}`]).catch(() => ({ code: 1 }));
    return r.code === 0;
}

gradedCase('1. tcp-server: the banner on connect', 10, async () => {
    const server = await startServer('tcp-server', ['-v']);
    const c = await tcpConnect(server.port);
    await sleep(200);
    expectAnswer('tcp_banner', c.received().toString('utf8'), 'connected and read what tcp-server sent first');
});

gradedCase('2. tcp-server: the goodbye after the client half-closes', 10, async () => {
    const server = await startServer('tcp-server', ['-v']);
    const c = await tcpConnect(server.port);
    await sleep(100);
    const banner = c.received().length;
    await c.end();
    const all = await c.readAll();
    expectAnswer('tcp_goodbye', all.subarray(banner).toString('utf8'), 'connected, sent FIN and read what came after the banner');
});

gradedCase('3. tcp-server -v: the event for the half-close', 10, async () => {
    const server = await startServer('tcp-server', ['-v']);
    const c = await tcpConnect(server.port);
    await c.end();
    await c.readAll();
    await server.waitForStderr(/ #1 close /);
    const lines = server.stderrLines().filter((l) => / #1 /.test(l));
    // The event traced right after the connection's last data (or its connection line) when the
    // client sent nothing: the FIN's event.
    const events = lines.map((l) => l.split(/\s+/)[2]);
    const fin = events.find((e) => !['connection', 'data', 'drain'].includes(e));
    expectAnswer('tcp_fin_event', fin, `half-closed and read tcp-server -v's trace (events: ${events.join(', ')})`);
});

gradedCase('4. tcp-server -v: data events for three lines piped into nc', 10, async () => {
    const useNc = await hasCommand('nc');
    const counts = new Set();
    for (let i = 0; i < 2; i++) {
        const server = await startServer('tcp-server', ['-v']);
        if (useNc) {
            await runCommand('sh', ['-c', `printf 'one\\ntwo\\nthree\\n' | nc -N 127.0.0.1 ${server.port}`], { timeout: 5000 });
        } else {
            const c = await tcpConnect(server.port);
            await c.end('one\ntwo\nthree\n');
            await c.readAll();
        }
        await server.waitForStderr(/ #1 close /);
        counts.add(server.stderrLines().filter((l) => / #1 data /.test(l)).length);
        await server.stop();
    }
    expectAnswer('tcp_data_events', [...counts], `piped the three lines ${useNc ? 'into nc -N' : 'in one write'} and counted "data" lines in the trace (${[...counts].join(' or ')})`);
});

/* The hello-world exchange, as curl -v shows it (or as raw bytes without curl). */
async function helloExchange() {
    const server = await startServer('http-server', ['-v']);
    if (await hasCommand('curl')) {
        const r = await runCommand('curl', ['-sv', '--max-time', '5', server.url('/')]);
        const sent = r.stderr.split('\n').filter((l) => l.startsWith('> ')).map((l) => l.slice(2).trim());
        const got = r.stderr.split('\n').filter((l) => l.startsWith('< ')).map((l) => l.slice(2).trim());
        return { sent, got };
    }
    const c = await tcpConnect(server.port);
    await c.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n');
    const head = (await c.readUntil('\r\n\r\n')).toString('latin1');
    return { sent: ['GET / HTTP/1.1', 'User-Agent: curl/8'], got: head.split('\r\n') };
}

gradedCase('5. http-server: the status line curl -v shows', 10, async () => {
    const { got } = await helloExchange();
    expectAnswer('http_status_line', got[0], 'ran curl -v against http-server and read its first "<" line');
});

gradedCase('6. http-server: the Content-Length of hello world', 10, async () => {
    const { got } = await helloExchange();
    const h = got.find((l) => /^content-length:/i.test(l)) || '';
    expectAnswer('http_content_length', h.replace(/^[^:]*:/, ''), 'read the Content-Length among curl -v\'s "<" lines');
});

gradedCase('7. curl -v: the request header that names the client', 10, async () => {
    const { sent } = await helloExchange();
    const h = sent.find((l) => /^[^:]+:\s*curl\//i.test(l)) || '';
    expectAnswer('http_client_header', h.replace(/:.*$/, ''), 'looked for curl/ among the ">" lines');
});

gradedCase('8. http-server: the status of a malformed request', 10, async () => {
    const server = await startServer('http-server', ['-v']);
    const c = await tcpConnect(server.port);
    await c.end('HELLO\r\n\r\n');
    const reply = (await c.readAll()).toString('latin1');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(reply);
    expectAnswer('http_bad_request_status', m ? m[1] : reply.slice(0, 40), 'sent "HELLO\\r\\n\\r\\n" and read the status line');
});

gradedCase('9. udp-server: the message of --offset 6 --length 4', 10, async () => {
    const server = await startServer('udp-server', ['-v']);
    await run('udp-client', ['--offset', '6', '--length', '4', '127.0.0.1', server.port]);
    const m = await server.waitForStdout(/^server got: (.*) from /);
    expectAnswer('udp_message', m[1], 'ran the client and read udp-server\'s "server got" line');
});

gradedCase('10. ws-echo: Sec-WebSocket-Accept in the 101 response', 10, async () => {
    const server = await startServer('ws-echo', ['-v']);
    const c = await tcpConnect(server.port);
    await c.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
                  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    const head = (await c.readUntil('\r\n\r\n')).toString('latin1');
    const m = /^Sec-WebSocket-Accept:\s*(\S+)/im.exec(head);
    expectAnswer('ws_accept', m ? m[1] : '(none)', 'sent the handshake with that key and read the 101 response');
});
