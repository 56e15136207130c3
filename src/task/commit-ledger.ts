// Where a task's commit protocol records intents and commits. A service alone: its local ledger.
// In a cluster: the cluster's fenced state log first (a write the service's thread makes for the
// task), then the local ledger, so that a task fenced out stops before its batch is published.
import type { Ledger, PortablePartition } from '../ledger/ledger.ts';
import type { CommitLedger } from '../sink/commit.ts';

/** Records a partition's state in the cluster's state log; throws once another instance owns the table. */
export type FenceWrite = (partition: number, state: PortablePartition) => Promise<void>;

export function commitLedger(ledger: Ledger, fence: FenceWrite | undefined): CommitLedger {
  if (!fence) return ledger;
  return {
    async recordIntent(intent) {
      const { firstOffset, lastOffset, recordCount, ownerEpoch, files } = intent;
      await fence(intent.kafkaPartition, { next: firstOffset, pending: { firstOffset, lastOffset, recordCount, ownerEpoch, files } });
      return ledger.recordIntent(intent);
    },
    async markCommitted(batch) {
      await fence(batch.kafkaPartition, { next: batch.lastOffset + 1, pending: null });
      ledger.markCommitted(batch);
    },
    async discardPending(batch, why) {
      await fence(batch.kafkaPartition, { next: batch.firstOffset, pending: null });
      ledger.discardPending(batch, why);
    },
    pendingBatches: (tableId) => ledger.pendingBatches(tableId),
  };
}
