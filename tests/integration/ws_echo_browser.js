// requires: node chromium
// timeout: 120
'use strict';
/*
 * ws_echo_browser.js - ws-echo's page (websocket/up.html) in a real browser: Debian's Chromium,
 * headless, driven through playwright-core.
 *
 * What it proves: GET / serves a page that opens a WebSocket to the server it came from,
 * shows the connection as open, sends what is typed when send is clicked, and shows the echo;
 * with --prefix the echo carries the prefix (document 003); and when the server shuts down,
 * the page shows the close code 1001.
 *
 * Run it alone after `make`: node tests/integration/ws_echo_browser.js
 */
const { test, assert, startServer, launchChromium, timeoutScale } = require('../lib/harness');

const WAIT = 10000 * timeoutScale;

/* Opens the page and waits for its WebSocket to be open. */
async function openPage(server) {
    const browser = await launchChromium();
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(server.url('/'), { timeout: WAIT });
    await page.waitForSelector('#state.open', { timeout: WAIT });
    return { page, errors };
}

async function sendAndSee(page, text, expected) {
    await page.fill('#message', text);
    await page.click('#send');
    const echo = page.locator('#log li.received', { hasText: expected });
    await echo.first().waitFor({ timeout: WAIT });
    assert.equal(await page.locator('#log li.sent', { hasText: text }).count(), 1);
    return (await echo.first().textContent()).trim();
}

test('the page connects, sends what is typed, and shows the echo', { timeout: 60000 }, async () => {
    const server = await startServer('ws-echo');
    const { page, errors } = await openPage(server);
    assert.match(await page.textContent('#url'), new RegExp(`^ws://127\\.0\\.0\\.1:${server.port}/$`));
    assert.equal(await sendAndSee(page, 'hello from chromium', 'hello from chromium'), 'hello from chromium');
    assert.equal(await sendAndSee(page, '你好服务端', '你好服务端'), '你好服务端');
    // Markup in a message is shown as text, not interpreted.
    assert.equal(await sendAndSee(page, '<b>bold?</b>', '<b>bold?</b>'), '<b>bold?</b>');
    // The browser sends Origin: the page's own address.
    await server.waitForStdout(new RegExp(`^connection from 127\\.0\\.0\\.1:\\d+, origin http://127\\.0\\.0\\.1:${server.port}$`));
    await server.waitForStdout(/^server got: hello from chromium from 127\.0\.0\.1:\d+$/);
    assert.deepEqual(errors, []);
});

test('with --prefix the echo comes back with the prefix', { timeout: 60000 }, async () => {
    const server = await startServer('ws-echo', ['--prefix', '服务器说: ']);
    const { page } = await openPage(server);
    assert.equal(await sendAndSee(page, '你好', '服务器说: 你好'), '服务器说: 你好');
});

test('when the server shuts down the page shows close code 1001', { timeout: 60000 }, async () => {
    const server = await startServer('ws-echo');
    const { page } = await openPage(server);
    server.kill('SIGTERM');
    await page.waitForSelector('#state.closed', { timeout: WAIT });
    assert.match(await page.textContent('#state'), /^closed \(1001 server shutting down\)$/);
    const status = await server.wait(WAIT);
    assert.equal(status.code, 0);
});
