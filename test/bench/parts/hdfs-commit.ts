// What one batch costs on HDFS, at the NameNode and in time: batches of one 2 MiB file, streamed into
// staging and committed through the commit protocol (commitBatch), as a task does. The DataNode
// answers a CREATE only once its own HDFS client completed the file at the NameNode, and that client
// waits dfs.client.block.write.locateFollowingBlock.initial.delay.ms (400 ms by default) whenever the
// NameNode has not yet heard of the last block. So the same batches run on the stack's DataNode with
// Hadoop's default and restarted with that wait at 20 ms, alternating, and the DataNode is restarted
// as it was at the end. NameNode requests are counted by WebHDFS op.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { promisify } from 'node:util';
import { Ledger } from '../../../src/ledger/ledger.ts';
import { commitBatch, stagingDir, type CommitDeps } from '../../../src/sink/commit.ts';
import { StagedFile } from '../../../src/sink/staged-file.ts';
import { countNameNodeRequests } from '../../integration/helpers/namenode-requests.ts';
import { stackFileSystems } from '../../integration/helpers/warehouse.ts';
import { median, percentile, round, stack } from '../lib.ts';

const run = promisify(execFile);
const FILE_BYTES = 2 << 20; // about a 100,000-record batch of the benchmark's records, SNAPPY
const SLOW_CLOSE_MS = 300;
const DELAY_KEY = 'dfs.client.block.write.locateFollowingBlock.initial.delay.ms';
const LOWERED_DELAY_MS = 20;
const DEFAULT_SETTING = 'default (400 ms)';
const LOWERED_SETTING = `${LOWERED_DELAY_MS} ms`;

export interface CommitTimes {
  setting: string; batches: number; slow_closes: number;
  close_median_ms: number; close_p90_ms: number; batch_mean_ms: number; batch_median_ms: number; batch_p90_ms: number;
  namenode_requests_per_batch: Record<string, number>;
}

async function restartDataNode(opts: string): Promise<void> {
  await run('bash', ['test/stack/hdfs-restart.sh', 'datanode'], { env: { ...process.env, HIVE_KAFKA_STACK_DATANODE_OPTS: opts }, maxBuffer: 16 << 20 });
}

/** `batches` batches into one partition directory of a new table (its first batch, which makes the directories, is not counted). */
async function timeBatches(setting: string, batches: number): Promise<CommitTimes> {
  const { fs, path: tableDir } = stackFileSystems.for(`${stack.hdfs}/tmp/bench-hdfs-commit-${process.pid}-${Date.now()}`);
  const ledger = Ledger.open(':memory:');
  const requests = countNameNodeRequests();
  try {
    ledger.upsertStream({ tableId: 1, dbName: 'bench', tableName: 'hdfs_commit', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
    ledger.initPartitions(1, new Map([[0, 0]]));
    const epoch = ledger.claimPartitions(1, [0]);
    const deps: CommitDeps = { fs, ledger, registerPartitions: async () => {} };
    const piece = new Uint8Array(randomBytes(FILE_BYTES));
    const closes: number[] = [];
    const whole: number[] = [];
    for (let i = 0; i <= batches; i++) {
      if (i === 1) requests.clear();
      const first = i * 100;
      const t0 = performance.now();
      const staged = new StagedFile(posix.join(stagingDir(tableDir, 0), `${first}-g0.${epoch}.tmp`), fs);
      await staged.write([piece]);
      const t1 = performance.now();
      await staged.close([]);
      const closeMs = performance.now() - t1;
      await commitBatch(deps, {
        tableId: 1, tableDir, kafkaPartition: 0, firstOffset: first, lastOffset: first + 99, recordCount: 100, ownerEpoch: epoch,
        files: [{ dir: posix.join(tableDir, 'dt=1'), finalName: `hdfs_commit+0+${first}+${first + 99}.parquet`, partitionValues: ['1'], bucket: null,
          content: { hiddenPath: staged.hiddenPath, close: async () => {} } }],
      });
      if (i > 0) { closes.push(closeMs); whole.push(performance.now() - t0); }
    }
    closes.sort((a, b) => a - b);
    whole.sort((a, b) => a - b);
    return {
      setting, batches, slow_closes: closes.filter((c) => c > SLOW_CLOSE_MS).length,
      close_median_ms: round(median(closes)), close_p90_ms: round(percentile(closes, 90)),
      batch_mean_ms: round(whole.reduce((a, b) => a + b, 0) / whole.length), batch_median_ms: round(median(whole)), batch_p90_ms: round(percentile(whole, 90)),
      namenode_requests_per_batch: Object.fromEntries(Object.entries(requests.byOp()).map(([op, count]) => [op, round(count / batches, 2)])),
    };
  } finally {
    requests.stop();
    ledger.close();
    await fs.removeTree(tableDir).catch(() => undefined);
  }
}

export async function hdfsCommit(opts: { batches: number; rounds: number }) {
  const lowered = `-D ${DELAY_KEY}=${LOWERED_DELAY_MS}`;
  const runs: CommitTimes[] = [];
  try {
    for (let r = 0; r < opts.rounds; r++) {
      await restartDataNode('');
      runs.push(await timeBatches(DEFAULT_SETTING, opts.batches));
      await restartDataNode(lowered);
      runs.push(await timeBatches(LOWERED_SETTING, opts.batches));
    }
  } finally {
    await restartDataNode('');
  }
  const of = (setting: string) => runs.filter((x) => x.setting === setting);
  const defaults = of(DEFAULT_SETTING);
  const loweredRuns = of(LOWERED_SETTING);
  // The mean, not the median: a batch waits 400 ms or not at all, about half the time each, so the
  // median of a run flips between the two while the mean is what a batch costs.
  const batchMean = (xs: CommitTimes[]) => xs.reduce((sum, x) => sum + x.batch_mean_ms, 0) / xs.length;
  return {
    file_bytes: FILE_BYTES, slow_close_ms: SLOW_CLOSE_MS, setting_key: DELAY_KEY, runs,
    slow_closes_default: defaults.reduce((n, x) => n + x.slow_closes, 0), slow_closes_lowered: loweredRuns.reduce((n, x) => n + x.slow_closes, 0),
    batches_each: opts.batches * opts.rounds,
    batch_mean_ms_default: round(batchMean(defaults)), batch_mean_ms_lowered: round(batchMean(loweredRuns)),
    batch_mean_ratio_lowered_vs_default: round(batchMean(loweredRuns) / batchMean(defaults), 2),
  };
}
