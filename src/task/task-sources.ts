// Where the tasks of one worker thread read Kafka (service config kafkaClient):
// - 'shared': one fetch loop per Kafka cluster for all the worker's tasks (fetcher.ts, on
//   @platformatic/kafka's low-level fetch), which routes each partition's records to its task;
// - 'kafkajs' or 'platformatic': a client of its own per task (source-kafkajs.ts, source-platformatic.ts).
// Every hand-over of records first marks the task as the one the thread runs, for the hang watch.
import { FetcherRegistry } from './fetcher.ts';
import { LogStartProbes } from './log-start.ts';
import type { TaskSourcing } from './runtime.ts';
import { openSource, type KafkaClientName } from './source.ts';

export class TaskSources {
  private readonly shared: FetcherRegistry | undefined;
  private readonly probes = new LogStartProbes();

  constructor(private readonly client: KafkaClientName, private readonly enter: (taskKey: number) => void) {
    this.shared = client === 'shared' ? new FetcherRegistry() : undefined;
  }

  forTask(taskKey: number): TaskSourcing {
    const { shared } = this;
    return {
      open: async (options) => {
        const marked = { ...options, onRecords: (partition: number, records: Parameters<typeof options.onRecords>[1], readTo?: number) => { this.enter(taskKey); return options.onRecords(partition, records, readTo); } };
        if (shared) return shared.sourceFor(marked);
        return openSource(this.client as Exclude<KafkaClientName, 'shared'>, marked);
      },
      logStartOffsets: (connection, topic) => (shared
        ? (partitions) => shared.logStartOffsets(connection, topic, partitions)
        : (partitions) => this.probes.offsets(connection, topic, partitions)),
    };
  }
}
