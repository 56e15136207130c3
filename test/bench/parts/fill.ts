// Fill: a topic of `records` JSON records of about 200 bytes, written by Kafka's own
// ProducerPerformance from a payload file of distinct records (it picks one at random per record).
// No timeout of ours bounds it (kafkaTool sets none): 2,000,000 records into one partition is a
// minute or so.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchRecord, brokers, createTopics, kafkaTool, round } from '../lib.ts';

export interface Filled { topic: string; partitions: number; records: number; bytes: number; msgsPerS: number; mbPerS: number }

export async function fill(topic: string, partitions: number, records: number): Promise<Filled> {
  await createTopics([{ topic, partitions }]);
  const payloads = Array.from({ length: 10_000 }, (_, i) => benchRecord(i));
  const file = join(mkdtempSync(join(tmpdir(), 'hive-kafka-bench-')), 'payloads.jsonl');
  writeFileSync(file, payloads.join('\n'));
  const avgBytes = payloads.reduce((n, p) => n + Buffer.byteLength(p), 0) / payloads.length;
  const out = await kafkaTool('org.apache.kafka.tools.ProducerPerformance', [
    '--topic', topic, '--num-records', String(records), '--throughput', '-1', '--payload-file', file,
    '--producer-props', `bootstrap.servers=${brokers.join(',')}`, 'acks=1', 'linger.ms=10', 'batch.size=524288', 'compression.type=none',
    // Millions of records into one partition (the memory sweep): the producer's 2-minute delivery
    // timeout and 1-minute block on a full buffer must not end the fill when the broker lags.
    'delivery.timeout.ms=900000', 'request.timeout.ms=120000', 'max.block.ms=900000',
  ]);
  // Its last line: "N records sent, R records/sec (M MB/sec), ..."
  const m = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\)/.exec(out.trim().split('\n').pop() ?? '');
  if (!m || Number(m[1]) !== records) throw new Error(`ProducerPerformance did not report ${records} records sent:\n${out.slice(-2000)}`);
  return { topic, partitions, records, bytes: Math.round(avgBytes * records), msgsPerS: round(Number(m[2])), mbPerS: round(Number(m[3]), 1) };
}
