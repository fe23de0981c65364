// requires: node chromium openssl certutil
// timeout: 180
'use strict';
/*
 * tls_browser.js - the chat room over https and wss in Chromium (headless), with a certificate
 * from a throwaway CA that the `openssl` command makes for this run.
 *
 * How Chromium comes to trust it: as a user's browser would, through the CA. On Linux Chromium
 * reads the trust store in ~/.pki/nssdb; the test makes one in a throwaway HOME with NSS's
 * certutil (Debian's libnss3-tools), adds the test CA to it as trusted for servers, and starts
 * the browser with that HOME. Nothing outside the temporary directory changes. A browser whose
 * HOME has no such database refuses the certificate, which shows it is the CA, not a lax
 * browser, that lets the page load.
 *
 * What it proves: ws-chat's page loads over https, connects back over wss (the page picks wss
 * because it came over https), two pages chat; a page sent to the https port over plain http
 * fails while the chat goes on. In a build without TLS the file has one test: ws-chat refuses
 * --tls-cert with exit 2.
 *
 * Run it alone after `make`: node tests/integration/tls_browser.js
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test, assert, log, startServer, launchChromium, run, runCommand } = require('../lib/harness');

const NO_TLS = /this build has no TLS/;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-tls-browser-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name) => path.join(dir, name);

async function openssl(args) {
    const r = await runCommand('openssl', args, { timeout: 30000 });
    if (r.code !== 0)
        throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/* A CA, and a certificate it signs for localhost and 127.0.0.1. */
async function makeCertificates() {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    await openssl(['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'),
                   '-days', '2', '-subj', '/CN=wirelab browser test CA']);
    await openssl(['req', ...ec, '-keyout', file('key.pem'), '-out', file('server.csr'),
                   '-subj', '/CN=localhost']);
    fs.writeFileSync(file('ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' +
                     'extendedKeyUsage=serverAuth\n');
    await openssl(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
                   '-CAcreateserial', '-days', '2', '-out', file('cert.pem'), '-extfile', file('ext')]);
}

/* A HOME whose NSS database (~/.pki/nssdb) trusts the test CA to identify servers ("C,,"). */
async function trustingHome() {
    const home = file('home');
    const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
    fs.mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
    for (const args of [['-N', '-d', db, '--empty-password'],
                        ['-A', '-d', db, '-n', 'wirelab browser test CA', '-t', 'C,,', '-i', file('ca.pem')]]) {
        const r = await runCommand('certutil', args, { timeout: 30000 });
        if (r.code !== 0)
            throw new Error(`certutil ${args.join(' ')}: ${r.stderr}`);
    }
    return { ...process.env, HOME: home };
}

function lines(page) {
    return page.$$eval('#messages li', (items) => items.map((li) => li.textContent));
}

async function waitLines(page, n) {
    await page.waitForFunction((count) => document.querySelectorAll('#messages li').length >= count, n,
                               { timeout: 10000 });
    return lines(page);
}

async function openChat(browser, url) {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open', null,
                               { timeout: 10000 });
    return page;
}

async function main() {
    const probe = await run('ws-chat', ['-p', '0', '--tls-cert', '/nonexistent', '--tls-key', '/nonexistent']);
    if (NO_TLS.test(probe.stderr)) {
        log('this build has no TLS');
        test('ws-chat --tls-cert: exit 2, this build has no TLS', () => {
            assert.equal(probe.code, 2);
        });
        return;
    }
    await makeCertificates();
    const tlsArgs = ['--tls-cert', file('cert.pem'), '--tls-key', file('key.pem')];

    test('Chromium, trusting the test CA, loads the chat over https and chats over wss', async () => {
        const server = await startServer('ws-chat', ['-v', ...tlsArgs]);
        const url = `https://localhost:${server.port}/`;
        const browser = await launchChromium({ env: await trustingHome() });
        const one = await openChat(browser, url);
        assert.equal(await one.evaluate(() => location.protocol), 'https:');
        const two = await openChat(browser, url);
        await one.fill('#content', 'hello over wss');
        await one.press('#content', 'Enter');
        assert.deepEqual(await waitLines(two, 2), ['user2 comes in', 'user1 says: hello over wss']);
        assert.deepEqual(await waitLines(one, 3), ['user1 comes in', 'user2 comes in', 'user1 says: hello over wss']);
        // The upgrade came over TLS: the server traced two secure connections carrying it.
        await server.waitForStderr(/upgrade/);
        assert.ok((server.stderrText().match(/ secureConnection /g) || []).length >= 3, 'page, then sockets, over TLS');

        // Plain http to the same port: that request fails, the chat goes on.
        const plain = await browser.newPage();
        const failed = await plain.goto(`http://localhost:${server.port}/`).then(() => null, (err) => err);
        assert.ok(failed, 'plain http to the https port did not fail');
        await two.fill('#content', 'still here');
        await two.press('#content', 'Enter');
        assert.equal((await waitLines(one, 4))[3], 'user2 says: still here');
    }, { timeout: 90000 });

    test('with a HOME that does not trust the CA, Chromium refuses the certificate', async () => {
        const server = await startServer('ws-chat', tlsArgs);
        fs.mkdirSync(file('bare-home'), { recursive: true });
        const browser = await launchChromium({ env: { ...process.env, HOME: file('bare-home') } });
        const page = await browser.newPage();
        const err = await page.goto(`https://localhost:${server.port}/`).then(() => null, (e) => e);
        assert.ok(err, 'the page loaded');
        assert.match(err.message, /ERR_CERT_AUTHORITY_INVALID/);
    }, { timeout: 60000 });
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
