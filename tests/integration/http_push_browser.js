// requires: node chromium
// timeout: 240
'use strict';
/*
 * http_push_browser.js - http-push's pages as students use them: headless Chromium opens each
 * technique's page and watches the server's clock arrive.
 *
 * What it proves: every page (polling, long polling, iframe, SSE, WebSocket) shows at least
 * three updates, all five open side by side in one browser on one server; each counts its
 * cost (requests, bytes, latency); polling's request counter agrees with the requests the
 * server's -v trace saw; long polling's updates come at multiples of 5 s, one request each;
 * iframe, SSE and WebSocket need one request; the WebSocket page gets 服务器说 + what is typed;
 * the EventSource page reconnects each time the server drops it (--sse-drop-after) and goes
 * on from the right id: no gap, no repeat.
 *
 * Run it alone after `make`: node tests/integration/http_push_browser.js
 */
const { test, assert, startServer, launchChromium, waitFor } = require('../lib/harness');

const PAGES = ['/polling', '/long-polling', '/iframe', '/sse', '/websocket'];

/* The page's cost panel, as numbers. */
async function panel(page) {
    return page.evaluate(() => {
        const number = (id) => Number(document.getElementById(id).textContent);
        return {
            time: document.getElementById('time').textContent,
            updates: number('updates'),
            requests: number('requests'),
            bytes: number('bytes'),
            latency: number('latency'),
            average: number('average'),
        };
    });
}

async function waitUpdates(page, n, ms) {
    await page.waitForFunction((count) => Number(document.getElementById('updates').textContent) >= count,
                               n, { timeout: ms });
    return panel(page);
}

test('all five pages side by side: each shows three updates and counts its cost', async (t) => {
    const server = await startServer('http-push', ['-v']);
    const browser = await launchChromium();
    const context = await browser.newContext();
    const index = await context.newPage();
    await index.goto(server.url('/'));
    const links = await index.$$eval('a', (as) => as.map((a) => a.getAttribute('href')));
    for (const p of PAGES)
        assert.ok(links.includes(p), `the index links to ${p}`);

    const pages = {};
    for (const p of PAGES) {
        pages[p] = await context.newPage();
        await pages[p].goto(server.url(p), { waitUntil: 'domcontentloaded' });
    }
    // Long polling updates every 5 s: three take up to 15 s.
    const seen = {};
    await Promise.all(PAGES.map(async (p) => { seen[p] = await waitUpdates(pages[p], 3, 30000); }));
    for (const p of PAGES) {
        const s = seen[p];
        t.log(`${p}: ${s.updates} updates, ${s.requests} requests, ${s.bytes} bytes, latency ${s.average} ms on average`);
        assert.match(s.time, /^\d\d:\d\d:\d\d$/, `${p} shows the time`);
        assert.ok(s.bytes > 0, `${p} counts bytes`);
        assert.ok(Number.isFinite(s.latency) && s.latency >= 0 && s.latency < 2000, `${p} latency ${s.latency}`);
    }
    assert.ok(seen['/polling'].requests >= seen['/polling'].updates, 'polling: a request per update at least');
    for (const p of ['/iframe', '/sse', '/websocket'])
        assert.equal(seen[p].requests, 1, `${p}: one request carries every update`);

    // Polling counts its requests: the page's counter against the server's trace.
    const polls = await panel(pages['/polling']);
    const traced = server.stderrLines().filter((l) => / request \S+ GET \/clock HTTP\/1\.1$/.test(l)).length;
    assert.ok(traced >= polls.requests - 1 && traced <= polls.requests + 1,
              `the page counted ${polls.requests} requests, the server saw ${traced}`);

    // Long polling: each update at a multiple of 5 s, one request each.
    const long = await panel(pages['/long-polling']);
    assert.equal(Number(long.time.slice(-2)) % 5, 0, `long polling shows ${long.time}`);
    assert.ok(long.requests <= long.updates + 1, 'long polling: one request per update (and one waiting)');

    // The WebSocket page: what is typed comes back after 服务器说.
    const ws = pages['/websocket'];
    await ws.fill('#content', '你好');
    await ws.click('#send');
    await ws.waitForFunction(() => [...document.querySelectorAll('#replies li')].some((li) => li.textContent === '服务器说你好'),
                             null, { timeout: 5000 });
    await context.close();
    // Every stream is noticed leaving, and the server stops cleanly.
    await waitFor(() => server.stdoutLines().filter((l) => /closed after/.test(l)).length >= 3, 5000,
                  'the server saw the iframe, SSE and WebSocket clients leave');
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null });
}, { timeout: 90000 });

test('EventSource reconnects when the server drops it and goes on from the right id', async (t) => {
    const server = await startServer('http-push', ['--interval', '200', '--sse-drop-after', '4']);
    const browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(server.url('/sse'));
    // Three connections: dropped twice, each time resumed with Last-Event-ID (retry: 2000).
    await page.waitForFunction(() => Number(document.getElementById('requests').textContent) >= 3, null,
                               { timeout: 20000 });
    await waitUpdates(page, 12, 10000);
    const state = await page.evaluate(() => ({
        lastId: Number(document.getElementById('last-id').textContent),
        gaps: Number(document.getElementById('gaps').textContent),
        repeats: Number(document.getElementById('repeats').textContent),
        updates: Number(document.getElementById('updates').textContent),
    }));
    t.log(`after two reconnections: last id ${state.lastId}, ${state.updates} updates, ` +
          `${state.gaps} gaps, ${state.repeats} repeats`);
    assert.equal(state.gaps, 0, 'no id was missed');
    assert.equal(state.repeats, 0, 'no id came twice');
    // Every id from the first one the page saw to the last came once: updates = ids in the range.
    assert.ok(state.lastId - state.updates + 1 >= 1, 'no update without an id of its own');
    // Each connection carries its replay and then four live events: so each resumes 4 + the
    // previous replay after the one before.
    const resumed = server.stdoutLines().map((l) => /^sse #\d+ \S+ open, resuming after id (\d+): (\d+) events replayed$/.exec(l))
        .filter(Boolean).map((m) => ({ after: Number(m[1]), replayed: Number(m[2]) }));
    assert.ok(resumed.length >= 2, 'the server saw the browser resume twice');
    for (let i = 1; i < resumed.length; i++)
        assert.equal(resumed[i].after, resumed[i - 1].after + resumed[i - 1].replayed + 4,
                     `resume ${i + 1} follows resume ${i}: ${JSON.stringify(resumed)}`);
    assert.ok(resumed.every((r) => r.replayed >= 1), 'the ticks during the 2 s wait were replayed');
    // Closed first: a browser keeps an idle keep-alive connection open after the server's FIN,
    // and the server would wait its 2 s of grace for it.
    await page.close();
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null });
}, { timeout: 60000 });
