// A worker thread that writes to a ledger one small transaction after another until told to stop,
// as a worker thread of the service committing many tables' batches does.
import { parentPort, workerData } from 'node:worker_threads';
import { Ledger } from '../../../src/ledger/ledger.ts';
import { WriteTurns } from '../../../src/ledger/write-turns.ts';

const { path, turns } = workerData as { path: string; turns: SharedArrayBuffer | null };
const ledger = Ledger.open(path, { migrate: false, ...(turns ? { turns: WriteTurns.of(turns) } : {}) });
let stop = false;
let writes = 0;
parentPort!.on('message', () => { stop = true; });
parentPort!.postMessage('started');
while (!stop) {
  ledger.recordError(null, 'test', `write ${writes++}`);
  await new Promise((resolve) => setImmediate(resolve));
}
ledger.close();
parentPort!.postMessage(writes);
