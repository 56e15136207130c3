// Messages between the supervisor's thread and a task's worker thread.
import type { KafkaClientName } from './source.ts';

export interface WorkerStart {
  tableId: number;
  taskId: string;
  partitions: number[];
  ledgerPath: string;
  metastoreUri: string;
  metastoreTimeoutMs: number;
  heartbeatMs: number;
  /** Named Kafka credentials; only this service's own threads ever see them. */
  credentialsProfiles: Record<string, Record<string, string>>;
  /** The Kafka client tasks read with (service config kafkaClient). */
  kafkaClient: KafkaClientName;
}

export type ToWorker = { type: 'stop'; commitBuffered: boolean };

export type FromWorker =
  | { type: 'started' }
  | { type: 'heartbeat' }
  | { type: 'consuming' }
  | { type: 'rejected'; partition: number; count: number }
  | { type: 'failed'; message: string }
  | { type: 'stopped' };
