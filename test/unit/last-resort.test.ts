// src/cli/last-resort.ts: an error that escapes the service's main thread is logged (pino, fatal,
// with the error) before the process ends with exit code 70, in a child process of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MODULE = pathToFileURL(fileURLToPath(new URL('../../src/cli/last-resort.ts', import.meta.url))).href;

function crash(body: string): { status: number | null; lines: { level: number; msg: string; err?: { message: string } }[] } {
  const script = `import { pino } from 'pino';
const { exitOnUnexpected } = await import(${JSON.stringify(MODULE)});
exitOnUnexpected(pino({ name: 'hive-kafka' }));
${body}`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../../', import.meta.url)) });
  return { status: run.status, lines: run.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

test('an exception thrown in a timer is logged as fatal with its message, and the process ends with 70', () => {
  const { status, lines } = crash("setTimeout(() => { throw new Error('thrown in a timer'); }, 10);");
  assert.equal(status, 70);
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0]!.level, 60);
  assert.equal(lines[0]!.err?.message, 'thrown in a timer');
  assert.match(lines[0]!.msg, /an error nothing caught: hive-kafka stops \(exit 70\)/);
});

test('a rejection nobody handles is logged as fatal with its message, and the process ends with 70', () => {
  const { status, lines } = crash("void Promise.reject(new Error('rejected, unhandled'));");
  assert.equal(status, 70);
  assert.equal(lines[0]?.err?.message, 'rejected, unhandled');
  assert.match(lines[0]!.msg, /a promise rejection nothing handled/);
});
