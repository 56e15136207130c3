// Endpoints of the real stack and a loud check that each one answers: an integration test never
// skips itself when a service is missing, it fails and says which one.
import { connect } from 'node:net';
import type { Kafka, Producer } from 'kafkajs';

export const stack = {
  kafkaBrokers: process.env.HIVE_KAFKA_BROKERS ?? '127.0.0.1:9092',
  metastoreUri: process.env.HIVE_KAFKA_HMS_URI ?? 'thrift://127.0.0.1:9083',
  hiveServer2: process.env.HIVE_KAFKA_HS2 ?? '127.0.0.1:10000',
  /** The stack's NameNode as table locations name it (RPC address), and its WebHDFS HTTP address. */
  hdfs: process.env.HIVE_KAFKA_HDFS ?? 'hdfs://127.0.0.1:8020',
  webHdfs: process.env.HIVE_KAFKA_WEBHDFS ?? '127.0.0.1:9870',
  /** Apicurio Registry's Confluent-compatible API (npm run stack:up starts it: test/stack/up.sh). */
  schemaRegistry: process.env.HIVE_KAFKA_SCHEMA_REGISTRY ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
};

function canConnect(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function hostPort(endpoint: string): [string, number] {
  const m = /^(?:[a-z0-9]+:\/\/)?([^:/]+):(\d+)/i.exec(endpoint);
  if (!m) throw new Error(`not a host:port endpoint: ${endpoint}`);
  return [m[1]!, Number(m[2])];
}

async function requireService(name: string, endpoint: string): Promise<void> {
  const [host, port] = hostPort(endpoint);
  if (!(await canConnect(host, port))) {
    throw new Error(`${name} is not reachable at ${endpoint} (start the stack with: npm run stack:up)`);
  }
}

export const requireKafka = () => requireService('Kafka broker', stack.kafkaBrokers.split(',')[0]!);
export const requireMetastore = () => requireService('Hive Metastore', stack.metastoreUri);
export const requireHiveServer2 = () => requireService('HiveServer2', stack.hiveServer2);
export const requireHdfs = () => requireService('HDFS NameNode (WebHDFS)', stack.webHdfs);

/** The Schema Registry answers its Confluent-compatible API (a listening port alone is not enough: Quarkus listens before it serves). */
export async function requireRegistry(): Promise<void> {
  const url = `${stack.schemaRegistry}/subjects`;
  const ok = await fetch(url, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
  if (!ok) throw new Error(`Schema Registry is not answering at ${url} (start the stack with: npm run stack:up)`);
}

/** Every service of the stack, or a failure naming the first one missing. */
export async function requireStack(): Promise<void> {
  await requireKafka();
  await requireMetastore();
  await requireHiveServer2();
  await requireHdfs();
}

/**
 * Creates a topic on the stack's broker (or on `brokers`: the second cluster, kafka2) and waits for its
 * partition leaders. `config`: topic-level settings (retention.ms...).
 */
export async function createTopics(topics: { topic: string; partitions: number; config?: Record<string, string> }[], brokers = stack.kafkaBrokers): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  // More retries than kafkajs's default 5: the bench's 200-table step failed on 2 cores with "This server
  // does not host this topic-partition" (2026-12-02), from this wait for leaders or from its producer.
  const admin = new Kafka({ brokers: brokers.split(','), clientId: 'it-admin', logLevel: logLevel.NOTHING, retry: { retries: 12, maxRetryTime: 10_000 } }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1, configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })) })), waitForLeaders: false });
    // Waits for the leaders here: kafkajs's own wait retries LEADER_NOT_AVAILABLE only and gives up at
    // once on "This server does not host this topic-partition", which a broker started a moment ago
    // answers for topics it has just created (`npm run bench -- --only scale` on a fresh stack, 2026-12-03).
    const names = topics.map((t) => t.topic);
    const deadline = Date.now() + 60_000;
    for (;;) {
      let waiting: string[];
      try {
        const { topics: described } = await admin.fetchTopicMetadata({ topics: names });
        waiting = names.filter((name) => {
          const t = described.find((d) => d.name === name);
          return !t || t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0);
        });
      } catch (e) {
        waiting = [`${names.length} topics (${(e as Error).message})`];
      }
      if (waiting.length === 0) return;
      if (Date.now() > deadline) throw new Error(`Kafka at ${brokers} created ${waiting.slice(0, 5).join(', ')}${waiting.length > 5 ? ` and ${waiting.length - 5} more` : ''} but gave them no leader within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * The tests' producer. Idempotent, because the tests count every record exactly once: a plain
 * producer writes a batch twice when the broker appended it but answered too late and the send was
 * retried (CI, 2026-12-06: a new topic's first 10 records at offsets 0-9 and again at 10-19, which the
 * compaction test then counted twice in Hive). Not across a broker restart: kafkajs's idempotent
 * producer then fails with OUT_OF_ORDER_SEQUENCE_NUMBER, so service-faults.test.ts keeps a plain one
 * and checks the table against what the topic holds.
 */
export const producerFor = (kafka: Kafka): Producer => kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
