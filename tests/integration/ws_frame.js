// requires: node
// timeout: 60
'use strict';
/*
 * ws_frame.js - ws-frame, the handshake and frame calculator, against the vectors of RFC 6455,
 * the tutorials (SECTIONS.md) and the draft-76 specification, and against Node's own crypto.
 *
 * What it proves:
 *   - accept: the four Sec-WebSocket-Accept vectors, and a key that is not base64 of 16 bytes
 *     is still answered but flagged (exit 1);
 *   - decode: RFC 6455 section 5.7's masked "Hello", field by field and unmasked; several
 *     frames in one input; the extended lengths; and each broken rule named with its close code
 *     (exit 1);
 *   - encode: the section 5.7 frames byte for byte, and decode(encode(x)) == x for text, binary,
 *     ping and close frames of every length form;
 *   - hixie76: the draft's own vector, 8jKS'y:G*Co,Wxa-;
 *   - usage errors exit 2.
 *
 * Run it alone after `make`: node tests/integration/ws_frame.js
 */
const crypto = require('node:crypto');
const { test, assert, run } = require('../lib/harness');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function frame(...args) {
    return run('ws-frame', args);
}

/* The "payload (...): X" line of a decode, as [kind, value]. */
function payloadLine(stdout) {
    const m = /^payload \(([^)]*)\): (.*)$/m.exec(stdout);
    return m ? [m[1], m[2]] : null;
}

// ---------------------------------------------------------------------------------------------
// accept

const ACCEPT_VECTORS = [
    ['dGhlIHNhbXBsZSBub25jZQ==', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='], // RFC 6455 section 1.3
    ['uR5YP/BMO6M24tAFcmHeXw==', 'eS92kXpBNI6fWsCkj6WxH6QeoHs='], // document 000
    ['IHfMdf8a0aQXbwQO1pkGdA==', 'aWAY+V/uyz5ILZEoWuWdxjnlb7E='],
    ['O/SldTn2Th7GfsD07IxrwQ==', 'H8BlFmSUnXVpM4+scTXjZIwFjzs='], // document 003
];

test('accept: the RFC 6455 and tutorial vectors', async () => {
    for (const [key, accept] of ACCEPT_VECTORS) {
        const r = await frame('accept', key);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, accept + '\n');
    }
});

test('accept: agrees with sha1 + base64 from Node for random keys', async () => {
    for (let i = 0; i < 5; i++) {
        const key = crypto.randomBytes(16).toString('base64');
        const want = crypto.createHash('sha1').update(key + GUID).digest('base64');
        const r = await frame('accept', key);
        assert.equal(r.stdout.trim(), want);
    }
});

test('accept: a key that is not base64 of 16 bytes is answered but flagged (exit 1)', async () => {
    const r = await frame('accept', 'not-a-key');
    assert.equal(r.code, 1);
    assert.equal(r.stdout.trim(), crypto.createHash('sha1').update('not-a-key' + GUID).digest('base64'));
    assert.match(r.stderr, /not a valid Sec-WebSocket-Key.*400/);
});

// ---------------------------------------------------------------------------------------------
// decode

test('decode: RFC 6455 section 5.7, a masked "Hello" from a client', async () => {
    const r = await frame('decode', '81', '85', '37', 'fa', '21', '3d', '7f', '9f', '4d', '51', '58');
    assert.equal(r.code, 0, r.stderr);
    for (const line of ['FIN: 1', 'RSV1: 0', 'RSV2: 0', 'RSV3: 0', 'opcode: 0x1 (text)', 'MASK: 1',
                        'payload len: 5', 'masking-key: 37 fa 21 3d'])
        assert.ok(r.stdout.split('\n').includes(line), `no line "${line}" in:\n${r.stdout}`);
    assert.deepEqual(payloadLine(r.stdout), ['unmasked, text', 'Hello']);
});

test('decode: hex without spaces, and several frames one after another', async () => {
    // Section 5.7: an unmasked "Hello", then its two fragments "Hel" + "lo", then a ping.
    const r = await frame('decode', '810548656c6c6f' + '010348656c' + '80026c6f' + '890548656c6c6f');
    assert.equal(r.code, 0, r.stderr);
    const frames = r.stdout.split(/^frame \d+/m).slice(1);
    assert.equal(frames.length, 4, r.stdout);
    assert.match(frames[1], /^FIN: 0$/m);
    assert.match(frames[2], /opcode: 0x0 \(continuation\)/);
    assert.match(frames[3], /opcode: 0x9 \(ping\)/);
    assert.deepEqual(payloadLine(frames[3]), ['text', 'Hello']);
});

test('decode: stdin, the 16-bit length form, and a binary payload in hex', async () => {
    const payload = Buffer.alloc(256, 0xab);
    const bytes = Buffer.concat([Buffer.from([0x82, 0x7e, 0x01, 0x00]), payload]);
    const r = await run('ws-frame', ['decode'], { input: bytes.toString('hex') + '\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^payload len: 126 \(a 16-bit extended payload length follows\)$/m);
    assert.match(r.stdout, /^extended payload length: 256$/m);
    assert.deepEqual(payloadLine(r.stdout), ['hex', payload.toString('hex').match(/../g).join(' ')]);
});

test('decode: a close frame shows its code and reason', async () => {
    const r = await frame('decode', '88 05 03 e8 62 79 65');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^close code: 1000$/m);
    assert.match(r.stdout, /^close reason: bye$/m);
});

const BROKEN = [
    ['91 00', /RSV1, RSV2 or RSV3 is set.*1002/],
    ['83 00', /opcode is reserved.*1002/],
    ['09 00', /control frame is fragmented.*1002/],
    ['80 00', /continuation frame with no message.*1002/],
    ['01 01 61 81 01 62', /new message before the previous one ended.*1002/],
    ['81 02 c3 28', /not valid UTF-8.*1007/],
    ['88 02 03 ed', /close code is not allowed on the wire.*1002/],   // 1005 is never sent
    ['88 01 03', /close payload of 1 byte.*1002/],
    ['89 7e 00 7e' + ' 00'.repeat(126), /control frame's length.*1002/],
    ['81 05 48 65', /payload is cut short/],
    ['81 7e 01', /header is cut short/],
];

test('decode: each broken rule is named with its close code (exit 1)', async () => {
    for (const [hex, why] of BROKEN) {
        const r = await frame('decode', hex);
        assert.equal(r.code, 1, `${hex}: exit ${r.code}\n${r.stdout}${r.stderr}`);
        assert.match(r.stderr, why, hex);
        assert.equal(r.stderr.trim().split('\n').length, 1, `one line on stderr for ${hex}`);
    }
});

// ---------------------------------------------------------------------------------------------
// encode

test('encode: the section 5.7 frames byte for byte', async () => {
    const cases = [
        [['--text', 'Hello'], '81 05 48 65 6c 6c 6f'],
        [['--text', 'Hello', '--mask', '37fa213d'], '81 85 37 fa 21 3d 7f 9f 4d 51 58'],
        [['--text', 'Hel', '--fin', '0'], '01 03 48 65 6c'],
        [['--text', 'lo', '--opcode', 'continuation'], '80 02 6c 6f'],
        [['--text', 'Hello', '--opcode', 'ping'], '89 05 48 65 6c 6c 6f'],
        [['--text', 'Hello', '--opcode', 'pong', '--mask', '37fa213d'], '8a 85 37 fa 21 3d 7f 9f 4d 51 58'],
        [['--close', '1000', '--text', 'bye'], '88 05 03 e8 62 79 65'],
        [['--binary', 'deadbeef'], '82 04 de ad be ef'],
        [['--opcode', 'ping'], '89 00'],
    ];
    for (const [args, hex] of cases) {
        const r = await frame('encode', ...args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout, hex + '\n', args.join(' '));
    }
});

/* Encodes, checks the first bytes, decodes the output again; returns the decode's stdout. */
async function roundTrip(args, firstByte) {
    const enc = await frame('encode', ...args, '--mask', 'random');
    assert.equal(enc.code, 0, enc.stderr);
    const bytes = Buffer.from(enc.stdout.replace(/\s+/g, ''), 'hex');
    assert.equal(bytes[0], firstByte);
    assert.equal(bytes[1] & 0x80, 0x80, 'masked');
    const dec = await run('ws-frame', ['decode'], { input: enc.stdout });
    assert.equal(dec.code, 0, dec.stderr);
    return dec.stdout;
}

function lengthForm(stdout, size) {
    const bits = size < 126 ? 7 : size < 65536 ? 16 : 64;
    if (bits === 7)
        assert.match(stdout, new RegExp(`^payload len: ${size}$`, 'm'));
    else
        assert.match(stdout, new RegExp(`a ${bits}-bit extended payload length follows`));
}

test('encode then decode gives the payload back, in every length form', async () => {
    // Binary up to 65535 bytes: 64 KiB in hex would pass the kernel's limit for one argument.
    for (const size of [0, 1, 125, 126, 65535]) {
        const payload = crypto.randomBytes(size);
        const out = await roundTrip(['--binary', payload.toString('hex')], 0x82);
        lengthForm(out, size);
        if (size === 0) {
            assert.match(out, /^payload: \(empty\)$/m);
            continue;
        }
        const [kind, value] = payloadLine(out);
        assert.equal(kind, 'unmasked, hex');
        assert.ok(Buffer.from(value.replace(/ /g, ''), 'hex').equals(payload), `size ${size}`);
    }
    for (const size of [5, 65536]) {
        const text = crypto.randomBytes(size).toString('base64').slice(0, size);
        const out = await roundTrip(['--text', text], 0x81);
        lengthForm(out, size);
        assert.deepEqual(payloadLine(out), ['unmasked, text', text]);
    }
    const close = await roundTrip(['--close', '4000', '--text', '再见'], 0x88);
    assert.match(close, /^close code: 4000$/m);
    assert.match(close, /^close reason: 再见$/m);
});

test('encode: a frame that would break a rule is refused (exit 1)', async () => {
    const cases = [
        [['--opcode', 'ping', '--fin', '0'], /control frame cannot be fragmented/],
        [['--opcode', 'ping', '--text', 'x'.repeat(126)], /at most 125 bytes/],
        [['--opcode', '3'], /opcode is reserved/],
    ];
    for (const [args, why] of cases) {
        const r = await frame('encode', ...args);
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.stderr, why);
        assert.equal(r.stdout, '');
    }
});

// ---------------------------------------------------------------------------------------------
// hixie76

test('hixie76: the draft-76 vector', async () => {
    const r = await frame('hixie76', '4 @1  46546xW%0l 1 5', '12998 5 Y3 1  .P00', '^n:ds[4U');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^answer: 8jKS'y:G\*Co,Wxa-$/m);
    assert.match(r.stdout, /4146546015 \(its digits\) \/ 5 \(its spaces\) = 829309203/);
    assert.match(r.stdout, /^answer \(hex\): 38 6a 4b 53 27 79 3a 47 2a 43 6f 2c 57 78 61 2d$/m);
    // The same with key3 in hex.
    const hex = await frame('hixie76', '4 @1  46546xW%0l 1 5', '12998 5 Y3 1  .P00', '5e:6e:3a:64:73:5b:34:55');
    assert.match(hex.stdout, /^answer: 8jKS'y:G\*Co,Wxa-$/m);
});

test('hixie76: document 001\'s captured keys do not divide evenly (exit 1)', async () => {
    const r = await frame('hixie76', 'p2 G 947T 80 661 jAf2', 'z Z Q ^326 5 9= 7s1 1 7H4',
                          '7C:44:56:CA:1F:19:D2:0A');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /not a whole number/);
    assert.match(r.stderr, /aborts the connection/);
});

// ---------------------------------------------------------------------------------------------
// usage

test('usage errors exit 2 with one line and a hint', async () => {
    const cases = [[], ['frob'], ['accept'], ['accept', 'a', 'b'], ['decode', 'zz'], ['decode', '8'],
                   ['decode', ''], ['encode', '--text', 'a', '--binary', '00'], ['encode', '--fin', '2'],
                   ['encode', '--mask', '1234'], ['encode', 'stray'], ['hixie76', 'a', 'b'],
                   ['hixie76', '1 ', '1 ', 'short'], ['--bogus']];
    for (const args of cases) {
        const r = await frame(...args);
        assert.equal(r.code, 2, `ws-frame ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
        assert.match(r.stderr, /Try 'ws-frame --help'/);
    }
    const help = await frame('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: ws-frame/);
});
