// Where each partition's log starts now: a task compares it with the offset it expected next to tell
// a deletion (retention, deleteRecords) from the offsets a read_committed fetch skips normally.
// kafkajs's admin serves both Kafka clients: this is one ListOffsets request, not a read path.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { KafkaAuth } from './kafka-auth.ts';
import { topicOffsets } from './topic-offsets.ts';

export function logStartProbe(brokers: string[], topic: string, auth: KafkaAuth): (partitions: readonly number[]) => Promise<Map<number, number>> {
  let admin: Promise<Admin> | undefined;
  return async (partitions) => {
    admin ??= (async () => {
      const a = new Kafka({ brokers, clientId: 'hive-kafka-log-start', logLevel: logLevel.NOTHING, ...auth }).admin();
      await a.connect();
      return a;
    })().catch((e: unknown) => { admin = undefined; throw e; });
    const connected = await admin;
    const offsets = await topicOffsets(topic, 'the task fails and is restarted after its backoff', () => connected.fetchTopicOffsets(topic));
    return new Map(offsets.filter((o) => partitions.includes(o.partition)).map((o) => [o.partition, Number(o.low)]));
  };
}
