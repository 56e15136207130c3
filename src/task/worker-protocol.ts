// Messages between the supervisor's thread and a task's worker thread.
import type { HdfsSettings } from '../sink/fs.ts';
import type { KafkaClientName } from './source.ts';
import type { OffsetGapReport } from './task.ts';

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
  /** WebHDFS addresses of hdfs: locations (service config hdfs). */
  hdfs: HdfsSettings;
}

export type ToWorker = { type: 'stop'; commitBuffered: boolean };

export type FromWorker =
  | { type: 'started'; ownerEpoch: number }
  | { type: 'heartbeat' }
  | { type: 'consuming' }
  | { type: 'rejected'; partition: number; count: number }
  | ({ type: 'offset-gap' } & OffsetGapReport)
  /** name and retriable travel with the message: a failure a restart cannot fix stops the table. */
  | { type: 'failed'; message: string; name?: string; retriable: boolean }
  | { type: 'stopped' };
