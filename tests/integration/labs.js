// requires: node
// timeout: 480
'use strict';
/*
 * labs.js - the labs' two promises, for every lab (docs/labs/labN.md):
 *   - the starter tree that `make lab LAB=N DIR=...` writes builds, and fails its grader (the
 *     TODOs are real work: not every case passes);
 *   - the reference programs, the demos themselves, pass the same grader with full marks
 *     (lab 0, done at the terminal, with its answer key tests/labs/lab0/key.txt).
 * Each check runs tests/labs/grade.sh as `make grade` does and reads its closing
 * "N passed, N failed" line and the Gradescope results.json it writes.
 *
 * Run it alone after `make`: node tests/integration/labs.js
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test, assert, runCommand, repoRoot, bin } = require('../lib/harness');

const LABS = [0, 1, 2, 3, 4, 5, 6, 7];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wirelab-labs-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

function script(name) {
    return path.join(repoRoot, 'tests', 'labs', name);
}

/* Runs grade.sh; resolves with {code, passed, failed, results, output}. */
async function grade(lab, dir, env) {
    const r = await runCommand('sh', [script('grade.sh'), String(lab), dir], { timeout: 200000, env });
    const m = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout);
    let results = null;
    const file = env.LAB_RESULTS || path.join(dir, 'results.json');
    try {
        results = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
        // checked below
    }
    return {
        code: r.code, passed: m ? Number(m[1]) : -1, failed: m ? Number(m[2]) : -1, results,
        output: `${r.stdout.split('\n').slice(-40).join('\n')}${r.stderr}`,
    };
}

for (const lab of LABS) {
    test(`lab ${lab}: the starter builds and fails its grader`, { timeout: 200000 }, async () => {
        const dir = path.join(work, `starter${lab}`);
        const made = await runCommand('sh', [script('make-lab.sh'), String(lab), dir], { timeout: 60000 });
        assert.equal(made.code, 0, `make-lab.sh ${lab}: ${made.stderr}`);
        assert.ok(fs.existsSync(path.join(dir, 'docs', 'labs', `lab${lab}.md`)), 'the handout is in the starter');
        assert.ok(!fs.readFileSync(path.join(dir, 'Makefile'), 'utf8').includes('LAB_NEVER'), 'the Makefile is copied');
        // The starter is graded as a student's tree is: built by grade.sh, its own bin/, with
        // none of make check's programs or sanitizer time limits.
        const g = await grade(lab, dir, { LAB_BIN: '', LAB_NO_BUILD: '', LAB_RESULTS: '', WIRELAB_VARIANT: 'default' });
        assert.ok(!/^not ok \d+ - build/m.test(g.output), `the starter does not build:\n${g.output}`);
        assert.ok(g.passed >= 0, `no "N passed, N failed" line:\n${g.output}`);
        assert.ok(g.failed > 0, `the starter passed every case:\n${g.output}`);
        assert.notEqual(g.code, 0, 'grade.sh exits non-zero when a case failed');
        assert.ok(g.results && Array.isArray(g.results.tests) && g.results.score < g.results.max_score,
            `results.json: ${JSON.stringify(g.results)}`);
        const lines = fs.readFileSync(path.join(dir, 'build.log'), 'utf8').split('\n');
        const warnings = lines.filter((l) => /warning:/.test(l));
        assert.deepEqual(warnings, [], 'the starter builds without warnings');
    });

    test(`lab ${lab}: the reference programs get full marks`, { timeout: 200000 }, async () => {
        const dir = path.join(work, `reference${lab}`);
        fs.mkdirSync(dir, { recursive: true });
        if (lab === 0) {
            fs.mkdirSync(path.join(dir, 'lab0'));
            fs.copyFileSync(path.join(repoRoot, 'tests', 'labs', 'lab0', 'key.txt'), path.join(dir, 'lab0', 'answers.txt'));
        }
        const g = await grade(lab, dir, { LAB_BIN: path.dirname(bin('tcp-server')), LAB_NO_BUILD: '1', LAB_RESULTS: '' });
        assert.equal(g.failed, 0, `the reference failed cases:\n${g.output}`);
        assert.ok(g.passed > 0, `no case passed:\n${g.output}`);
        assert.equal(g.code, 0, `grade.sh exit status:\n${g.output}`);
        assert.ok(g.results && g.results.score === g.results.max_score && g.results.max_score > 0,
            `results.json: ${JSON.stringify(g.results && { score: g.results.score, max: g.results.max_score })}`);
        for (const t of g.results.tests)
            assert.ok(typeof t.name === 'string' && t.score === t.max_score, `case ${JSON.stringify(t)}`);
    });
}
