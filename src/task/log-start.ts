// Where each partition's log starts now, for the per-task Kafka clients (the shared fetch loop asks
// its own admin): a task compares it with the offset it expected next to tell a deletion (retention,
// deleteRecords) from the offsets a read_committed fetch skips normally. kafkajs's admin serves both
// per-task clients: this is one ListOffsets request, not a read path. One admin per Kafka connection
// for the worker thread's life: each task's start asks, and an admin per task was never closed, so a
// restarted task left a connection behind. kafkajs is loaded only when a task first asks.
import type { Admin } from 'kafkajs';
import type { KafkaAuth } from './kafka-auth.ts';
import { topicOffsets } from './topic-offsets.ts';

export interface LogStartConnection { brokers: string[]; auth: KafkaAuth }

export class LogStartProbes {
  private readonly admins = new Map<string, Promise<Admin>>();

  constructor(private readonly connect: (c: LogStartConnection) => Promise<Admin> = kafkajsAdmin) {}

  async offsets(connection: LogStartConnection, topic: string, partitions: readonly number[]): Promise<Map<number, number>> {
    const key = JSON.stringify([[...connection.brokers].sort(), connection.auth]);
    let admin = this.admins.get(key);
    if (!admin) {
      admin = this.connect(connection);
      this.admins.set(key, admin);
      // A failed connect is not kept: the task fails, and its restart tries again.
      admin.catch(() => { if (this.admins.get(key) === admin) this.admins.delete(key); });
    }
    const connected = await admin;
    const offsets = await topicOffsets(topic, 'the task fails and is restarted after its backoff', () => connected.fetchTopicOffsets(topic));
    return new Map(offsets.filter((o) => partitions.includes(o.partition)).map((o) => [o.partition, Number(o.low)]));
  }
}

/** kafkajs is loaded when a task first asks (kafkajs-admin.ts). */
async function kafkajsAdmin(c: LogStartConnection): Promise<Admin> {
  return (await import('./kafkajs-admin.ts')).kafkajsAdmin(c.brokers, c.auth);
}
