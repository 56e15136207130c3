// Messages between the supervisor's thread and a task's worker thread.
import type { PortablePartition } from '../ledger/ledger.ts';
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
  /** In a cluster: intents and commits go to the service's fenced state log first ('fence' messages). */
  fenced: boolean;
}

export type ToWorker =
  | { type: 'stop'; commitBuffered: boolean }
  | { type: 'fence-done'; id: number; error?: { message: string; name: string } };

export type FromWorker =
  | { type: 'started'; ownerEpoch: number }
  | { type: 'heartbeat' }
  | { type: 'consuming' }
  | { type: 'rejected'; partition: number; count: number }
  | ({ type: 'offset-gap' } & OffsetGapReport)
  /** name and retriable travel with the message: a failure a restart cannot fix stops the table. */
  | { type: 'failed'; message: string; name?: string; retriable: boolean }
  | { type: 'stopped' }
  /** A partition's state for the cluster's state log; answered by 'fence-done'. */
  | { type: 'fence'; id: number; partition: number; state: PortablePartition };
