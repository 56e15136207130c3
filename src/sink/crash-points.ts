// Test builds only: HIVE_KAFKA_CRASH_AT makes the service kill itself with SIGKILL inside the
// commit, compaction and relocation paths, so tests can prove recovery at every step. Unset (always, in production), it does nothing.
//   HIVE_KAFKA_CRASH_AT=after-intent     die the first time that step is reached
//   HIVE_KAFKA_CRASH_AT=random:0.05      die at any step with that probability
import { writeSync } from 'node:fs';
import type { CommitStep } from './commit.ts';
import type { CompactionStep } from './compact.ts';

/** Where a RENAME's move of what the tasks left at the old location begins (service.ts). */
export type RelocationStep = 'relocation-started';

export function crashHook(setting = process.env.HIVE_KAFKA_CRASH_AT): ((step: CommitStep | CompactionStep | RelocationStep) => void) | undefined {
  if (!setting) return undefined;
  const random = /^random:([0-9.]+)$/.exec(setting);
  const chance = random ? Number(random[1]) : undefined;
  return (step) => {
    if (chance !== undefined ? Math.random() < chance : step === setting) {
      // writeSync: in a worker thread, process.stderr is relayed by the main thread, which dies first.
      writeSync(2, `HIVE_KAFKA_CRASH_AT: killing the service at ${step}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  };
}
