'use strict';
/*
 * lab2.js - grades lab 2, the UDP pinger (docs/labs/lab2.md).
 *
 * The student writes udp-client's reply matching (parse_seq, on_message), the round-trip
 * bookkeeping (count_reply) and ping's summary (print_summary). The pinger runs against
 * udp-server --echo, which loses datagrams from a seed (--drop, --seed) and answers late
 * (--delay), and against the grader's own UDP socket, which answers twice, out of order, or
 * with datagrams that answer nothing.
 */
const { gradedCase, hint, harness } = require('../lib/grader');
const { startServer, run, udpSocket, sleep } = harness;

const REPLY_RE = /^reply from 127\.0\.0\.1:(\d+): seq=(\d+) bytes=(\d+) time=(\d+\.\d{3}) ms( \(DUP!\))?$/;

/* The pinger's output, read: reply lines, strangers, the summary's numbers. */
function parsePing(stdout) {
    const lines = stdout.split('\n').filter((l) => l !== '');
    const replies = [];
    const strangers = [];
    let summary = null;
    let rtt = null;
    let header = null;
    for (const line of lines) {
        let m;
        if ((m = REPLY_RE.exec(line)))
            replies.push({ seq: Number(m[2]), bytes: Number(m[3]), time: Number(m[4]), dup: !!m[5] });
        else if (/not an answer to anything we sent$/.test(line))
            strangers.push(line);
        else if (/^--- .* udp ping statistics ---$/.test(line))
            header = line;
        else if ((m = /^(\d+) datagrams? sent, (\d+) repl(?:y|ies) received(?:, \+(\d+) duplicates)?, ([\d.e+-]+)% loss$/.exec(line)))
            summary = { line, sent: Number(m[1]), replies: Number(m[2]), dups: Number(m[3] || 0), loss: m[4] };
        else if ((m = /^rtt min\/avg\/max = (\d+\.\d{3})\/(\d+\.\d{3})\/(\d+\.\d{3}) ms$/.exec(line)))
            rtt = { min: Number(m[1]), avg: Number(m[2]), max: Number(m[3]), line };
    }
    return { replies, strangers, summary, rtt, header };
}

function ping(port, count, extra = [], wait = 1000) {
    return run('udp-client', ['-c', count, '-i', '10', '-w', wait, ...extra, '127.0.0.1', port], { timeout: 10000 });
}

function expectSummary(p, want, r) {
    hint.check(p.header !== null, { why: 'No "--- 127.0.0.1:PORT udp ping statistics ---" line.', got: r.stdout });
    hint.check(p.summary !== null, {
        why: 'No summary line like "10 datagrams sent, 6 replies received, 40% loss".', got: r.stdout,
    });
    const dups = want.dups ? `, +${want.dups} duplicates` : '';
    const plural = (n, one, many) => (n === 1 ? one : many);
    const line = `${want.sent} ${plural(want.sent, 'datagram', 'datagrams')} sent, ${want.replies} ` +
        `${plural(want.replies, 'reply', 'replies')} received${dups}, ${want.loss}% loss`;
    hint.equal(p.summary.line, line, { why: 'The summary line is not what this run should give.' });
}

gradedCase('no loss: every reply matched, timed, and summed up', 10, async () => {
    const server = await startServer('udp-server', ['--echo']);
    const r = await ping(server.port, 5);
    const p = parsePing(r.stdout);
    hint.equal(p.replies.map((x) => x.seq).join(','), '1,2,3,4,5',
        { why: 'One "reply from ...: seq=N bytes=B time=T ms" line per datagram, in order.', got: r.stdout });
    hint.check(p.replies.every((x) => x.bytes === 20), { why: 'Each reply holds 20 bytes ("seq=N hello node udp").', got: r.stdout });
    expectSummary(p, { sent: 5, replies: 5, loss: '0' }, r);
    hint.check(p.rtt !== null, { why: 'No "rtt min/avg/max = a/b/c ms" line.', got: r.stdout });
    hint.equal(r.code, 0, { why: 'Exit status with replies: 0.' });
});

gradedCase('loss from a seed: the replies are exactly the datagrams the server kept', 20, async () => {
    const server = await startServer('udp-server', ['--echo', '--drop', '35', '--seed', '7']);
    const r = await ping(server.port, 20);
    await sleep(100);
    const kept = server.stdoutLines().map((l) => /^server got: seq=(\d+) /.exec(l)).filter(Boolean).map((m) => Number(m[1]));
    const p = parsePing(r.stdout);
    hint.equal(p.replies.map((x) => x.seq).join(','), kept.join(','), {
        why: 'udp-server --echo --drop 35 --seed 7 answered these sequence numbers (its "server got" lines); ' +
             'the pinger should show a reply line for each, and for no other.',
        got: r.stdout,
    });
    const loss = String(Number(((20 - kept.length) * 100 / 20).toPrecision(6)));
    expectSummary(p, { sent: 20, replies: kept.length, loss }, r);
});

gradedCase('delay: round trips measure the server\'s 150 ms delay; min <= avg <= max', 15, async () => {
    const server = await startServer('udp-server', ['--echo', '--delay', '150']);
    const r = await ping(server.port, 4, [], 1500);
    const p = parsePing(r.stdout);
    hint.equal(p.replies.length, 4, { why: 'Four replies, each about 150 ms late.', got: r.stdout });
    hint.check(p.replies.every((x) => x.time >= 145 && x.time < 1000), {
        why: 'Each time= should be the round trip in milliseconds (sent_at to the reply), about 150 here.',
        got: r.stdout,
    });
    hint.check(p.rtt !== null, { why: 'No "rtt min/avg/max = a/b/c ms" line.', got: r.stdout });
    const times = p.replies.map((x) => x.time);
    const avg = times.reduce((a, b) => a + b, 0) / times.length;
    hint.check(Math.abs(p.rtt.min - Math.min(...times)) < 0.002 && Math.abs(p.rtt.max - Math.max(...times)) < 0.002 &&
               Math.abs(p.rtt.avg - avg) < 0.01, {
        why: 'min, avg and max must be those of the time= values printed above.',
        expected: `${Math.min(...times).toFixed(3)}/${avg.toFixed(3)}/${Math.max(...times).toFixed(3)}`,
        got: p.rtt.line,
    });
});

/* A server played by the grader: answer(socket, datagram) decides what goes back. */
async function fakeServer(answer) {
    const sock = await udpSocket();
    let stop = false;
    (async () => {
        while (!stop) {
            let d;
            try {
                d = await sock.receive(20000);
            } catch (err) {
                return;
            }
            await answer(sock, d);
        }
    })();
    return { sock, port: sock.port, close: () => { stop = true; } };
}

gradedCase('duplicates: a second reply to the same request is marked (DUP!) and not counted twice', 15, async () => {
    const fake = await fakeServer(async (sock, d) => {
        await sock.send(d.data, d.port, d.address);
        await sock.send(d.data, d.port, d.address);
    });
    const r = await ping(fake.port, 3, [], 500);
    fake.close();
    const p = parsePing(r.stdout);
    const dups = p.replies.filter((x) => x.dup).length;
    hint.check(p.replies.length >= 5 && dups >= 2, {
        why: 'Every datagram was answered twice: the second reply line of each ends with " (DUP!)".',
        sent: '3 datagrams, each echoed twice', got: r.stdout,
    });
    hint.check(p.summary && p.summary.replies === 3 && p.summary.dups >= 2, {
        why: 'The summary counts 3 replies and the duplicates apart: "3 datagrams sent, 3 replies received, +N duplicates, 0% loss".',
        got: r.stdout,
    });
});

gradedCase('out of order: each late reply is matched to its own request by number', 15, async () => {
    let held = null;
    const fake = await fakeServer(async (sock, d) => {
        const seq = Number(/^seq=(\d+)/.exec(d.data.toString('latin1'))[1]);
        if (seq === 1) {
            held = d;   // answered after request 3
            return;
        }
        await sock.send(d.data, d.port, d.address);
        if (seq === 3) {
            await sleep(50);
            await sock.send(held.data, held.port, held.address);
        }
    });
    const r = await run('udp-client', ['-c', '3', '-i', '100', '-w', '1000', '127.0.0.1', fake.port], { timeout: 10000 });
    fake.close();
    const p = parsePing(r.stdout);
    hint.equal(p.replies.map((x) => x.seq).join(','), '2,3,1',
        { why: 'The replies came as 2, 3, then 1 (held back): one line each, in that order.', got: r.stdout });
    const one = p.replies.find((x) => x.seq === 1);
    const two = p.replies.find((x) => x.seq === 2);
    hint.check(one.time > 200 && two.time < 100, {
        why: "seq=1's reply came about 250 ms after its send; seq=2's at once. Each time is its own request's.",
        got: r.stdout,
    });
    expectSummary(p, { sent: 3, replies: 3, loss: '0' }, r);
});

gradedCase('strangers: replies that answer nothing are reported and not counted', 10, async () => {
    const fake = await fakeServer(async (sock, d) => {
        await sock.send('no number here', d.port, d.address);
        await sock.send('seq=99 from the future', d.port, d.address);
        await sock.send(`seq=${'9'.repeat(30)} overflow`, d.port, d.address);
        await sock.send(d.data, d.port, d.address);
    });
    const r = await ping(fake.port, 2, [], 500);
    fake.close();
    const p = parsePing(r.stdout);
    hint.check(p.strangers.length === 6, {
        why: 'Each of the three stray datagrams per request gives a line "reply from ADDR: bytes=N, not an answer to anything we sent".',
        sent: 'per request: "no number here", "seq=99 from the future", "seq=999...9 overflow", then the echo', rawSent: true,
        got: r.stdout,
    });
    hint.equal(p.replies.map((x) => x.seq).join(','), '1,2', { got: r.stdout });
    expectSummary(p, { sent: 2, replies: 2, loss: '0' }, r);
});

gradedCase('all lost: 100% loss, no rtt line, exit status 1', 15, async () => {
    const server = await startServer('udp-server', ['--echo', '--drop', '100', '--seed', '1']);
    const r = await ping(server.port, 1, [], 300);
    const p = parsePing(r.stdout);
    expectSummary(p, { sent: 1, replies: 0, loss: '100' }, r);
    hint.check(p.rtt === null, { why: 'Without a reply there are no round trips: no rtt line.', got: r.stdout });
    hint.equal(r.code, 1, { why: 'ping\'s way: no reply at all is a failure (exit status 1).' });
});
