// kafkajs's admin for the log-start probes, in a module of its own so that log-start.ts can load it
// on demand and the build still bundles kafkajs: one copy in a worker thread, shared with the
// per-task kafkajs source (a package loaded by import() stays outside the bundle, a second copy).
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { KafkaAuth } from './kafka-auth.ts';

export async function kafkajsAdmin(brokers: string[], auth: KafkaAuth): Promise<Admin> {
  const admin = new Kafka({ brokers, clientId: 'hive-kafka-log-start', logLevel: logLevel.NOTHING, ...auth }).admin();
  await admin.connect();
  return admin;
}
