'use strict';
/*
 * lab6.js - grades lab 6, the chat room (docs/labs/lab6.md).
 *
 * The student writes ws-chat's room: the member list (room_add, room_remove), the broadcast,
 * the message handler (text to everyone, binary refused with 1003) and the JSON escaping of
 * what members type. Each case starts ws-chat on loopback, port 0, and joins with raw
 * WebSocket clients; every message is the document's JSON: {"type":"enter"|"message"|"leave",
 * "data":"..."}.
 */
const { gradedCase, hint, harness } = require('../lib/grader');
const { frame, readFrame, describe, wsOpen, readText } = require('../lib/ws');
const { startServer, sleep } = harness;

function chat() {
    return startServer('ws-chat');
}

/* The next message must be exactly want (an object, compared as JSON.stringify writes it). */
async function expectMessage(conn, who, want, sent) {
    const text = await readText(conn, `${who} waits for ${JSON.stringify(want)}`);
    hint.equal(text, JSON.stringify(want), { why: `What ${who} received.`, sent });
}

gradedCase('the first member hears its own arrival: user1 comes in', 15, async () => {
    const server = await chat();
    const a = await wsOpen(server.port);
    await expectMessage(a, 'user1', { type: 'enter', data: 'user1 comes in' }, 'user1 joins an empty room');
});

gradedCase('a second member: both hear user2 comes in', 15, async () => {
    const server = await chat();
    const a = await wsOpen(server.port);
    await readText(a, 'user1 waits for its own enter');
    const b = await wsOpen(server.port);
    await expectMessage(a, 'user1', { type: 'enter', data: 'user2 comes in' }, 'user2 joins');
    await expectMessage(b, 'user2', { type: 'enter', data: 'user2 comes in' }, 'user2 joins');
});

gradedCase('messages reach every member, in order', 20, async () => {
    const server = await chat();
    const a = await wsOpen(server.port);
    await readText(a, 'user1 waits for its own enter');
    const b = await wsOpen(server.port);
    await readText(a, 'user1 waits for user2 comes in');
    await readText(b, 'user2 waits for its own enter');
    const lines = ['hi', 'how are you?', '你好'];
    for (const l of lines)
        await a.write(frame(1, l));
    for (const [conn, who] of [[a, 'user1'], [b, 'user2']])
        for (const l of lines)
            await expectMessage(conn, who, { type: 'message', data: `user1 says: ${l}` }, `user1 sends ${JSON.stringify(lines)}`);
    // (user2 answers only now: messages from two connections have no order between them.)
    await b.write(frame(1, 'fine'));
    for (const [conn, who] of [[a, 'user1'], [b, 'user2']])
        await expectMessage(conn, who, { type: 'message', data: 'user2 says: fine' }, 'then user2 sends "fine"');
});

gradedCase('a member who leaves is announced, and the room goes on', 15, async () => {
    const server = await chat();
    const a = await wsOpen(server.port);
    await readText(a, 'user1 waits for its own enter');
    const b = await wsOpen(server.port);
    await readText(a, 'user1 waits for user2 comes in');
    const c = await wsOpen(server.port);
    await readText(a, 'user1 waits for user3 comes in');
    await b.write(frame(8, Buffer.from([0x03, 0xe8])));   // close, 1000
    await expectMessage(a, 'user1', { type: 'leave', data: 'user2 left' }, 'user2 sends a close frame (1000)');
    c.destroy();   // user3's TCP connection vanishes without a close frame
    await expectMessage(a, 'user1', { type: 'leave', data: 'user3 left' }, "user3's connection is dropped (no close frame)");
    await a.write(frame(1, 'anyone?'));
    await expectMessage(a, 'user1', { type: 'message', data: 'user1 says: anyone?' }, 'user1 speaks after the others left');
    hint.check(server.status === null, { why: 'ws-chat exited: a member that left must not be used after it is freed.' });
});

gradedCase('what members type is escaped as JSON', 15, async () => {
    const server = await chat();
    const a = await wsOpen(server.port);
    await readText(a, 'user1 waits for its own enter');
    const tricky = 'say "hi" \\ back\nslash\ttab\r\u0001\u001f end';
    await a.write(frame(1, tricky));
    const text = await readText(a, 'user1 waits for its message');
    let parsed = null;
    try {
        parsed = JSON.parse(text);
    } catch (err) {
        // shown below
    }
    hint.check(parsed !== null, {
        why: 'The broadcast is not valid JSON: quotes, backslashes and control characters must be escaped.',
        sent: tricky, got: text,
    });
    hint.equal(text, JSON.stringify({ type: 'message', data: `user1 says: ${tricky}` }),
        { why: 'Escaped the way JSON.stringify escapes.', sent: tricky });
});

gradedCase('a binary message is refused with close code 1003; the others hear the member left', 10, async () => {
    const server = await chat();
    const a = await wsOpen(server.port);
    await readText(a, 'user1 waits for its own enter');
    const b = await wsOpen(server.port);
    await readText(a, 'user1 waits for user2 comes in');
    await readText(b, 'user2 waits for its own enter');
    await b.write(frame(2, Buffer.from([1, 2, 3])));
    let f;
    try {
        f = await readFrame(b);
    } catch (err) {
        throw hint.make({ why: 'user2 sent a binary message and expected a close frame with code 1003.', got: err.message });
    }
    hint.check(f.opcode === 8 && f.payload.length >= 2 && f.payload.readUInt16BE(0) === 1003, {
        why: 'The room speaks text only: a binary message closes that member with 1003.',
        sent: 'a binary message 01 02 03', rawSent: true, expected: 'a close frame, code 1003', got: describe(f),
    });
    await b.write(frame(8, f.payload.subarray(0, 2)));
    await expectMessage(a, 'user1', { type: 'leave', data: 'user2 left' }, 'user2 was closed for its binary message');
});

gradedCase('five members: each hears every message', 10, async () => {
    const server = await chat();
    const members = [];
    for (let i = 0; i < 5; i++) {
        members.push(await wsOpen(server.port));
        await sleep(20);
    }
    // Each member hears its own enter and those of the ones after it.
    for (let i = 0; i < 5; i++)
        for (let j = i; j < 5; j++)
            await expectMessage(members[i], `user${i + 1}`, { type: 'enter', data: `user${j + 1} comes in` }, 'five members join in turn');
    for (let i = 0; i < 5; i++) {
        await members[i].write(frame(1, `message ${i + 1}`));
        for (let k = 0; k < 5; k++)
            await expectMessage(members[k], `user${k + 1}`, { type: 'message', data: `user${i + 1} says: message ${i + 1}` }, `user${i + 1} speaks`);
    }
});
