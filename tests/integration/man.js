// requires: node
// timeout: 60
'use strict';
/*
 * man.js - every program has a manual page, and the page cannot drift from the program.
 *
 * For each program in bin/ (whatever is there: a new program without a page fails here):
 *   - docs/man/<program>.1 exists and has the sections a reader looks for (NAME, SYNOPSIS,
 *     DESCRIPTION, OPTIONS, EXIT STATUS, EXAMPLES, SEE ALSO);
 *   - every long option that `<program> --help` prints appears in the page, and every option
 *     the page's OPTIONS section lists is one that --help prints (so a renamed or removed
 *     option shows up on both sides);
 *   - where man(1) is installed, `man -l` renders the page without a warning.
 *
 * The pages are roff source: an option is written there as \-\-name, which this test reads
 * back as --name. Run it alone after `make`: node tests/integration/man.js
 */
const fs = require('node:fs');
const path = require('node:path');
const { test, assert, run, runCommand, bin, repoRoot } = require('../lib/harness');

const MAN_DIR = path.join(repoRoot, 'docs', 'man');
const SECTIONS = ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'EXIT STATUS', 'EXAMPLES', 'SEE ALSO'];
const LONG_OPTION = /--[a-z][a-z0-9-]*[a-z0-9]/g;

function programs() {
    const dir = path.dirname(bin('x'));
    return fs.readdirSync(dir).filter((name) => {
        const st = fs.statSync(path.join(dir, name));
        return st.isFile() && (st.mode & 0o111) !== 0;
    }).sort();
}

/* The page's source with roff's escaped hyphens and font changes turned back into plain text. */
function plainSource(page) {
    return page.replace(/\\-/g, '-').replace(/\\f[BIRP]/g, '');
}

/* The long options named at the head of a .TP entry in the OPTIONS section. */
function listedOptions(page) {
    const section = /^\.SH OPTIONS\n([\s\S]*?)(?=^\.SH )/m.exec(page);
    if (!section)
        return [];
    const lines = section[1].split('\n');
    const found = new Set();
    lines.forEach((line, i) => {
        if (line === '.TP' && i + 1 < lines.length)
            for (const opt of plainSource(lines[i + 1]).match(LONG_OPTION) || [])
                found.add(opt);
    });
    return [...found];
}

function hasMan() {
    return runCommand('sh', ['-c', 'command -v man']).then((r) => r.code === 0);
}

const progs = programs();

test('bin/ holds the programs this test expects to find', async () => {
    assert.ok(progs.length >= 11, `only ${progs.length} programs in ${path.dirname(bin('x'))}: ${progs}`);
});

for (const prog of progs) {
    const file = path.join(MAN_DIR, `${prog}.1`);

    test(`${prog}: docs/man/${prog}.1 exists with every section`, async () => {
        assert.ok(fs.existsSync(file), `no manual page ${path.relative(repoRoot, file)}`);
        const page = fs.readFileSync(file, 'utf8');
        assert.match(page, new RegExp(`^\\.TH ${prog.toUpperCase()} 1 `, 'm'), '.TH line names the program');
        for (const name of SECTIONS)
            assert.match(page, new RegExp(`^\\.SH "?${name}"?$`, 'm'), `section ${name} missing`);
        assert.match(page, new RegExp(`wirelab-${prog}`), 'names the installed command');
    });

    test(`${prog}: every long option of --help is in the page, and the other way round`, async () => {
        const r = await run(prog, ['--help']);
        assert.equal(r.code, 0, `${prog} --help exits 0`);
        const help = new Set(r.stdout.match(LONG_OPTION) || []);
        assert.ok(help.has('--help'), `${prog} --help names --help`);
        const page = fs.readFileSync(file, 'utf8');
        const text = plainSource(page);
        const missing = [...help].filter((opt) => !new RegExp(`${opt}(?![a-z0-9-])`).test(text));
        assert.deepEqual(missing, [], `options of --help missing from ${prog}.1`);
        const listed = listedOptions(page);
        assert.ok(listed.length > 0, `${prog}.1 lists no options under OPTIONS`);
        const stale = listed.filter((opt) => !help.has(opt));
        assert.deepEqual(stale, [], `options in ${prog}.1 that --help does not print`);
    });
}

test('man -l renders every page without warnings', async (t) => {
    if (!(await hasMan())) {
        // As tests/run.sh does for a missing tool: a skip, except under CI=true.
        if (/^(true|1|yes)$/i.test(process.env.CI || ''))
            throw new Error('man not found (apt-get install man-db); with CI=true a skip is a failure');
        return t.skip('man not found (apt-get install man-db)');
    }
    for (const prog of progs) {
        const file = path.join(MAN_DIR, `${prog}.1`);
        if (!fs.existsSync(file))
            continue;   // reported above
        const r = await runCommand('man', ['--warnings', '-l', file], { env: { ...process.env, MANWIDTH: '80' } });
        assert.equal(r.code, 0, `man -l ${prog}.1 exits 0: ${r.stderr}`);
        assert.equal(r.stderr.trim(), '', `man -l ${prog}.1 warns`);
        assert.match(r.stdout, /NAME[\s\S]*OPTIONS[\s\S]*SEE ALSO/, `${prog}.1 renders its sections`);
    }
});
