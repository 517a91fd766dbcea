'use strict';
// AWS IoT Device SDK for JavaScript v1 (aws-iot-device-sdk, on mqtt.js),
// unchanged, against the emulator over mutual TLS with the device
// certificate (client id = thing name).
//
//   node v1.js
//
// Classic shadow: awsIot.thingShadow register / get / update / delete with its
// 'status' and 'delta' events. thingShadow has no API for named shadows: v1
// users publish and subscribe their topics through the same client, and so
// does this script.

const awsIot = require('aws-iot-device-sdk');
const { config, run, ok, fail, within, queue } = require('./check');

const shadows = awsIot.thingShadow({
  host: config.endpoint,
  port: config.port,
  protocol: 'mqtts',
  clientId: config.thing,
  certPath: config.cert,
  keyPath: config.key,
  caPath: config.ca,
}, { operationTimeout: 8000 });
// After DISCONNECT the broker closes the socket; a reset racing the
// client's own close then is not a failure.
let ending = false;
shadows.on('error', (err) => ending || fail('connection', err.message || String(err)));

// Messages on topics thingShadow does not handle itself, by topic.
const handlers = new Map();
shadows.on('message', (topic, payload) => {
  const handle = handlers.get(topic);
  if (handle) handle(JSON.parse(payload.toString()));
});

function subscribe(topics) {
  return new Promise((resolve, reject) => shadows.subscribe(topics, { qos: 0 }, (err, granted) => {
    const failed = (granted || []).filter((g) => g.qos === 128).map((g) => g.topic);
    if (err || failed.length) reject(new Error(`SUBACK refused ${failed.join(', ') || err}`));
    else resolve();
  }));
}

// documentsAt resolves on the update/documents message for version v.
function documentsAt(base, v) {
  return new Promise((resolve) => handlers.set(`${base}/update/documents`, (doc) => {
    if (doc.current?.version === v) resolve(doc);
  }));
}

async function classic() {
  const thing = config.thing;
  const base = `$aws/things/${thing}/shadow`;
  // persistentSubscribe false: thingShadow subscribes to an operation's
  // accepted and rejected topics for each request and unsubscribes after.
  await new Promise((resolve, reject) => shadows.register(thing, { persistentSubscribe: false }, (err, failed) =>
    (err || failed ? reject(new Error(`register: ${err} ${JSON.stringify(failed)}`)) : resolve())));
  await subscribe([`${base}/update/documents`]);
  ok('thingShadow registered (delta subscribed)');

  let pending = null;
  // thingShadow emits 'status' only for an answer carrying the clientToken
  // of the request in flight, and strips it from the document: put it back.
  shadows.on('status', (name, status, token, doc) => {
    if (pending && pending.token === token) pending.resolve({ [status]: { ...doc, clientToken: token }, token });
  });
  shadows.on('timeout', (name, token) => {
    if (pending && pending.token === token) pending.reject(new Error(`thingShadow timed out waiting for an answer with clientToken ${token}`));
  });
  const deltas = queue();
  shadows.on('delta', (name, doc) => deltas.push(doc));

  const send = (op, arg) => new Promise((resolve, reject) => {
    const token = shadows[op](thing, arg);
    if (!token) reject(new Error(`thingShadow refused to start ${op}`));
    pending = { token, resolve, reject };
  });
  return {
    get: () => send('get'),
    update: (doc) => {
      // thingShadow adds the version itself (the last one it saw) and
      // refuses one from the caller.
      const { version, ...rest } = doc;
      return send('update', rest);
    },
    delete: () => send('delete'),
    delta: () => deltas.next(),
    deltaToken: false, // thingShadow strips clientToken from delta events
    async staleUpdate() {
      // Another writer moves the shadow to version 3 while thingShadow is
      // not listening; its next update carries the version 2 it last saw.
      const moved = documentsAt(base, 3);
      shadows.publish(`${base}/update`, JSON.stringify({ state: { reported: { temp: 22 } } }), { qos: 0 });
      await within(8000, 'update/documents for the other writer\'s update', moved);
      ok('another writer moved the shadow to version 3 (update/documents)');
      return { answer: await send('update', { state: { reported: { temp: 21 } } }), version: 3 };
    },
    close: () => shadows.unregister(thing),
  };
}

async function named(name) {
  const base = `$aws/things/${config.thing}/shadow/name/${name}`;
  let pending = null;
  const deltas = queue();
  const topics = [];
  for (const op of ['get', 'update', 'delete']) {
    for (const status of ['accepted', 'rejected']) {
      topics.push(`${base}/${op}/${status}`);
      handlers.set(`${base}/${op}/${status}`, (doc) => {
        if (pending && pending.op === op) pending.resolve({ [status]: doc, token: pending.token });
      });
    }
  }
  topics.push(`${base}/update/delta`);
  handlers.set(`${base}/update/delta`, (doc) => deltas.push(doc));
  await subscribe(topics);
  ok('subscribed (thingShadow.subscribe) to the accepted, rejected and delta topics');

  let n = 0;
  const send = (op, fields) => new Promise((resolve) => {
    const token = `${config.thing}-${name}-${++n}`;
    pending = { op, token, resolve };
    shadows.publish(`${base}/${op}`, JSON.stringify({ ...fields, clientToken: token }), { qos: 0 });
  });
  return {
    get: () => send('get'),
    update: (doc) => send('update', doc),
    delete: () => send('delete'),
    delta: () => deltas.next(),
    staleUpdate: async () => ({ answer: await send('update', { state: { reported: { temp: 21 } }, version: 1 }), version: 2 }),
  };
}

shadows.once('connect', async () => {
  ok(`v1: connected to ${config.endpoint}:${config.port} as ${config.thing} (mutual TLS)`);
  try {
    await run('v1', (name) => (name ? named(name) : classic()));
  } catch (err) {
    fail('unexpected', err.stack || String(err));
  }
  ending = true;
  shadows.end(false, () => {
    ok('disconnected');
    process.exit(0);
  });
});
