// requires: node
// timeout: 240
'use strict';
/*
 * install.js - `make install` puts every program and manual page under a prefixed name, and an
 * installed program works from any directory.
 *
 *   make install PREFIX=/ DESTDIR=<tmp>
 *     <tmp>/bin/wirelab-<program>              for every program in bin/, executable
 *     <tmp>/share/man/man1/wirelab-<program>.1 for every page in docs/man/
 *   an installed wirelab-ws-echo, started in an empty directory, serves its echo page (the
 *   pages are compiled in: nothing is read from the source tree) and still echoes;
 *   make uninstall PREFIX=/ DESTDIR=<tmp> removes them all again.
 *
 * make is run for the same build variant as the suite (SANITIZE=1 under `make check SANITIZE=1`,
 * TLS=0 for the notls builds), so it installs the programs just tested and builds nothing new.
 * Run it alone after `make`: node tests/integration/install.js
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test, assert, runCommand, spawnCommand, tcpConnect, bin, repoRoot, variant, timeoutScale } =
    require('../lib/harness');

const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-install.'));
const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-cwd.'));
process.on('exit', () => {
    fs.rmSync(stage, { recursive: true, force: true });
    fs.rmSync(elsewhere, { recursive: true, force: true });
});

const programs = fs.readdirSync(path.dirname(bin('x'))).sort();
const pages = fs.readdirSync(path.join(repoRoot, 'docs', 'man')).filter((f) => f.endsWith('.1')).sort();

/* make with this suite's variant, outside any make that may be running us. */
function make(target, extra = []) {
    const vars = [];
    if (variant.startsWith('san'))
        vars.push('SANITIZE=1');
    if (variant.endsWith('notls'))
        vars.push('TLS=0');
    const env = { ...process.env };
    for (const name of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES'])
        delete env[name];
    return runCommand('make', ['--no-print-directory', '-C', repoRoot, target, ...vars, ...extra],
                      { env, timeout: 180000 * timeoutScale });
}

function isExecutableFile(file) {
    try {
        const st = fs.statSync(file);
        return st.isFile() && (st.mode & 0o111) !== 0;
    } catch (e) {
        return false;
    }
}

test('make install PREFIX=/ DESTDIR=tmp installs wirelab-<program> and wirelab-<program>.1',
     { timeout: 200000 }, async () => {
    const r = await make('install', ['PREFIX=/', `DESTDIR=${stage}`]);
    assert.equal(r.code, 0, `make install failed:\n${r.stdout}\n${r.stderr}`);
    assert.ok(programs.length >= 11, `programs in bin/: ${programs}`);
    for (const prog of programs) {
        const file = path.join(stage, 'bin', `wirelab-${prog}`);
        assert.ok(isExecutableFile(file), `${file} is an executable file`);
        assert.ok(!fs.existsSync(path.join(stage, 'bin', prog)), `no unprefixed ${prog} installed`);
    }
    for (const page of pages) {
        const file = path.join(stage, 'share', 'man', 'man1', `wirelab-${page}`);
        assert.ok(fs.statSync(file).isFile(), `${file} installed`);
        assert.equal(fs.readFileSync(file, 'utf8'), fs.readFileSync(path.join(repoRoot, 'docs', 'man', page), 'utf8'));
    }
});

test('an installed program answers --version from anywhere', async () => {
    for (const prog of programs) {
        const r = await runCommand(path.join(stage, 'bin', `wirelab-${prog}`), ['--version'], { cwd: elsewhere });
        assert.equal(r.code, 0, `wirelab-${prog} --version: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^${prog} \\(wirelab\\) `));
    }
});

test('an installed ws-echo serves its page from another directory, and echoes', async () => {
    const server = spawnCommand(path.join(stage, 'bin', 'wirelab-ws-echo'), ['-p', '0'],
                                { cwd: elsewhere, label: 'wirelab-ws-echo' });
    const ready = await server.waitForStdout(/listening on 127\.0\.0\.1:(\d+)$/, 5000 * timeoutScale);
    const port = Number(ready[1]);

    const conn = await tcpConnect(port);
    await conn.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const answer = (await conn.readAll()).toString('utf8');
    assert.match(answer, /^HTTP\/1\.1 200 /, 'GET / is answered 200');
    assert.match(answer, /content-type: text\/html/i);
    assert.match(answer, /<title>ws-echo<\/title>/, 'the echo page comes from inside the program');

    const client = await runCommand(path.join(stage, 'bin', 'wirelab-ws-client'),
                                    ['--execute', 'hello', `ws://127.0.0.1:${port}/`], { cwd: elsewhere });
    assert.equal(client.code, 0, client.stderr);
    assert.equal(client.stdout, 'hello\n');
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('an installed manual page is found by man under its prefixed name', async (t) => {
    const which = await runCommand('sh', ['-c', 'command -v man']);
    if (which.code !== 0) {
        // As tests/run.sh does for a missing tool: a skip, except under CI=true.
        if (/^(true|1|yes)$/i.test(process.env.CI || ''))
            throw new Error('man not found (apt-get install man-db); with CI=true a skip is a failure');
        return t.skip('man not found (apt-get install man-db)');
    }
    const r = await runCommand('man', ['-M', path.join(stage, 'share', 'man'), 'wirelab-tcp-server'],
                               { env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wirelab-tcp-server/);
    assert.match(r.stdout, /--max-connections/);
});

test('make uninstall PREFIX=/ DESTDIR=tmp removes them', { timeout: 200000 }, async () => {
    const r = await make('uninstall', ['PREFIX=/', `DESTDIR=${stage}`]);
    assert.equal(r.code, 0, `make uninstall failed:\n${r.stdout}\n${r.stderr}`);
    const left = [];
    for (const dir of ['bin', path.join('share', 'man', 'man1')])
        for (const f of fs.readdirSync(path.join(stage, dir)))
            left.push(path.join(dir, f));
    assert.deepEqual(left, [], 'files left after uninstall');
});
