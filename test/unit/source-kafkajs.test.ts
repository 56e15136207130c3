// The kafkajs source after a crash: the supervisor restarts the task, so kafkajs must not restart the
// consumer on its own. It schedules its restart after the CRASH event that the task answers with
// stop(), so a restart it made ran on with no one to stop it. kafkajs's cluster layer is stubbed here
// (no broker): the group coordinator cannot be found, which kafkajs treats as a retriable crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Cluster = require('kafkajs/src/cluster/index.js');
const { KafkaJSConnectionError } = require('kafkajs/src/errors.js');
const calls = { findCoordinator: 0 };
Cluster.prototype.connect = async function connect() {};
Cluster.prototype.disconnect = async function disconnect() {};
Cluster.prototype.addMultipleTargetTopics = async function addMultipleTargetTopics() {};
Cluster.prototype.refreshMetadataIfNecessary = async function refreshMetadataIfNecessary() {};
Cluster.prototype.refreshMetadata = async function refreshMetadata() {};
Cluster.prototype.findGroupCoordinator = async function findGroupCoordinator() { calls.findCoordinator++; throw new KafkaJSConnectionError('coordinator down'); };
const { KafkajsSource } = await import('../../src/task/source-kafkajs.ts');

test('a crash stops the consumer for good: kafkajs does not bring it back after the task stopped it', async () => {
  const crashes: string[] = [];
  const source = new KafkajsSource({
    brokers: ['127.0.0.1:1'], topic: 't', partitions: [0], groupId: 'g', readUncommitted: false, clientOverrides: {}, auth: {},
    startOffsets: new Map([[0, 0]]), onRecords: async () => {},
    // What the task does on a crash: fail, which stops its source.
    onCrash: (e) => { crashes.push(e.name); void source.stop(); },
  });
  await source.start();
  await new Promise((r) => setTimeout(r, 2000)); // kafkajs restarts after initialRetryTime (300 ms) and more
  assert.deepEqual(crashes, ['KafkaJSConnectionError'], 'one crash, no restart behind it');
  assert.equal(calls.findCoordinator, 1, 'no second join attempt');
});
