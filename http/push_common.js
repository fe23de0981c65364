/* push_common.js - the cost panel that every push page shares, served by http-push at /push.js.
 *
 * Each page (http/push_*.html) loads this first with <script src="/push.js"></script>, then
 * its own script: the technique. What is here is the same everywhere, so the pages differ only
 * in how the clock reaches them, which is what they are there to compare.
 *
 * An update is the server's clock as three lines: the time, the date, and the server's
 * milliseconds since the epoch. The page's clock minus that is the update's latency: how long it
 * took from the server to the page (both clocks are the same machine's in this demo). A page
 * calls countRequest() for each request it makes, countBytes(n) for what it receives, and
 * update(text, note) for each clock it is given; show(id, value) writes into the panel.
 */
'use strict';

const cost = { updates: 0, requests: 0, bytes: 0, latencyTotal: 0 };

function show(id, value) {
    document.getElementById(id).textContent = value;
}

function countRequest() {
    show('requests', ++cost.requests);
}

function countBytes(n) {
    cost.bytes += n;
    show('bytes', cost.bytes);
}

/* Shows one update, and a line for it in the log (the last ten). */
function update(text, note) {
    const [time, date, ms] = text.split('\n');
    const latency = Date.now() - Number(ms);
    cost.updates++;
    cost.latencyTotal += latency;
    show('time', time);
    show('date', date);
    show('updates', cost.updates);
    show('latency', latency);
    show('average', (cost.latencyTotal / cost.updates).toFixed(1));
    const log = document.getElementById('log');
    const item = document.createElement('li');
    item.textContent = `${time}  latency ${latency} ms${note ? '  ' + note : ''}`;
    log.prepend(item);
    while (log.children.length > 10)
        log.lastChild.remove();
}
