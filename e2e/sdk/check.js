'use strict';
// The shadow scenario every SDK client runs, with what AWS IoT Core answers
// (PROTOCOL.md). A client adapter turns the SDK's own API into:
//   get(), update(request), delete()  → {accepted: doc} | {rejected: doc},
//                                        plus token: the clientToken the
//                                        request carried (undefined when the
//                                        SDK chooses it itself)
//   delta()                           → the next update/delta event
//   staleUpdate()                     → {answer, version}: an update carrying
//                                        an out-of-date version, and the
//                                        shadow's version afterwards
//   deltaToken                        → false when the SDK hides the delta's
//                                        clientToken
//   close()                           → optional
// One line per check; the first failure ends the process with status 1.

const assert = require('node:assert/strict');

let prefix = ''; // which client and shadow the checks are about

function env(name) {
  const v = process.env[name];
  if (!v) fail('setup', `environment variable ${name} is not set`);
  return v;
}

const config = {
  endpoint: process.env.ENDPOINT || '127.0.0.1',
  port: Number(env('PORT')),
  thing: env('THING'),
  cert: env('CERT'),
  key: env('KEY'),
  ca: env('CA'),
  shadow: process.env.SHADOW || '', // also run the scenario on this named shadow
};

function ok(what) {
  console.log(`ok   ${prefix}${what}`);
}

function fail(what, detail) {
  console.log(`FAIL ${prefix}${what}: ${detail}`);
  process.exit(1);
}

// check runs assertions; a thrown AssertionError fails the check.
function check(what, fn) {
  try {
    fn();
  } catch (err) {
    fail(what, err.message);
  }
  ok(what);
}

// within rejects when promise does not settle in ms.
function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// step awaits one client call, failing the check when it throws or times out.
async function step(what, promise) {
  try {
    return await within(8000, `answer to ${what}`, promise);
  } catch (err) {
    fail(what, err.message || String(err));
  }
}

function show(answer) {
  return JSON.stringify(answer.accepted ? { accepted: answer.accepted } : { rejected: answer.rejected });
}

function isSeconds(ts) {
  return Number.isInteger(ts) && ts > 1e9 && ts < 1e11;
}

// The token an answer must carry: the one sent, or (SDK-chosen) any.
function assertToken(doc, token) {
  if (token !== undefined) assert.equal(doc.clientToken, token, `clientToken not echoed: ${JSON.stringify(doc)}`);
  else assert.ok(typeof doc.clientToken === 'string' && doc.clientToken, `no clientToken in ${JSON.stringify(doc)}`);
}

function accepted(answer) {
  assert.ok(answer.accepted, `expected accepted, got ${show(answer)}`);
  assertToken(answer.accepted, answer.token);
  assert.ok(isSeconds(answer.accepted.timestamp), `timestamp ${answer.accepted.timestamp} is not in seconds`);
  return answer.accepted;
}

function rejected(answer, code, message) {
  assert.ok(answer.rejected, `expected rejected ${code}, got ${show(answer)}`);
  const doc = answer.rejected;
  assert.equal(doc.code, code, `code: ${JSON.stringify(doc)}`);
  assert.equal(doc.message, message, `message: ${JSON.stringify(doc)}`);
  assertToken(doc, answer.token);
}

// run plays the scenario on the classic shadow, then on the named one.
async function run(label, open) {
  const names = config.shadow ? ['', config.shadow] : [''];
  for (const name of names) {
    prefix = `${label} ${name ? `named shadow '${name}'` : 'classic shadow'}: `;
    const client = await step('subscribe', open(name));
    await scenario(client, name);
  }
  prefix = `${label}: `;
}

async function scenario(c, name) {
  const missing = name || config.thing;
  let a = await step('get', c.get());
  check('get of a missing shadow → rejected 404', () =>
    rejected(a, 404, `No shadow exists with name: '${missing}'`));

  const reported = { temp: 20, led: false };
  a = await step('update reported', c.update({ state: { reported } }));
  check('update reported → accepted, version 1, clientToken echoed', () => {
    const doc = accepted(a);
    assert.equal(doc.version, 1, `version in ${JSON.stringify(doc)}`);
    assert.deepEqual(doc.state, { reported }, `state in ${JSON.stringify(doc)}`);
    assert.ok(isSeconds(doc.metadata?.reported?.temp?.timestamp), `metadata: ${JSON.stringify(doc.metadata)}`);
  });

  const delta = c.delta();
  a = await step('update desired', c.update({ state: { desired: { temp: 22 } }, version: 1 }));
  check('update desired (version 1) → accepted, version 2', () => {
    const doc = accepted(a);
    assert.equal(doc.version, 2, `version in ${JSON.stringify(doc)}`);
    assert.deepEqual(doc.state, { desired: { temp: 22 } }, `state in ${JSON.stringify(doc)}`);
  });
  const d = await step('delta event', delta);
  const withToken = c.deltaToken !== false;
  check(`delta event: state {temp: 22}, version 2, metadata${withToken ? ', clientToken of the update' : ''}`, () => {
    assert.deepEqual(d.state, { temp: 22 }, `delta ${JSON.stringify(d)}`);
    assert.equal(d.version, 2, `delta ${JSON.stringify(d)}`);
    assert.ok(isSeconds(d.timestamp), `delta timestamp: ${JSON.stringify(d)}`);
    assert.ok(isSeconds(d.metadata?.temp?.timestamp), `delta metadata: ${JSON.stringify(d)}`);
    if (withToken) assertToken(d, a.token);
  });

  a = await step('get', c.get());
  check('get → accepted with desired, reported, delta, version 2', () => {
    const doc = accepted(a);
    assert.equal(doc.version, 2, `version in ${JSON.stringify(doc)}`);
    assert.deepEqual(doc.state, { desired: { temp: 22 }, reported, delta: { temp: 22 } }, `state in ${JSON.stringify(doc)}`);
    assert.ok(isSeconds(doc.metadata?.desired?.temp?.timestamp), `metadata: ${JSON.stringify(doc.metadata)}`);
    assert.ok(isSeconds(doc.metadata?.reported?.led?.timestamp), `metadata: ${JSON.stringify(doc.metadata)}`);
  });

  const stale = await step('update with a stale version', c.staleUpdate());
  check('update with a stale version → rejected 409, clientToken echoed', () =>
    rejected(stale.answer, 409, 'Version conflict'));

  a = await step('delete', c.delete());
  check(`delete → accepted with the deleted version ${stale.version}`, () => {
    const doc = accepted(a);
    assert.equal(doc.version, stale.version, `version in ${JSON.stringify(doc)}`);
  });

  a = await step('get', c.get());
  check('get after delete → rejected 404', () => rejected(a, 404, `No shadow exists with name: '${missing}'`));
  await c.close?.();
}

// queue hands pushed events to next() callers in order.
function queue() {
  const items = [];
  const waiters = [];
  return {
    push(x) {
      const w = waiters.shift();
      if (w) w(x);
      else items.push(x);
    },
    next: () => (items.length ? Promise.resolve(items.shift()) : new Promise((r) => waiters.push(r))),
  };
}

// An overall deadline, so that a silent SDK cannot hang the test.
setTimeout(() => fail('deadline', 'the scenario did not finish within 60 s'), 60000).unref();

module.exports = { config, run, ok, fail, within, queue };
