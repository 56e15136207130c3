// Messages between the supervisor's thread and a worker thread that runs many tasks. Every task
// message names the task by `key` (one per task start), so a late word of a task stopped since is
// recognised and dropped.
import type { PortablePartition } from '../ledger/ledger.ts';
import type { HdfsSettings } from '../sink/fs.ts';
import type { RegistryProfiles } from '../format/registries.ts';
import type { KafkaClientName } from './source.ts';
import type { CommitReport, OffsetGapReport } from './task.ts';

/** What every task of a worker shares: given once, when the worker starts. */
export interface WorkerInit {
  ledgerPath: string;
  metastoreUri: string;
  metastoreTimeoutMs: number;
  heartbeatMs: number;
  /** Named Kafka credentials; only this service's own threads ever see them. */
  credentialsProfiles: Record<string, Record<string, string>>;
  /** Named Schema Registries (URL and credentials) for avro tables. */
  schemaRegistries: RegistryProfiles;
  /** The Kafka client tasks read with (service config kafkaClient). */
  kafkaClient: KafkaClientName;
  /** WebHDFS addresses of hdfs: locations (service config hdfs). */
  hdfs: HdfsSettings;
  /**
   * One Int32 the worker sets to the key of the task it runs code of, at each way into a task
   * (records handed over, batch timer, commit steps): when the thread stops answering, it names
   * the task that most likely blocked it.
   */
  running: SharedArrayBuffer;
  /** The service's turns at the ledger's write lock (ledger/write-turns.ts). */
  ledgerTurns: SharedArrayBuffer;
}

/** One task to run: a table's partitions. */
export interface TaskStart {
  key: number;
  tableId: number;
  taskId: string;
  partitions: number[];
  /** In a cluster: intents and commits go to the service's fenced state log first ('fence' messages). */
  fenced: boolean;
}

export type ToWorker =
  | ({ type: 'start' } & TaskStart)
  | { type: 'stop'; key: number; commitBuffered: boolean }
  /** Forget a task that did not stop in time: its partitions are fenced by its successor's claim. */
  | { type: 'abandon'; key: number }
  | { type: 'fence-done'; id: number; error?: { message: string; name: string } };

export type FromWorker =
  /** The thread is alive (one per worker, not per task). */
  | { type: 'heartbeat' }
  | { type: 'started'; key: number; ownerEpoch: number }
  | { type: 'consuming'; key: number }
  | { type: 'rejected'; key: number; partition: number; count: number }
  | ({ type: 'committed'; key: number; partition: number } & CommitReport)
  | ({ type: 'offset-gap'; key: number } & OffsetGapReport)
  /** A new writer schema added columns to the table; the partition waits for the ALTER's restart. */
  | { type: 'schema-evolved'; key: number; partition: number; offset: number; added: string[]; reason: string }
  /** name and retriable travel with the message: a failure a restart cannot fix stops the table. */
  | { type: 'failed'; key: number; message: string; name?: string; retriable: boolean }
  | { type: 'stopped'; key: number }
  /** A partition's state for the cluster's state log; answered by 'fence-done'. */
  | { type: 'fence'; key: number; id: number; partition: number; state: PortablePartition };
