'use strict';
/*
 * ws.js - a WebSocket client over a raw TCP socket, for the lab graders: every byte is the
 * grader's own, so a hint can show exactly what was sent (tests/labs/graders/lab5.js, lab6.js,
 * lab7.js). Built on the harness's tcpConnect (loopback, timeouts, stopped with the test).
 */
const crypto = require('node:crypto');
const { hint, harness } = require('./grader');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function acceptFor(key) {
    return crypto.createHash('sha1').update(key + GUID).digest('base64');
}

/* A client frame: masked unless mask is false, FIN set unless fin is false. */
function frame(opcode, payload, { fin = true, mask = true } = {}) {
    const data = Buffer.from(payload);
    const len = data.length;
    const head = [(fin ? 0x80 : 0) | opcode, 0];
    let ext = Buffer.alloc(0);
    if (len <= 125) {
        head[1] = len;
    } else if (len <= 0xffff) {
        head[1] = 126;
        ext = Buffer.alloc(2);
        ext.writeUInt16BE(len);
    } else {
        head[1] = 127;
        ext = Buffer.alloc(8);
        ext.writeBigUInt64BE(BigInt(len));
    }
    if (!mask)
        return Buffer.concat([Buffer.from(head), ext, data]);
    head[1] |= 0x80;
    const key = crypto.randomBytes(4);
    const masked = Buffer.from(data.map((b, i) => b ^ key[i % 4]));
    return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

/* Reads one server frame: {fin, opcode, masked, payload, header}. */
async function readFrame(conn, ms = 5000) {
    const first = await conn.read(2, ms);
    let len = first[1] & 0x7f;
    let ext = Buffer.alloc(0);
    if (len === 126) {
        ext = await conn.read(2, ms);
        len = ext.readUInt16BE(0);
    } else if (len === 127) {
        ext = await conn.read(8, ms);
        len = Number(ext.readBigUInt64BE(0));
    }
    const masked = !!(first[1] & 0x80);
    if (masked)
        await conn.read(4, ms);
    const payload = len ? await conn.read(len, ms) : Buffer.alloc(0);
    return { fin: !!(first[0] & 0x80), opcode: first[0] & 0x0f, masked, payload, header: Buffer.concat([first, ext]) };
}

/* A frame as a hint shows it. */
function describe(f) {
    if (f.opcode === 8) {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : '(none)';
        return `a close frame, code ${code}, reason ${JSON.stringify(f.payload.subarray(2).toString())}`;
    }
    const text = f.opcode === 1 ? JSON.stringify(f.payload.toString()) : hex(f.payload);
    return `fin ${f.fin}, opcode ${f.opcode}, masked ${f.masked}, ${f.payload.length} bytes: ${text.length > 200 ? text.slice(0, 200) + '...' : text}`;
}

function hex(buf, max = 24) {
    const h = buf.subarray(0, max).toString('hex').replace(/(..)/g, '$1 ').trim();
    return buf.length > max ? `${h} ... (${buf.length} bytes)` : h;
}

/*
 * Connects to port and does the opening handshake for target (default "/"); resolves with the
 * connection once a 101 came. checkAccept: also insist on the right Sec-WebSocket-Accept.
 */
async function wsOpen(port, { target = '/', key = 'dGhlIHNhbXBsZSBub25jZQ==', checkAccept = false, headers = '' } = {}) {
    const conn = await harness.tcpConnect(port);
    const sent = `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
                 `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n${headers}\r\n`;
    await conn.write(sent);
    let head;
    try {
        head = (await conn.readUntil('\r\n\r\n')).toString('latin1');
    } catch (err) {
        throw hint.make({ why: 'No handshake response.', sent, got: err.message });
    }
    hint.check(/^HTTP\/1\.1 101 /.test(head), {
        why: 'The handshake must succeed first.', sent, expected: '101 Switching Protocols', got: head,
    });
    if (checkAccept)
        hint.check(head.includes(`Sec-WebSocket-Accept: ${acceptFor(key)}\r\n`), {
            why: 'Sec-WebSocket-Accept = base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).',
            sent, expected: `Sec-WebSocket-Accept: ${acceptFor(key)}`, got: head,
        });
    conn.head = head;
    return conn;
}

/* The next text message on conn, as a string; a hint when something else comes. */
async function readText(conn, why, ms = 3000 * harness.timeoutScale) {
    let f;
    try {
        f = await readFrame(conn, ms);
    } catch (err) {
        throw hint.make({ why: `${why}: no message came (${err.message.replace(/^conn to \S+ /, '')}).` });
    }
    hint.check(f.opcode === 1 && f.fin, { why: `${why}: expected a text message.`, got: describe(f) });
    return f.payload.toString('utf8');
}

module.exports = { acceptFor, frame, readFrame, describe, hex, wsOpen, readText };
