'use strict';
/*
 * lab5.js - grades lab 5, WebSocket echo from raw sockets (docs/labs/lab5.md).
 *
 * The student writes the handshake's Sec-WebSocket-Accept (ws_handshake.c), the frame header
 * decoder and masking (ws_frame.c), and the wait for a whole frame (ws_conn.c). The grader
 * starts ws-echo on loopback, port 0, and speaks WebSocket over a raw TCP socket, frame by
 * frame, so that a hint can show the exact bytes.
 */
const { gradedCase, hint, harness } = require('../lib/grader');
const { acceptFor: accept, frame, readFrame, describe, hex, wsOpen } = require('../lib/ws');
const { startServer, tcpConnect, sleep } = harness;

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/* A connection that has passed the handshake (the Accept value has a case of its own, so
 * frames score without it). */
function open(server) {
    return wsOpen(server.port, { key: KEY });
}

/* Sends bytes and expects one text echo of `text`. */
async function expectEcho(conn, bytes, opcode, payload, what) {
    let f;
    try {
        f = await readFrame(conn);
    } catch (err) {
        throw hint.make({ why: `No whole frame came back (${err.message.replace(/^conn to \S+ /, '')}).`, sent: `${what}: ${hex(bytes)}`, rawSent: true });
    }
    const ok = f.fin && f.opcode === opcode && !f.masked && f.payload.equals(Buffer.from(payload));
    hint.check(ok, {
        why: 'The echo is one unmasked frame, FIN set, with the same opcode and payload.',
        sent: `${what}: ${hex(bytes)}`, rawSent: true,
        expected: `opcode ${opcode}, ${Buffer.from(payload).length} bytes: ${hex(Buffer.from(payload))}`,
        got: describe(f),
    });
}

gradedCase('handshake: 101 with the right Sec-WebSocket-Accept for four keys', 15, async () => {
    const server = await startServer('ws-echo');
    for (const key of [KEY, 'uR5YP/BMO6M24tAFcmHeXw==', 'IHfMdf8a0aQXbwQO1pkGdA==', 'O/SldTn2Th7GfsD07IxrwQ==']) {
        const conn = await tcpConnect(server.port);
        const sent = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
                     `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`;
        await conn.write(sent);
        const head = (await conn.readUntil('\r\n\r\n')).toString('latin1');
        hint.check(head.includes(`Sec-WebSocket-Accept: ${accept(key)}\r\n`), {
            why: 'Sec-WebSocket-Accept = base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).',
            sent, expected: `Sec-WebSocket-Accept: ${accept(key)}`, got: head,
        });
        conn.destroy();
    }
});

gradedCase('a masked text frame is echoed', 15, async () => {
    const conn = await open(await startServer('ws-echo'));
    const f = frame(1, 'hello websocket');
    await conn.write(f);
    await expectEcho(conn, f, 1, 'hello websocket', 'a masked text frame');
});

gradedCase('a frame sent one byte at a time is echoed once', 10, async () => {
    const conn = await open(await startServer('ws-echo'));
    conn.socket.setNoDelay(true);
    const f = frame(1, 'byte by byte');
    for (const b of f) {
        await conn.write(Buffer.from([b]));
        await sleep(5);
    }
    await expectEcho(conn, f, 1, 'byte by byte', 'one frame, one byte per write');
});

gradedCase('two frames in one write get two echoes', 10, async () => {
    const conn = await open(await startServer('ws-echo'));
    const both = Buffer.concat([frame(1, 'first'), frame(2, Buffer.from([0, 1, 2, 255]))]);
    await conn.write(both);
    await expectEcho(conn, both, 1, 'first', 'a text and a binary frame in one write (first echo)');
    await expectEcho(conn, both, 2, Buffer.from([0, 1, 2, 255]), 'a text and a binary frame in one write (second echo)');
});

gradedCase('16-bit and 64-bit payload lengths: 300 bytes and 100 000 bytes', 20, async () => {
    const conn = await open(await startServer('ws-echo'));
    for (const n of [126, 300, 65535, 100000]) {
        const text = 'abcdefghij'.repeat(Math.ceil(n / 10)).slice(0, n);
        const f = frame(1, text);
        await conn.write(f);
        await expectEcho(conn, f, 1, text, `a ${n}-byte text frame`);
    }
}, { timeout: 20000 });

gradedCase('a fragmented message is echoed whole', 10, async () => {
    const conn = await open(await startServer('ws-echo'));
    const parts = Buffer.concat([frame(1, 'frag', { fin: false }), frame(0, 'men', { fin: false }), frame(0, 'ted')]);
    await conn.write(parts);
    await expectEcho(conn, parts, 1, 'fragmented', 'text "frag" (FIN 0), continuation "men" (FIN 0), continuation "ted" (FIN 1)');
});

gradedCase('ping is answered with a pong carrying the same payload', 10, async () => {
    const conn = await open(await startServer('ws-echo'));
    const f = frame(9, 'are you there');
    await conn.write(f);
    await expectEcho(conn, f, 10, 'are you there', 'a masked ping');
});

gradedCase('an unmasked client frame closes with 1002', 10, async () => {
    const conn = await open(await startServer('ws-echo'));
    const f = frame(1, 'not masked', { mask: false });
    await conn.write(f);
    let got;
    try {
        got = await readFrame(conn);
    } catch (err) {
        throw hint.make({ why: 'Expected a close frame with code 1002.', sent: hex(f), rawSent: true, got: err.message });
    }
    hint.check(got.opcode === 8 && got.payload.length >= 2 && got.payload.readUInt16BE(0) === 1002, {
        why: 'Client frames must be masked: the server fails the connection with close code 1002 (protocol error).',
        sent: hex(f), rawSent: true, expected: 'close frame, code 1002',
        got: describe(got),
    });
});
