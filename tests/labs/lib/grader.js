'use strict';
/*
 * grader.js - what every lab grader (tests/labs/graders/labN.js) is built on: named cases with
 * points on top of the integration-test harness, a hint for each failed case, Gradescope's
 * results.json, and the closing "N passed, N failed" line.
 *
 *   const { gradedCase, hint, harness } = require('../lib/grader');
 *   gradedCase('a line split across two writes is answered once', 10, async () => {
 *       ...
 *       hint.check(got === 'hello\n', { sent: 'hel" then "lo\\n"', expected: 'hello\\n', got });
 *   });
 *
 * tests/labs/grade.sh runs a grader with WIRELAB_BIN set to the student's bin/ and
 * LAB_RESULTS to the results.json to write. Each case runs as one harness test: its own time
 * limit, and every program and socket it started is stopped when it ends. The TAP lines of the
 * harness are what the student reads: "ok 3 - name" or "not ok 3 - name" with the hint under it.
 *
 * results.json (Gradescope's format):
 *   { "score": 40, "max_score": 50, "tests": [ { "name", "score", "max_score", "status":
 *     "passed"|"failed", "output" }, ... ] }
 */
const fs = require('node:fs');
const harness = require('../../lib/harness');

const cases = [];        // {name, points, status, output}, in order
let writtenOut = false;

function shown(value) {
    if (value === undefined)
        return '(nothing)';
    if (Buffer.isBuffer(value))
        value = value.toString('latin1');
    if (typeof value === 'string') {
        const text = JSON.stringify(value.length > 400 ? value.slice(0, 400) : value);
        return value.length > 400 ? `${text}... (${value.length} characters)` : text;
    }
    return JSON.stringify(value);
}

/* An error whose message is the hint: what was sent, what was expected, what came back. */
class Hint extends Error {}

const hint = {
    /** Builds the hint error. parts: {sent, expected, got, why}; strings are shown quoted. */
    make(parts) {
        const lines = [];
        if (parts.why)
            lines.push(parts.why);
        if ('sent' in parts)
            lines.push(`sent:     ${typeof parts.sent === 'string' && parts.rawSent ? parts.sent : shown(parts.sent)}`);
        if ('expected' in parts)
            lines.push(`expected: ${parts.expected instanceof RegExp ? `a match for ${parts.expected}` : shown(parts.expected)}`);
        if ('got' in parts)
            lines.push(`got:      ${shown(parts.got)}`);
        const err = new Hint(lines.join('\n'));
        err.stack = err.message;   // the hint is the whole story: no stack line under it
        return err;
    },
    /** Throws the hint unless ok. */
    check(ok, parts) {
        if (!ok)
            throw hint.make(parts);
    },
    /** Throws the hint unless got equals expected (strings, Buffers or numbers). */
    equal(got, expected, parts = {}) {
        const same = Buffer.isBuffer(expected) ? Buffer.isBuffer(got) && got.equals(expected) : got === expected;
        if (!same)
            throw hint.make({ ...parts, expected, got });
    },
    /** Throws the hint unless got (a string) matches re. */
    match(got, re, parts = {}) {
        if (!re.test(String(got)))
            throw hint.make({ ...parts, expected: re, got });
    },
};

/*
 * Registers a graded case: name, points, async fn, and optional {timeout} (ms). A case passes
 * when fn resolves. Any failure (a hint, a timeout, a program that crashed) scores 0 and
 * prints under "not ok".
 */
function gradedCase(name, points, fn, opts = {}) {
    const c = { name, points, status: 'failed', output: 'timed out or stopped before the end' };
    cases.push(c);
    harness.test(`${name} (${points} pt${points === 1 ? '' : 's'})`, { timeout: opts.timeout }, async (ctx) => {
        try {
            await fn(ctx);
            c.status = 'passed';
            c.output = '';
        } catch (err) {
            c.output = err instanceof Error ? err.message : String(err);
            throw err;
        }
    });
}

function writeResults() {
    if (writtenOut)
        return;
    writtenOut = true;
    const tests = cases.map((c) => ({
        name: c.name,
        score: c.status === 'passed' ? c.points : 0,
        max_score: c.points,
        status: c.status,
        output: c.output,
    }));
    const score = tests.reduce((s, t) => s + t.score, 0);
    const max = tests.reduce((s, t) => s + t.max_score, 0);
    const passed = tests.filter((t) => t.status === 'passed').length;
    const results = { score, max_score: max, output: `${score} of ${max} points`, tests };
    if (process.env.LAB_RESULTS)
        fs.writeFileSync(process.env.LAB_RESULTS, JSON.stringify(results, null, 2) + '\n');
    process.stdout.write(`# score: ${score} of ${max} points\n`);
    process.stdout.write(`${passed} passed, ${tests.length - passed} failed\n`);
}

// The harness ends the process itself once every test has run; the results go out then.
process.on('exit', writeResults);

module.exports = { gradedCase, hint, harness };
