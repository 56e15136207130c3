// A worker thread starts with no loader hooks, so it registers tsx itself before loading the task.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
