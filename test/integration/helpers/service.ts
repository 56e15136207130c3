// Starts `hive-kafka serve` as a child process on a fresh ledger, for tests that drive it with DDL.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stack } from './services.ts';
import type { StatusView } from '../../../src/observe/status-view.ts';

export interface RunningService {
  url: string;
  ledgerPath: string;
  child: ChildProcess;
  output: () => string;
  /** The service's GET /status: the view `hive-kafka status` prints. */
  status(): Promise<StatusView>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
    s.once('error', reject);
  });
}

/** `waitUntilServing: false` returns at once: for runs meant to die (HIVE_KAFKA_CRASH_AT). */
/**
 * `tables`: a regular expression on db.table, so that services of tests running side by side never
 * ingest each other's tables (each would be a second writer).
 */
export async function startService(opts: { tables: string; ledgerPath?: string; env?: Record<string, string>; waitUntilServing?: boolean; configFile?: string }): Promise<RunningService> {
  const port = await freePort();
  const ledgerPath = opts.ledgerPath ?? join(mkdtempSync(join(tmpdir(), 'hive-kafka-')), 'ledger.db');
  let out = '';
  const child = spawn(process.execPath, ['bin/hive-kafka.mjs', 'serve', ...(opts.configFile ? ['--config', opts.configFile] : [])], {
    // One instance name per test's tables: a test that restarts its service on a new ledger still holds them (cluster/holder.ts).
    env: { ...process.env, HIVE_KAFKA_HMS_URI: stack.metastoreUri, HIVE_KAFKA_LEDGER: ledgerPath, HIVE_KAFKA_HTTP_PORT: String(port), HIVE_KAFKA_TABLE_FILTER: opts.tables,
      HIVE_KAFKA_INSTANCE_ID: `it-${opts.tables.replace(/[^A-Za-z0-9._-]/g, '_')}`,
      // Services of tests side by side would all rewrite one hive_kafka database; system-tables.test.ts turns them on in its config.
      ...(opts.configFile ? {} : { HIVE_KAFKA_SYSTEM_TABLES: 'false' }), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const url = `http://127.0.0.1:${port}`;
  const service: RunningService = {
    url, ledgerPath, child, output: () => out,
    async status() {
      const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(10_000) });
      return res.json() as ReturnType<RunningService['status']>;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
  if (opts.waitUntilServing === false) return service;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try { await service.status(); return service; } catch { /* not listening yet */ }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`hive-kafka serve exited with ${child.exitCode ?? child.signalCode}:\n${out}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`hive-kafka serve did not answer within 30s:\n${out}`); }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls `check` until it returns a value other than undefined, or fails naming what it waited for. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
