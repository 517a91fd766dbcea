'use strict';
// AWS IoT Device SDK v2 for JavaScript (aws-iot-device-sdk-v2 on aws-crt),
// unchanged, against the emulator over mutual TLS with the device
// certificate (client id = thing name).
//
//   node v2.js pubsub|rr|refused mqtt311|mqtt5
//
// pubsub:  iotshadow.IotShadowClient (subscribeTo…Accepted/Rejected,
//          publish…, subscribeTo…DeltaUpdatedEvents), exact topics, own tokens
// rr:      iotshadow.IotShadowClientv2 (request-response: subscribes to
//          …/get/+ and …/delete/+, chooses the clientToken itself)
// refused: the device certificate connecting with another client id is
//          refused (MQTT 5: CONNACK 0x87 Not authorized)

const { once } = require('node:events');
const { mqtt, mqtt5, iot, iotshadow } = require('aws-iot-device-sdk-v2');
const { config, run, ok, fail, within, queue } = require('./check');

const [api, protocol] = process.argv.slice(2);
if (!['pubsub', 'rr', 'refused'].includes(api) || !['mqtt311', 'mqtt5'].includes(protocol)) {
  fail('usage', 'node v2.js pubsub|rr|refused mqtt311|mqtt5');
}
const QOS1 = mqtt.QoS.AtLeastOnce;
const SUBSCRIPTION_ESTABLISHED = 0; // aws-crt mqtt_request_response.SubscriptionStatusEventType

// connect returns {client, close} for an MQTT 3.1.1 connection or an MQTT 5
// client; a refused MQTT 5 connection throws an error carrying the CONNACK.
async function connect(clientId) {
  if (protocol === 'mqtt5') {
    const builder = iot.AwsIotMqtt5ClientConfigBuilder
      .newDirectMqttBuilderWithMtlsFromPath(config.endpoint, config.cert, config.key)
      .withCertificateAuthorityFromPath(undefined, config.ca)
      .withPort(config.port)
      // The builder's own default keep-alive is 1200 s; setting the client id replaces it.
      .withConnectProperties({ clientId, keepAliveIntervalSeconds: 1200 });
    const client = new mqtt5.Mqtt5Client(builder.build());
    const connected = new Promise((resolve, reject) => {
      client.on('connectionSuccess', resolve);
      client.on('connectionFailure', (e) => {
        client.stop(); // no retries
        reject(Object.assign(new Error(e.error.message), { connack: e.connack }));
      });
    });
    client.start();
    await within(8000, 'MQTT 5 CONNACK', connected);
    return {
      client,
      async close() {
        const stopped = once(client, 'stopped');
        client.stop();
        await stopped;
        client.close();
      },
    };
  }
  const conf = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder_from_path(config.cert, config.key)
    .with_certificate_authority_from_path(undefined, config.ca)
    .with_endpoint(config.endpoint)
    .with_port(config.port)
    .with_client_id(clientId)
    .with_clean_session(true)
    .build();
  const client = new mqtt.MqttClient().new_connection(conf);
  client.on('error', () => {}); // connect() rejects with the same error
  await within(8000, 'MQTT 3.1.1 CONNACK', client.connect());
  return { client, close: () => client.disconnect() };
}

// Both APIs name operations on the classic and on a named shadow alike:
// getShadow / getNamedShadow, subscribeToShadowDeltaUpdatedEvents /
// subscribeToNamedShadowDeltaUpdatedEvents, …
function naming(name) {
  const kind = name ? 'NamedShadow' : 'Shadow';
  const request = (fields) => ({ thingName: config.thing, ...(name && { shadowName: name }), ...fields });
  return { kind, request };
}

async function pubsub(transport, name) {
  const shadow = protocol === 'mqtt5'
    ? iotshadow.IotShadowClient.newFromMqtt5Client(transport.client)
    : new iotshadow.IotShadowClient(transport.client);
  const { kind, request } = naming(name);
  let pending = null; // {op, token, resolve}: requests run one at a time
  const answer = (op, status) => (err, doc) => {
    if (err) fail(`${op} ${status}`, `SDK could not decode the answer: ${err.message}`);
    if (pending && pending.op === op) {
      const { token, resolve } = pending;
      pending = null;
      resolve({ [status]: doc, token });
    }
  };
  for (const op of ['Get', 'Update', 'Delete']) {
    await shadow[`subscribeTo${op}${kind}Accepted`](request(), QOS1, answer(op, 'accepted'));
    await shadow[`subscribeTo${op}${kind}Rejected`](request(), QOS1, answer(op, 'rejected'));
  }
  const deltas = queue();
  const deltaTopic = name ? 'subscribeToNamedShadowDeltaUpdatedEvents' : 'subscribeToShadowDeltaUpdatedEvents';
  await shadow[deltaTopic](request(), QOS1, (err, event) => {
    if (err) fail('delta', `SDK could not decode the event: ${err.message}`);
    deltas.push(event);
  });
  ok('subscribed to the accepted, rejected and delta topics');

  let n = 0;
  const send = (op, fields) => {
    const token = `${config.thing}-${name || 'classic'}-${++n}`;
    const answered = new Promise((resolve) => { pending = { op, token, resolve }; });
    shadow[`publish${op}${kind}`](request({ ...fields, clientToken: token }), QOS1);
    return answered;
  };
  return {
    get: () => send('Get'),
    update: (doc) => send('Update', doc),
    delete: () => send('Delete'),
    delta: () => deltas.next(),
    staleUpdate: async () => ({ answer: await send('Update', { state: { reported: { temp: 21 } }, version: 1 }), version: 2 }),
  };
}

async function requestResponse(transport, name) {
  const options = { maxRequestResponseSubscriptions: 4, maxStreamingSubscriptions: 2, operationTimeoutInSeconds: 8 };
  const shadow = protocol === 'mqtt5'
    ? iotshadow.IotShadowClientv2.newFromMqtt5(transport.client, options)
    : iotshadow.IotShadowClientv2.newFromMqtt311(transport.client, options);
  const { kind, request } = naming(name);
  // A rejection arrives as a ServiceError whose modeledError is the
  // …/rejected document.
  const call = async (method, fields) => {
    try {
      return { accepted: await shadow[`${method}${kind}`](request(fields)) };
    } catch (err) {
      if (err.modeledError) return { rejected: err.modeledError };
      throw new Error(`${err.message}${err.internalError ? `: ${err.internalError.message}` : ''}`);
    }
  };
  const deltas = queue();
  const stream = shadow[`create${kind}DeltaUpdatedStream`](request());
  const established = new Promise((resolve, reject) => stream.on('subscriptionStatus', (e) =>
    (e.type === SUBSCRIPTION_ESTABLISHED ? resolve() : reject(new Error(`delta subscription status ${e.type}: ${e.error}`)))));
  stream.on('incomingPublish', (e) => deltas.push(e.message));
  stream.on('incomingPublishError', (e) => fail('delta', `SDK could not decode the event: ${e.error}`));
  stream.open();
  await within(8000, 'SUBACK for the delta stream', established);
  ok('delta stream subscribed');
  return {
    get: () => call('get'),
    update: (doc) => call('update', doc),
    delete: () => call('delete'),
    delta: () => deltas.next(),
    staleUpdate: async () => ({ answer: await call('update', { state: { reported: { temp: 21 } }, version: 1 }), version: 2 }),
    close() {
      stream.close();
      shadow.close();
    },
  };
}

// refused: AWS refuses a client id the policy does not allow (here: any but
// the certificate's thing name); over MQTT 5 with CONNACK 0x87.
async function refused() {
  const clientId = `${config.thing}-intruder`;
  const what = `v2 ${protocol}: connecting as ${clientId} with ${config.thing}'s certificate`;
  let transport;
  try {
    transport = await connect(clientId);
  } catch (err) {
    if (protocol === 'mqtt311') return ok(`${what} → refused (${err.message || err})`);
    const code = err.connack?.reasonCode;
    if (code === 0x87) return ok(`${what} → refused, CONNACK 0x87 Not authorized`);
    const got = err.connack ? `CONNACK reason code 0x${code.toString(16)} ${JSON.stringify(err.connack)}` : err.message;
    return fail(what, `expected CONNACK 0x87 (Not authorized), got ${got}`);
  }
  await transport.close();
  fail(what, 'the connection was accepted');
}

(async () => {
  if (api === 'refused') {
    await refused();
    process.exit(0);
  }
  const transport = await connect(config.thing).catch((err) => fail('connect', err.message || String(err)));
  ok(`v2 ${api} ${protocol}: connected to ${config.endpoint}:${config.port} as ${config.thing} (mutual TLS)`);
  await run(`v2 ${api} ${protocol}`, (name) => (api === 'rr' ? requestResponse(transport, name) : pubsub(transport, name)));
  await within(5000, 'clean disconnect', transport.close()).catch((err) => fail('disconnect', err.message));
  ok('disconnected');
  process.exit(0);
})().catch((err) => fail('unexpected', err.stack || String(err)));
