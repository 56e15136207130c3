// Fill for the Avro run of the throughput part: the same records as fill.ts's JSON ones, as Avro in
// the Confluent wire format with a schema registered in the stack's Schema Registry. Kafka's
// ProducerPerformance reads text payloads only, so kafkajs produces these, in large batches.
import avro from 'avsc';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { SchemaRegistryClient } from '../../../src/format/schema-registry.ts';
import { stack } from '../../integration/helpers/services.ts';
import { benchRecord, brokers, createTopics, round } from '../lib.ts';
import type { Filled } from './fill.ts';

export const BENCH_AVRO_SCHEMA = {
  type: 'record', name: 'PageView', fields: [
    { name: 'id', type: 'long' }, { name: 'userid', type: 'long' }, { name: 'url', type: 'string' },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } }, { name: 'country', type: 'string' },
  ],
};

export async function fillAvro(topic: string, partitions: number, records: number): Promise<Filled> {
  await createTopics([{ topic, partitions }]);
  const id = await new SchemaRegistryClient({ url: stack.schemaRegistry }).register(`${topic}-value`, JSON.stringify(BENCH_AVRO_SCHEMA));
  const type = avro.Type.forSchema(BENCH_AVRO_SCHEMA as avro.Schema);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(id, 1);
  const payloads = Array.from({ length: 10_000 }, (_, i) => Buffer.concat([header, type.toBuffer(JSON.parse(benchRecord(i)))]));
  const producer = new Kafka({ brokers, clientId: 'bench-fill-avro', logLevel: logLevel.NOTHING }).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const started = Date.now();
  let bytes = 0;
  try {
    const chunk = 20_000;
    for (let sent = 0; sent < records; sent += chunk) {
      const n = Math.min(chunk, records - sent);
      const messages = Array.from({ length: n }, (_, i) => { const value = payloads[(sent + i) % payloads.length]!; bytes += value.length; return { value }; });
      await producer.send({ topic, acks: 1, compression: CompressionTypes.None, messages });
    }
  } finally {
    await producer.disconnect();
  }
  const s = (Date.now() - started) / 1000;
  return { topic, partitions, records, bytes, msgsPerS: round(records / s), mbPerS: round(bytes / 1e6 / s, 1) };
}
