// requires: node chromium
// timeout: 180
'use strict';
/*
 * ws_chat_browser.js - the chat room as students use it: ws-chat serves its page, and two
 * Chromium pages (headless) chat through it.
 *
 * What it proves: the page loads from ws-chat and connects back to the same host and port; the
 * state goes connecting -> open; Enter and the send button both send; each page shows every
 * member's messages and the enter notices, in order; what users type is shown as text, never
 * as markup; closing one page tells the other "user1 left"; stopping the server shows "closed".
 *
 * Run it alone after `make`: node tests/integration/ws_chat_browser.js
 */
const { test, assert, startServer, launchChromium } = require('../lib/harness');

/* The texts of the page's message list. */
function lines(page) {
    return page.$$eval('#messages li', (items) => items.map((li) => li.textContent));
}

/* Waits until the page's message list holds n lines, and returns them. */
async function waitLines(page, n) {
    await page.waitForFunction((count) => document.querySelectorAll('#messages li').length >= count, n,
                               { timeout: 10000 });
    return lines(page);
}

async function openChat(browser, server) {
    const page = await browser.newPage();
    await page.goto(server.url('/'));
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open', null,
                               { timeout: 10000 });
    return page;
}

test('two pages chat through ws-chat; closing one tells the other', async () => {
    const server = await startServer('ws-chat');
    const browser = await launchChromium();
    const one = await openChat(browser, server);
    assert.deepEqual(await waitLines(one, 1), ['user1 comes in']);
    const two = await openChat(browser, server);
    assert.deepEqual(await waitLines(one, 2), ['user1 comes in', 'user2 comes in']);
    assert.deepEqual(await waitLines(two, 1), ['user2 comes in']);

    // Page one types and presses Enter; page two clicks the button.
    await one.fill('#content', 'hello from one');
    await one.press('#content', 'Enter');
    await waitLines(one, 3);
    await waitLines(two, 2);
    await two.fill('#content', 'hi from two, <b>not bold</b> & "quoted"');
    await two.click('#send');
    const said = ['user1 says: hello from one', 'user2 says: hi from two, <b>not bold</b> & "quoted"'];
    assert.deepEqual(await waitLines(one, 4), ['user1 comes in', 'user2 comes in', ...said]);
    assert.deepEqual(await waitLines(two, 3), ['user2 comes in', ...said]);
    assert.equal(await two.$$eval('#messages b', (b) => b.length), 0, 'a message became markup');
    assert.equal(await one.inputValue('#content'), '', 'the box was not cleared after sending');

    await one.close();
    assert.deepEqual(await waitLines(two, 4), ['user2 comes in', ...said, 'user1 left']);

    // The server goes away: the page says so.
    assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null });
    await two.waitForFunction(() => document.getElementById('state').textContent === 'closed', null,
                              { timeout: 10000 });
    const last = (await lines(two)).pop();
    assert.equal(last, 'closed: 1001 server shutting down');
}, { timeout: 90000 });
