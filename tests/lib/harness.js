'use strict';
/*
 * harness.js - what every wirelab integration test is built on: TAP output, the programs in
 * bin/, loopback sockets, and the clean-up of every process a test starts.
 *
 * An integration test is a plain Node script in tests/integration/. tests/run.sh runs each one
 * as its own process under a time limit (`make check`), and you can run one by hand after `make`:
 * `node tests/integration/tcp_echo.js`. Its header comment names the system tools it needs, so
 * the runner can skip it with a helpful line where one is missing:
 *
 *   // requires: node nc
 *   // timeout: 120            (seconds for the whole file; 120 unless given)
 *   'use strict';
 *   const { test, startServer, tcpConnect, run, unusedPort, assert } = require('../lib/harness');
 *
 *   test('tcp-server echoes what it gets', async () => {
 *       const server = await startServer('tcp-server');   // adds -p 0, waits for the ready line
 *       const conn = await tcpConnect(server.port, server.host);
 *       await conn.write('hello\n');
 *       assert.equal(await conn.readLine(), 'hello');
 *       await conn.end();
 *       await server.waitForStdout(/server got: hello/);
 *       assert.deepEqual(await server.stop(), { code: 0, signal: null });
 *   });
 *
 *   test('tcp-client reports a refused connection', async () => {
 *       const r = await run('tcp-client', ['127.0.0.1', String(await unusedPort())]);
 *       assert.equal(r.code, 1);
 *       assert.match(r.stderr, /Connection refused/);
 *   });
 *
 * Tests run one after another, each with its own time limit (15 s unless given; every limit is
 * multiplied by 3 under `make check SANITIZE=1`). A test that throws, rejects or times out prints
 * `not ok`, with the error and the last lines each of its programs wrote to stderr, and the file
 * goes on with the next test. Everything a test starts (programs, sockets, browsers) is stopped
 * when that test ends unless it was started with `{ keep: true }`, in which case it lives until
 * the file ends. Programs are stopped by PID: SIGTERM, then SIGKILL after a grace period, and
 * SIGKILL for whatever is left when the process exits for any reason. A program whose stderr
 * holds an AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer report fails its test.
 * The plan line `1..N` comes last; the exit status is 1 if anything failed.
 *
 * Node 18 or later, CommonJS, no packages (playwright-core is loaded only by launchChromium).
 *
 * What it exports (each is documented where it is defined):
 *   test(name, [opts], fn), skip(name, reason), log(text), assert (node:assert/strict)
 *   bin(prog), tool(name), startServer(prog, args, opts), spawnProgram(prog, args, opts),
 *   spawnCommand(cmd, args, opts), run(prog, args, opts), runCommand(cmd, args, opts)
 *   tcpConnect(port, host, opts), udpSocket(opts), unusedPort(host), hasIPv6()
 *   launchChromium(opts), sleep(ms), waitFor(fn, ms, what), withTimeout(promise, ms, message)
 *   repoRoot, variant ('default' | 'san' | 'notls' | 'san-notls'), timeoutScale,
 *   tlsBuild (false when make built without OpenSSL: WIRELAB_TLS=0)
 */

const childProcess = require('node:child_process');
const dgram = require('node:dgram');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const assert = require('node:assert/strict');

const repoRoot = path.resolve(__dirname, '..', '..');
const variant = process.env.WIRELAB_VARIANT || 'default';
const timeoutScale = Number(process.env.WIRELAB_TIMEOUT_SCALE) || (variant.startsWith('san') ? 3 : 1);
const tlsBuild = process.env.WIRELAB_TLS !== '0';

const DEFAULT_TEST_MS = 15000;
const DEFAULT_READY_MS = 5000;
const DEFAULT_RUN_MS = 10000;
const DEFAULT_WAIT_MS = 5000;
const STOP_GRACE_MS = 2000;
const TAIL_LINES = 20;

// The ready line: "<program> listening on <addr>:<port>", IPv6 addresses in brackets.
const READY_RE = /^(\S+) listening on (?:\[([^\]]+)\]|([^\s[\]]+)):(\d+)\s*$/;
const SANITIZER_RE = /ERROR: (?:Address|Leak|Thread|Memory)Sanitizer|runtime error: |SUMMARY: \w+Sanitizer/;

// ---------------------------------------------------------------------------------------------
// Paths

/** Path of a wirelab program: $WIRELAB_BIN/<name>, or the repository's bin/<name>. */
function bin(name) {
    return path.join(process.env.WIRELAB_BIN || path.join(repoRoot, 'bin'), name);
}

/** Path of a test tool built from tests/tools/<name>.c: $WIRELAB_TOOLS/<name>. */
function tool(name) {
    return path.join(process.env.WIRELAB_TOOLS || path.join(repoRoot, 'build', variant, 'tools'), name);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/* Settles like `promise`, or rejects with `message` after `ms`; the timer never outlives it. */
function withTimeout(promise, ms, message) {
    let timer;
    const timeout = new Promise((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `fn` (sync or async) every `intervalMs` until it returns a truthy value, which it returns. */
async function waitFor(fn, ms = DEFAULT_WAIT_MS, what = 'condition', intervalMs = 50) {
    const deadline = Date.now() + ms;
    for (;;) {
        const value = await fn();
        if (value)
            return value;
        if (Date.now() >= deadline)
            throw new Error(`waitFor: ${what} not met within ${ms} ms`);
        await sleep(intervalMs);
    }
}

function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/* A string matches as plain text; a RegExp loses its g and y flags, whose lastIndex would skip matches. */
function toRegExp(pattern) {
    if (pattern instanceof RegExp)
        return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    return new RegExp(escapeRegExp(String(pattern)));
}

/* The last `n` lines of a text, for error messages. */
function tail(text, n = TAIL_LINES) {
    const lines = text.replace(/\n$/, '').split('\n');
    const shown = lines.slice(-n).join('\n');
    return lines.length > n ? `(${lines.length - n} earlier lines left out)\n${shown}` : shown;
}

/* Shows received bytes readably in an error message. */
function preview(buf, max = 200) {
    const text = JSON.stringify(buf.subarray(0, max).toString('latin1'));
    return buf.length > max ? `${text}... (${buf.length} bytes)` : text;
}

// ---------------------------------------------------------------------------------------------
// Scopes: everything started during a test is disposed of when the test ends.

const liveProcs = new Set();   // every child still running, whatever its scope
const fileScope = newScope('(file)');
let currentScope = null;

function newScope(name) {
    return { name, resources: [], procs: [], abort: null };
}

/* Registers something to dispose of; `keep` moves it to the file's scope. */
function track(resource, keep) {
    const scope = keep || !currentScope ? fileScope : currentScope;
    scope.resources.push(resource);
    return resource;
}

async function disposeScope(scope) {
    const order = ['socket', 'browser', 'process'];
    for (const kind of order) {
        const items = scope.resources.filter((r) => r.kind === kind);
        await Promise.all(items.map((r) => r.dispose().catch(() => {})));
    }
    scope.resources = [];
}

// Whatever happens, no child outlives this process.
process.on('exit', () => {
    for (const p of liveProcs) {
        try {
            process.kill(p.pid, 'SIGKILL');
        } catch (e) {
            // It had already gone.
        }
    }
});

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(sig, () => {
        out(`Bail out! interrupted by ${sig}`);
        process.exit(1);
    });
}

// ---------------------------------------------------------------------------------------------
// Processes

/*
 * A running child: its output is collected line by line so tests can wait for a line, and it is
 * stopped by PID when its scope ends.
 */
class Proc {
    constructor(label, command, args, opts) {
        this.label = label;
        this.command = command;
        this.args = args;
        this.stdoutChunks = [];
        this.stderrChunks = [];
        this.lines = { stdout: [], stderr: [] };
        this.partial = { stdout: '', stderr: '' };
        this.cursor = { stdout: 0, stderr: 0 };
        this.waiters = [];
        this.status = null;
        this.spawnError = null;

        const child = childProcess.spawn(command, args, {
            cwd: opts.cwd || repoRoot,
            env: { ...process.env, ...(opts.env || {}) },
            stdio: ['pipe', 'pipe', 'pipe'],
        });
        this.proc = child;
        this.pid = child.pid;
        if (this.pid)
            liveProcs.add(this);
        child.stdin.on('error', () => {});   // a child that exits early closes its stdin
        child.stdout.on('data', (d) => this._onData('stdout', d));
        child.stderr.on('data', (d) => this._onData('stderr', d));
        this.exited = new Promise((resolve) => {
            child.on('error', (err) => {
                if (!this.pid) {
                    this.spawnError = err;
                    this._onExit({ code: null, signal: null }, resolve);
                }
            });
            child.on('exit', (code, signal) => {
                // Wait (briefly) for the pipes to drain so stdoutText() is complete.
                const done = () => this._onExit({ code, signal }, resolve);
                const timer = setTimeout(done, 1000);
                child.on('close', () => {
                    clearTimeout(timer);
                    done();
                });
            });
        });
        const scope = opts.keep || !currentScope ? fileScope : currentScope;
        scope.procs.push(this);
        track({ kind: 'process', dispose: () => this.stop() }, opts.keep);
    }

    _onData(stream, data) {
        (stream === 'stdout' ? this.stdoutChunks : this.stderrChunks).push(data);
        const text = this.partial[stream] + data.toString('utf8');
        const parts = text.split('\n');
        this.partial[stream] = parts.pop();
        for (const line of parts)
            this.lines[stream].push(line.replace(/\r$/, ''));
        this._checkWaiters();
    }

    _onExit(status, resolve) {
        if (this.status)
            return;
        for (const stream of ['stdout', 'stderr']) {
            if (this.partial[stream] !== '')
                this.lines[stream].push(this.partial[stream]);
            this.partial[stream] = '';
        }
        this.status = status;
        liveProcs.delete(this);
        this._checkWaiters();
        resolve(status);
    }

    _checkWaiters() {
        for (const w of this.waiters.slice()) {
            const lines = this.lines[w.stream];
            for (let i = this.cursor[w.stream]; i < lines.length; i++) {
                const m = w.re.exec(lines[i]);
                if (m) {
                    this.cursor[w.stream] = i + 1;
                    this._settle(w, null, m);
                    break;
                }
            }
            if (this.waiters.includes(w) && this.status)
                this._settle(w, procError(this, `${this.describeExit()} before printing a line matching ` +
                                                `${w.re} on ${w.stream}\n${this.outputReport()}`));
        }
    }

    _settle(w, err, value) {
        this.waiters = this.waiters.filter((x) => x !== w);
        clearTimeout(w.timer);
        if (err)
            w.reject(err);
        else
            w.resolve(value);
    }

    _waitForLine(stream, pattern, ms) {
        return new Promise((resolve, reject) => {
            const w = { stream, re: toRegExp(pattern), resolve, reject };
            w.timer = setTimeout(() => this._settle(w, procError(this,
                `${this.label}: no ${stream} line matching ${w.re} within ${ms} ms\n${this.outputReport()}`)), ms);
            this.waiters.push(w);
            this._checkWaiters();
        });
    }

    /**
     * Resolves with the RegExp match (m.input is the line) of the first complete stdout line
     * after the one an earlier waitForStdout matched; rejects on timeout or when the program exits.
     */
    waitForStdout(pattern, ms = DEFAULT_WAIT_MS) {
        return this._waitForLine('stdout', pattern, ms);
    }

    /** The same for stderr (for example the -v trace). */
    waitForStderr(pattern, ms = DEFAULT_WAIT_MS) {
        return this._waitForLine('stderr', pattern, ms);
    }

    stdoutLines() { return this.lines.stdout.slice(); }
    stderrLines() { return this.lines.stderr.slice(); }
    stdoutBuffer() { return Buffer.concat(this.stdoutChunks); }
    stderrBuffer() { return Buffer.concat(this.stderrChunks); }
    stdoutText() { return this.stdoutBuffer().toString('utf8'); }
    stderrText() { return this.stderrBuffer().toString('utf8'); }

    /** Writes to the program's stdin; resolves once the data is handed to the pipe. */
    write(data) {
        return new Promise((resolve, reject) => {
            this.proc.stdin.write(data, (err) => (err ? reject(err) : resolve()));
        });
    }

    /** Closes the program's stdin (after writing `data`, if given). */
    end(data) {
        return new Promise((resolve) => this.proc.stdin.end(data === undefined ? undefined : data, resolve));
    }

    /** Sends a signal now (no waiting). */
    kill(signal = 'SIGTERM') {
        if (!this.status && this.pid) {
            try {
                process.kill(this.pid, signal);
            } catch (e) {
                // It exited meanwhile.
            }
        }
    }

    /** Resolves with {code, signal} when the program exits; rejects after `ms` if given. */
    wait(ms) {
        if (ms === undefined)
            return this.exited;
        return withTimeout(this.exited, ms, `${this.label}: still running after ${ms} ms`);
    }

    /**
     * Sends `signal`, waits up to `graceMs` for the program to exit, then sends SIGKILL.
     * Resolves with {code, signal} as the program ended (signal 'SIGKILL' if it had to be killed).
     */
    async stop(signal = 'SIGTERM', graceMs = STOP_GRACE_MS * timeoutScale) {
        if (this.status)
            return this.exitStatus();
        this.kill(signal);
        const ended = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
        if (!ended) {
            this.kill('SIGKILL');
            await this.exited;
        }
        return this.exitStatus();
    }

    exitStatus() {
        return this.status ? { code: this.status.code, signal: this.status.signal } : null;
    }

    describeExit() {
        if (this.spawnError)
            return `${this.label}: could not start ${this.command}: ${this.spawnError.code || this.spawnError.message}` +
                (this.spawnError.code === 'ENOENT' ? ' (not built? run make)' : '');
        if (!this.status)
            return `${this.label}: still running`;
        const how = this.status.signal ? `was killed by ${this.status.signal}` : `exited with code ${this.status.code}`;
        return `${this.label} ${how}`;
    }

    /** The command line and the last lines of stdout and stderr, for error messages. */
    outputReport() {
        const cmd = [path.relative(repoRoot, this.command) || this.command, ...this.args].join(' ');
        const parts = [`  command: ${cmd}`];
        for (const [name, text] of [['stdout', this.stdoutText()], ['stderr', this.stderrText()]])
            parts.push(text ? `  ${name}:\n${indent(tail(text), '    ')}` : `  ${name}: (empty)`);
        return parts.join('\n');
    }

    sanitizerReport() {
        const text = this.stderrText();
        const at = text.search(SANITIZER_RE);
        if (at < 0)
            return null;
        const start = text.lastIndexOf('\n', Math.max(0, text.lastIndexOf('=====', at) - 1)) + 1;
        return text.slice(start).split('\n').slice(0, 40).join('\n');
    }
}

/* An Error whose message already shows `proc`'s output, so a failure report need not repeat it. */
function procError(proc, message) {
    const err = new Error(message);
    err.shownProc = proc;
    return err;
}

function indent(text, prefix) {
    return text.split('\n').map((l) => prefix + l).join('\n');
}

/**
 * Starts any command (found on PATH, e.g. 'nc' or 'curl') as a tracked process.
 * opts: {env, cwd, keep}. Returns a Proc at once.
 */
function spawnCommand(command, args = [], opts = {}) {
    return new Proc(opts.label || path.basename(command), command, args.map(String), opts);
}

/** Starts bin/<prog> as a tracked process (for clients you talk to while they run). */
function spawnProgram(prog, args = [], opts = {}) {
    return spawnCommand(bin(prog), args, { label: prog, ...opts });
}

function hasPortOption(args) {
    return args.some((a) => a === '-p' || a === '--port' || /^--port=/.test(a) || /^-p\d+$/.test(a));
}

/**
 * Starts the server bin/<prog> (with `-p 0` unless args give a port) and waits for its ready
 * line, which must be the first line it prints. opts: {readyTimeout (ms), env, cwd, keep}.
 * Resolves with the Proc plus {port, host, readyLine, url(path, scheme)}; rejects with the
 * program's output if it exits or stays silent.
 */
async function startServer(prog, args = [], opts = {}) {
    const argv = args.map(String);
    const full = hasPortOption(argv) ? argv : ['-p', '0', ...argv];
    const server = spawnProgram(prog, full, opts);
    const ms = opts.readyTimeout || DEFAULT_READY_MS * timeoutScale;
    let match;
    try {
        match = await server.waitForStdout(/.*/, ms);
    } catch (err) {
        server.kill('SIGKILL');
        throw procError(server, server.spawnError || server.status
            ? `${server.describeExit()} before its ready line\n${server.outputReport()}`
            : `${prog}: no ready line ("${prog} listening on ADDR:PORT") within ${ms} ms\n${server.outputReport()}`);
    }
    const ready = READY_RE.exec(match.input);
    if (!ready) {
        server.kill('SIGKILL');
        throw procError(server, `${prog}: first stdout line is not the ready line ` +
                        `"${prog} listening on ADDR:PORT": ${JSON.stringify(match.input)}\n${server.outputReport()}`);
    }
    server.readyLine = match.input;
    server.host = ready[2] || ready[3];
    server.port = Number(ready[4]);
    server.url = (p = '/', scheme = 'http') => {
        const host = server.host.includes(':') ? `[${server.host}]` : server.host;
        return `${scheme}://${host}:${server.port}${p}`;
    };
    return server;
}

/* Collects a finished Proc into {code, signal, stdout, stderr, timedOut, ms}. */
async function finish(p, opts, started) {
    const ms = opts.timeout || DEFAULT_RUN_MS * timeoutScale;
    const ended = await Promise.race([p.exited.then(() => true), sleep(ms).then(() => false)]);
    if (!ended)
        await p.stop('SIGTERM', 1000);
    if (p.spawnError)
        throw new Error(p.describeExit());
    if (!ended && !opts.allowTimeout)
        throw procError(p, `${p.label} did not finish within ${ms} ms (killed)\n${p.outputReport()}`);
    const asBuffer = opts.encoding === 'buffer';
    return {
        code: p.status.code,
        signal: p.status.signal,
        stdout: asBuffer ? p.stdoutBuffer() : p.stdoutText(),
        stderr: asBuffer ? p.stderrBuffer() : p.stderrText(),
        timedOut: !ended,
        ms: Date.now() - started,
    };
}

/**
 * Runs any command to completion. opts: {input (string|Buffer, written then stdin is closed;
 * stdin is closed at once without it), timeout (ms, default 10000), encoding ('utf8' or
 * 'buffer'), allowTimeout (resolve with timedOut: true instead of rejecting), env, cwd}.
 * Resolves with {code, signal, stdout, stderr, timedOut, ms}.
 */
async function runCommand(command, args = [], opts = {}) {
    const started = Date.now();
    const p = spawnCommand(command, args, opts);
    if (opts.input !== undefined && opts.input !== null)
        p.proc.stdin.end(opts.input);
    else
        p.proc.stdin.end();
    return finish(p, opts, started);
}

/** Runs the client bin/<prog> to completion; the same options and result as runCommand. */
function run(prog, args = [], opts = {}) {
    return runCommand(bin(prog), args, { label: prog, ...opts });
}

// ---------------------------------------------------------------------------------------------
// TCP

/*
 * A connected TCP socket with promise-based reads. Received bytes are buffered; each read takes
 * what it asks for from the front of that buffer and leaves the rest. One read at a time.
 */
class Conn {
    constructor(socket, label) {
        this.socket = socket;
        this.label = label;
        this.buf = Buffer.alloc(0);
        this.ended = false;   // the peer sent FIN
        this.closed = false;
        this.error = null;
        this.waiter = null;
        this.closedPromise = new Promise((resolve) => {
            socket.on('close', (hadError) => {
                this.closed = true;
                this._pump();
                resolve({ hadError });
            });
        });
        socket.on('data', (d) => {
            this.buf = Buffer.concat([this.buf, d]);
            this._pump();
        });
        socket.on('end', () => {
            this.ended = true;
            this._pump();
        });
        socket.on('error', (err) => {
            this.error = err;
            this._pump();
        });
    }

    _pump() {
        const w = this.waiter;
        if (!w)
            return;
        const n = w.take(this.buf, this.ended || this.closed);
        if (n !== null && n !== undefined && n !== false && n >= 0) {
            const data = this.buf.subarray(0, n);
            this.buf = this.buf.subarray(n);
            this._settle(null, Buffer.from(data));
        } else if (this.error) {
            this._settle(new Error(`${this.label}: ${w.what}: ${this.error.code || this.error.message}; ` +
                                   `received ${preview(this.buf)}`));
        } else if (this.ended || this.closed) {
            this._settle(new Error(`${this.label}: ${w.what}: connection closed by peer; received ${preview(this.buf)}`));
        }
    }

    _settle(err, value) {
        const w = this.waiter;
        this.waiter = null;
        clearTimeout(w.timer);
        if (err)
            w.reject(err);
        else
            w.resolve(value);
    }

    /* take(buffer, atEnd) returns how many bytes satisfy the read, or null to keep waiting. */
    _read(what, take, ms) {
        if (this.waiter)
            return Promise.reject(new Error(`${this.label}: ${what} while another read is pending`));
        return new Promise((resolve, reject) => {
            this.waiter = { what, take, resolve, reject };
            this.waiter.timer = setTimeout(() => this._settle(new Error(
                `${this.label}: ${what}: timed out after ${ms} ms; received ${preview(this.buf)}`)), ms);
            this._pump();
        });
    }

    /**
     * Resolves with the bytes up to and including `until`: a string or Buffer delimiter, a
     * RegExp (matched against the bytes as latin1 text), or a function(buffer) returning a byte
     * count (or true for everything buffered; false/null to wait).
     */
    readUntil(until, ms = DEFAULT_WAIT_MS) {
        let take;
        if (typeof until === 'function') {
            take = (buf) => {
                const r = until(buf);
                return r === true ? buf.length : typeof r === 'number' && r >= 0 ? Math.min(r, buf.length) : null;
            };
        } else if (until instanceof RegExp) {
            const re = toRegExp(until);
            take = (buf) => {
                const m = re.exec(buf.toString('latin1'));
                return m ? m.index + m[0].length : null;
            };
        } else {
            const delim = Buffer.from(until);
            take = (buf) => {
                const at = buf.indexOf(delim);
                return at < 0 ? null : at + delim.length;
            };
        }
        const what = `readUntil(${until instanceof RegExp || typeof until === 'function' ? String(until).slice(0, 60) : JSON.stringify(String(until))})`;
        return this._read(what, take, ms);
    }

    /** Resolves with the next line as a string, without its "\n" or "\r\n". */
    async readLine(ms = DEFAULT_WAIT_MS) {
        const line = await this.readUntil('\n', ms);
        return line.toString('utf8').replace(/\r?\n$/, '');
    }

    /** Resolves with exactly `n` bytes. */
    read(n, ms = DEFAULT_WAIT_MS) {
        return this._read(`read(${n})`, (buf) => (buf.length >= n ? n : null), ms);
    }

    /** Resolves with everything up to the peer's end of stream (FIN); rejects on timeout or error. */
    readAll(ms = DEFAULT_WAIT_MS) {
        return this._read('readAll', (buf, atEnd) => (atEnd && !this.error ? buf.length : null), ms);
    }

    /** Bytes received and not yet read. */
    received() {
        return Buffer.from(this.buf);
    }

    /** Writes; resolves once the data is handed to the kernel. */
    write(data) {
        return new Promise((resolve, reject) => {
            this.socket.write(data, (err) => (err ? reject(err) : resolve()));
        });
    }

    /** Half-closes (sends FIN) after writing `data`, if given; the socket can still read. */
    end(data) {
        return new Promise((resolve) => this.socket.end(data === undefined ? undefined : data, resolve));
    }

    /** Resolves with {hadError} once the socket is fully closed. */
    waitClose(ms = DEFAULT_WAIT_MS) {
        return withTimeout(this.closedPromise, ms, `${this.label}: still open after ${ms} ms`);
    }

    /** Closes at once, discarding unsent data. */
    destroy() {
        this.socket.destroy();
    }

    /** Closes with a TCP RST instead of a FIN. */
    reset() {
        if (typeof this.socket.resetAndDestroy === 'function')
            this.socket.resetAndDestroy();
        else
            this.socket.destroy();
    }
}

/**
 * Connects to host:port (default 127.0.0.1). opts: {timeout (ms), keep}.
 * Resolves with a Conn; rejects with e.g. "connect 127.0.0.1:8000: ECONNREFUSED".
 */
function tcpConnect(port, host = '127.0.0.1', opts = {}) {
    const ms = opts.timeout || DEFAULT_WAIT_MS;
    const socket = net.connect({ port, host });
    const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const conn = new Conn(socket, `conn to ${where}`);
    track({ kind: 'socket', dispose: async () => socket.destroy() }, opts.keep);
    const connected = new Promise((resolve, reject) => {
        socket.once('connect', () => resolve(conn));
        socket.once('error', (err) => reject(new Error(`connect ${where}: ${err.code || err.message}`)));
    });
    return withTimeout(connected, ms, `connect ${where}: no answer within ${ms} ms`).catch((err) => {
        socket.destroy();
        throw err;
    });
}

/** Resolves with a loopback TCP port that nothing listens on (for "connection refused" tests). */
function unusedPort(host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once('error', reject);
        srv.listen(0, host, () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

let ipv6Answer = null;

/** Resolves true if this host can bind ::1 (IPv6 loopback); asked once, then remembered. */
function hasIPv6() {
    if (!ipv6Answer) {
        ipv6Answer = new Promise((resolve) => {
            const srv = net.createServer();
            srv.once('error', () => resolve(false));
            srv.listen(0, '::1', () => srv.close(() => resolve(true)));
        });
    }
    return ipv6Answer;
}

// ---------------------------------------------------------------------------------------------
// UDP

/*
 * A bound UDP socket. Datagrams that arrive are queued; receive() takes the oldest.
 */
class Udp {
    constructor(socket) {
        this.socket = socket;
        this.queue = [];
        this.waiter = null;
        this.error = null;
        socket.on('message', (data, rinfo) => {
            this.queue.push({ data, address: rinfo.address, port: rinfo.port });
            this._pump();
        });
        socket.on('error', (err) => {
            this.error = err;
            this._pump();
        });
    }

    _pump() {
        const w = this.waiter;
        if (!w || (!this.queue.length && !this.error))
            return;
        this.waiter = null;
        clearTimeout(w.timer);
        if (this.queue.length)
            w.resolve(this.queue.shift());
        else
            w.reject(this.error);
    }

    /** Sends one datagram to host:port (host defaults to this socket's loopback address). */
    send(data, port, host = this.host) {
        return new Promise((resolve, reject) => {
            this.socket.send(data, port, host, (err) => (err ? reject(err) : resolve()));
        });
    }

    /** Resolves with the next datagram as {data: Buffer, address, port}. */
    receive(ms = DEFAULT_WAIT_MS) {
        if (this.waiter)
            return Promise.reject(new Error('udp: receive while another receive is pending'));
        return new Promise((resolve, reject) => {
            this.waiter = { resolve, reject };
            this.waiter.timer = setTimeout(() => {
                this.waiter = null;
                reject(new Error(`udp ${this.host}:${this.port}: no datagram within ${ms} ms`));
            }, ms);
            this._pump();
        });
    }

    close() {
        try {
            this.socket.close();
        } catch (e) {
            // Already closed.
        }
    }
}

/**
 * Binds a UDP socket on loopback. opts: {ipv6 (bind ::1 instead of 127.0.0.1), port (default
 * 0), keep}. Resolves with a Udp: {socket, host, port, send(data, port, host), receive(ms), close()}.
 */
function udpSocket(opts = {}) {
    const host = opts.ipv6 ? '::1' : '127.0.0.1';
    const socket = dgram.createSocket(opts.ipv6 ? 'udp6' : 'udp4');
    const udp = new Udp(socket);
    track({ kind: 'socket', dispose: async () => udp.close() }, opts.keep);
    return new Promise((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(opts.port || 0, host, () => {
            socket.removeListener('error', reject);
            udp.host = host;
            udp.port = socket.address().port;
            resolve(udp);
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Browser

/**
 * Launches Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) headless through playwright-core
 * with a fresh profile; closed when the test ends (or the file, with keep). Needs
 * `// requires: chromium` in the file header. opts: {keep, args (extra flags), env (the
 * browser's environment, e.g. a HOME whose ~/.pki/nssdb trusts a test CA)}.
 */
async function launchChromium(opts = {}) {
    const { chromium } = require(path.join(__dirname, '..', 'node_modules', 'playwright-core'));
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        timeout: 30000 * timeoutScale,
        // headless: true adds --headless, and launch() makes a fresh, temporary --user-data-dir.
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
               ...(opts.args || [])],
        ...(opts.env ? { env: opts.env } : {}),
    });
    track({ kind: 'browser', dispose: () => browser.close() }, opts.keep);
    return browser;
}

// ---------------------------------------------------------------------------------------------
// Tests and TAP

const tests = [];
let started = false;
let number = 0;
let failures = 0;
const strayErrors = [];   // uncaught errors while no test was running

function out(text) {
    process.stdout.write(text + '\n');
}

/** Prints a TAP comment ("# ...") line per line of `text`. */
function log(text) {
    out(indent(String(text), '# '));
}

function tapName(name) {
    return String(name).replace(/\s+/g, ' ').replace(/#/g, '\\#');
}

/**
 * Registers a test: test(name, async fn) or test(name, {timeout}, async fn) or
 * test(name, async fn, {timeout}). fn gets a context {name, log(text), skip(reason)}:
 * `return t.skip('no IPv6 here')` ends it as "ok N - name # SKIP no IPv6 here".
 */
function test(name, a, b) {
    const fn = typeof a === 'function' ? a : b;
    const opts = (typeof a === 'function' ? b : a) || {};
    if (typeof fn !== 'function')
        throw new TypeError(`test(${JSON.stringify(name)}): no test function`);
    tests.push({ name, fn, timeout: opts.timeout ? opts.timeout * timeoutScale : DEFAULT_TEST_MS * timeoutScale });
    schedule();
}

/** Registers a test that is reported as skipped: "ok N - name # SKIP reason". */
function skip(name, reason) {
    tests.push({ name, skipReason: reason || 'skipped' });
    schedule();
}

function schedule() {
    if (!started) {
        started = true;
        setImmediate(runAll);
    }
}

function errorText(err) {
    if (!(err instanceof Error))
        return String(err);
    const where = (err.stack || '').split('\n').find((l) => /^\s+at /.test(l) && !l.includes(__filename) &&
                                                          !l.includes('node:'));
    return err.message + (where ? `\n${where.trim().split(repoRoot + path.sep).join('')}` : '');
}

/* What a failed test prints under its "not ok": the error and what its programs said. */
function failureReport(err, scope) {
    const parts = [errorText(err)];
    for (const p of scope.procs) {
        if (err && (err.shownProc === p || (err.shownProcs || []).includes(p)))
            continue;   // the error already shows its output
        const stderr = p.stderrText();
        if (stderr)
            parts.push(`${p.label}[${p.pid}] stderr:\n${indent(tail(stderr), '  ')}`);
    }
    return parts.join('\n');
}

function sanitizerFailures(procs) {
    const reports = [];
    for (const p of procs) {
        const report = p.sanitizerReport();
        if (report)
            reports.push(`${p.label}[${p.pid}] printed a sanitizer report:\n${indent(report, '  ')}`);
    }
    return reports;
}

async function runOne(t) {
    number++;
    if (t.skipReason) {
        out(`ok ${number} - ${tapName(t.name)} # SKIP ${t.skipReason}`);
        return;
    }
    const scope = newScope(t.name);
    let skipReason = null;
    const ctx = { name: t.name, log, skip: (reason) => { skipReason = reason || 'skipped'; } };
    const aborted = new Promise((resolve, reject) => { scope.abort = reject; });
    let error = null;
    currentScope = scope;
    try {
        const body = Promise.resolve().then(() => t.fn(ctx));
        await withTimeout(Promise.race([body, aborted]), t.timeout, `timed out after ${t.timeout} ms`);
    } catch (err) {
        error = err;
    }
    currentScope = null;
    scope.abort = null;
    await disposeScope(scope);
    const reports = sanitizerFailures(scope.procs);
    if (!error && reports.length) {
        error = new Error(reports.join('\n'));
        error.shownProcs = scope.procs.filter((p) => p.sanitizerReport());
    }
    if (error) {
        failures++;
        out(`not ok ${number} - ${tapName(t.name)}`);
        log(failureReport(error, scope));
    } else if (skipReason) {
        out(`ok ${number} - ${tapName(t.name)} # SKIP ${skipReason}`);
    } else {
        out(`ok ${number} - ${tapName(t.name)}`);
    }
}

async function runAll() {
    for (let i = 0; i < tests.length; i++)
        await runOne(tests[i]);
    currentScope = null;
    await disposeScope(fileScope);
    const reports = sanitizerFailures(fileScope.procs);
    if (reports.length) {
        number++;
        failures++;
        out(`not ok ${number} - programs kept for the whole file exited cleanly`);
        log(reports.join('\n'));
    }
    for (const err of strayErrors) {
        number++;
        failures++;
        out(`not ok ${number} - uncaught error outside any test`);
        log(errorText(err));
    }
    out(`1..${number}`);
    process.exit(failures ? 1 : 0);
}

function onUncaught(err) {
    if (currentScope && currentScope.abort) {
        currentScope.abort(err);
    } else {
        strayErrors.push(err);
        schedule();   // so that it is reported even if no test was registered
    }
}
process.on('uncaughtException', onUncaught);
process.on('unhandledRejection', onUncaught);

module.exports = {
    tlsBuild,
    // tests
    test, skip, log, assert,
    // programs
    bin, tool, startServer, spawnProgram, spawnCommand, run, runCommand,
    // network
    tcpConnect, udpSocket, unusedPort, hasIPv6,
    // browser
    launchChromium,
    // small things
    sleep, waitFor, withTimeout,
    repoRoot, variant, timeoutScale,
};
