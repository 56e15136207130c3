// Loaded by test/bench/task-isolation.ts in a worker thread or a child process: the modules a task
// loads, then either idle or spin (a hung task).
import { register } from 'tsx/esm/api';
import { parentPort } from 'node:worker_threads';

register();
await import('../../src/task/task.ts');
await import('../../src/ledger/ledger.ts');
await import('../../src/metastore/session.ts');
const say = (m) => (parentPort ? parentPort.postMessage(m) : process.send(m));
say('ready');
const onMessage = (m) => { if (m === 'spin') { for (;;) { /* hung */ } } };
if (parentPort) parentPort.on('message', onMessage); else process.on('message', onMessage);
setInterval(() => {}, 1 << 30);
