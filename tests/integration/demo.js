// requires: node
// timeout: 240
'use strict';
/*
 * demo.js - `make demo` (tests/demo.sh) runs the whole tour unattended and cleans up after itself.
 *
 * The tour is the README's first command, so it is held to what the teaching-layer issue asks:
 * it finishes with status 0 when not run in a terminal (no pauses), walks through every section
 * (TCP, UDP, HTTP, WebSocket, server push), shows the traced events and the bytes on the wire
 * (a -x hexdump), ends with the browser demos' URLs, and leaves no program of ours running.
 * Run it alone after `make`: node tests/integration/demo.js
 */
const fs = require('node:fs');
const path = require('node:path');
const { test, assert, runCommand, bin, repoRoot, timeoutScale } = require('../lib/harness');

const binDir = path.dirname(bin('x'));

/* The PIDs of running processes whose executable lives in our bin directory. */
function ourProcesses() {
    const pids = [];
    for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry))
            continue;
        try {
            if (path.dirname(fs.readlinkSync(`/proc/${entry}/exe`)) === binDir)
                pids.push(Number(entry));
        } catch (err) {
            // gone already, or not ours to look at
        }
    }
    return pids;
}

test('make demo runs every section unattended and leaves nothing running', { timeout: 180000 }, async () => {
    const before = new Set(ourProcesses());
    const r = await runCommand('sh', [path.join(repoRoot, 'tests', 'demo.sh')], {
        timeout: 150000 * timeoutScale, env: { WIRELAB_BIN: binDir },
    });
    assert.equal(r.code, 0, `demo.sh exited ${r.code}:\n${r.stderr.slice(-2000)}`);
    for (const heading of ['1. TCP', '2. UDP', '3. HTTP', '4. WebSocket', '5. Server push', 'The browser demos'])
        assert.ok(r.stdout.includes(heading), `the tour shows "${heading}"`);
    assert.match(r.stdout, /tcp-server listening on 127\.0\.0\.1:\d+/, 'servers start on free ports');
    assert.match(r.stdout, /welcome to node tcphelloend/, "the tutorial's TCP exchange");
    assert.match(r.stdout, /#\d+ connection 127\.0\.0\.1:\d+/, 'the traced events are shown');
    assert.match(r.stdout, /^ *00000000 {2}[0-9a-f]{2} /m, 'the bytes on the wire are shown');
    assert.match(r.stdout, /http:\/\/127\.0\.0\.1:8888\//, 'the browser demos are named');
    const left = ourProcesses().filter((pid) => !before.has(pid));
    assert.deepEqual(left, [], 'no program of ours is left running');
});
