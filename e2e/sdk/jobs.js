'use strict';
// A device built on AWS IoT Device SDK v2 for JavaScript's jobs client
// (iotjobs.IotJobsClient, MQTT 3.1.1), unchanged, running one job against
// the emulator as AWS's jobs sample does: it hears the job on notify-next,
// starts it with start-next, reports progress, then SUCCEEDED, and sees a
// stale expectedVersion rejected.
//
//   JOB=<job id> node jobs.js   (startedAt and the other times are epoch seconds)
//
// The Go test creates the job through the control plane once this prints
// "subscribed"; its document is {"operation":"ota",...}.

const { mqtt, iot, iotjobs } = require('aws-iot-device-sdk-v2');
const { config, ok, fail, within, queue } = require('./check');

const QOS1 = mqtt.QoS.AtLeastOnce;
const jobId = process.env.JOB || fail('setup', 'environment variable JOB is not set');

async function connect() {
  const conf = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder_from_path(config.cert, config.key)
    .with_certificate_authority_from_path(undefined, config.ca)
    .with_endpoint(config.endpoint)
    .with_port(config.port)
    .with_client_id(config.thing)
    .with_clean_session(true)
    .build();
  const client = new mqtt.MqttClient().new_connection(conf);
  client.on('error', () => {});
  await within(8000, 'MQTT 3.1.1 CONNACK', client.connect());
  return client;
}

// answers turns the SDK's accepted/rejected handlers into a queue of
// {accepted} | {rejected} per operation.
function answers() {
  const q = queue();
  const handler = (kind) => (err, doc) => {
    if (err) fail(kind, `SDK could not decode the answer: ${err.message}`);
    q.push({ [kind]: doc });
  };
  return { q, accepted: handler('accepted'), rejected: handler('rejected') };
}

(async () => {
  const connection = await connect().catch((err) => fail('connect', err.message || String(err)));
  const jobs = new iotjobs.IotJobsClient(connection);
  const thingName = config.thing;
  ok(`jobs: connected as ${thingName}`);

  const next = queue();
  await jobs.subscribeToNextJobExecutionChangedEvents({ thingName }, QOS1, (err, event) => {
    if (err) fail('notify-next', `SDK could not decode the event: ${err.message}`);
    next.push(event);
  });
  const start = answers();
  await jobs.subscribeToStartNextPendingJobExecutionAccepted({ thingName }, QOS1, start.accepted);
  await jobs.subscribeToStartNextPendingJobExecutionRejected({ thingName }, QOS1, start.rejected);
  const update = answers();
  await jobs.subscribeToUpdateJobExecutionAccepted({ thingName, jobId }, QOS1, update.accepted);
  await jobs.subscribeToUpdateJobExecutionRejected({ thingName, jobId }, QOS1, update.rejected);
  const pending = answers();
  await jobs.subscribeToGetPendingJobExecutionsAccepted({ thingName }, QOS1, pending.accepted);
  await jobs.subscribeToGetPendingJobExecutionsRejected({ thingName }, QOS1, pending.rejected);
  ok('jobs: subscribed to notify-next, start-next, update and get answers');

  const queued = await within(20000, 'notify-next for the new job', next.next());
  if (!queued.execution || queued.execution.jobId !== jobId || queued.execution.status !== 'QUEUED'
      || queued.execution.jobDocument.operation !== 'ota') {
    fail('notify-next', JSON.stringify(queued));
  }
  ok(`jobs: notify-next named ${jobId}, QUEUED, with its document`);

  await jobs.publishGetPendingJobExecutions({ thingName, clientToken: 'pending-1' }, QOS1);
  const p = await within(8000, 'get/accepted', pending.q.next());
  if (!p.accepted || p.accepted.queuedJobs.length !== 1 || p.accepted.queuedJobs[0].jobId !== jobId) {
    fail('get pending', JSON.stringify(p));
  }
  ok(`jobs: ${jobId} is queued (get pending)`);

  await jobs.publishStartNextPendingJobExecution({ thingName, clientToken: 'start-1', stepTimeoutInMinutes: 5,
    statusDetails: { step: 'download' } }, QOS1);
  const s = await within(8000, 'start-next/accepted', start.q.next());
  const exec = s.accepted && s.accepted.execution;
  if (!exec || exec.jobId !== jobId || exec.status !== 'IN_PROGRESS' || exec.jobDocument.operation !== 'ota'
      || s.accepted.clientToken !== 'start-1' || !(exec.startedAt > 1e9 && exec.startedAt < 1e11)) {
    fail('start-next', JSON.stringify(s));
  }
  ok(`jobs: start-next → IN_PROGRESS, version ${exec.versionNumber}, document operation ${exec.jobDocument.operation}`);

  await jobs.publishUpdateJobExecution({ thingName, jobId, status: 'IN_PROGRESS', expectedVersion: exec.versionNumber,
    statusDetails: { step: 'verify', progress: '100%' }, includeJobExecutionState: true, clientToken: 'u-1' }, QOS1);
  const u1 = await within(8000, 'update/accepted', update.q.next());
  if (!u1.accepted || u1.accepted.executionState.status !== 'IN_PROGRESS' || u1.accepted.executionState.statusDetails.step !== 'verify') {
    fail('progress', JSON.stringify(u1));
  }
  ok(`jobs: progress reported, version ${u1.accepted.executionState.versionNumber}`);

  await jobs.publishUpdateJobExecution({ thingName, jobId, status: 'SUCCEEDED', expectedVersion: exec.versionNumber,
    clientToken: 'u-stale' }, QOS1);
  const stale = await within(8000, 'update/rejected', update.q.next());
  if (!stale.rejected || stale.rejected.code !== 'VersionMismatch') fail('stale expectedVersion', JSON.stringify(stale));
  ok('jobs: a stale expectedVersion is rejected (VersionMismatch)');

  await jobs.publishUpdateJobExecution({ thingName, jobId, status: 'SUCCEEDED',
    expectedVersion: u1.accepted.executionState.versionNumber, statusDetails: { fw: '1.3.0' }, clientToken: 'u-2' }, QOS1);
  const u2 = await within(8000, 'update/accepted', update.q.next());
  if (!u2.accepted) fail('succeeded', JSON.stringify(u2));
  ok('jobs: SUCCEEDED accepted');

  const done = await within(8000, 'notify-next', next.next());
  if (done.execution) fail('notify-next after SUCCEEDED', JSON.stringify(done));
  ok('jobs: notify-next says nothing is left');

  await within(5000, 'clean disconnect', connection.disconnect()).catch((err) => fail('disconnect', err.message));
  ok('disconnected');
  process.exit(0);
})().catch((err) => fail('unexpected', err.stack || String(err)));
