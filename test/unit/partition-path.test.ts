import { test } from 'node:test';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import {
  defaultPartitionName,
  escapePathName,
  partitionDir,
  partitionLocation,
  unescapePathName,
} from '../../src/sink/partition-path.ts';

// Hive's FileUtils.charToEscape, written out independently of the implementation's regex.
const hiveEscapes = new Set([
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
  '"', '#', '%', "'", '*', '/', ':', '=', '?', '\\', '\x7f', '{', '[', ']', '^',
]);

test('escapePathName escapes exactly the ASCII characters Hive escapes, as %XX in upper-case hex', () => {
  for (let code = 0; code < 128; code++) {
    const c = String.fromCharCode(code);
    const expected = hiveEscapes.has(c) ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : c;
    assert.equal(escapePathName(c), expected, `character ${code}`);
  }
  assert.equal(escapePathName('ünï 日本 ☃'), 'ünï 日本 ☃', 'non-ASCII and spaces stay');
  assert.equal(escapePathName('../x'), '..%2Fx');
  assert.equal(escapePathName('a=b%c'), 'a%3Db%25c');
});

test('unescapePathName reverses it', () => {
  for (const value of ['../x', 'a/b', '=', '%', '%2F', 'ünï', ' spaced ', '"#*:?\\{[]^\'', '\u0001\u007f']) {
    assert.equal(unescapePathName(escapePathName(value)), value);
  }
});

test('partitionDir builds key=value levels with lower-case keys, and the default partition for NULL and empty', () => {
  assert.equal(partitionDir(['dt', 'country'], ['2024-01-01', 'US']), 'dt=2024-01-01/country=US');
  assert.equal(partitionDir(['DT'], ['x']), 'dt=x');
  assert.equal(partitionDir(['dt', 'country'], ['2024-01-01', null]), `dt=2024-01-01/country=${defaultPartitionName}`);
  assert.equal(partitionDir(['p'], [undefined]), `p=${defaultPartitionName}`);
  assert.equal(partitionDir(['p'], ['']), `p=${defaultPartitionName}`);
  assert.equal(partitionDir(['p'], ['../x']), 'p=..%2Fx');
  assert.equal(partitionDir(['p'], ['..']), 'p=..');
});

test('partitionDir refuses mismatched keys and values, and values that are not well-formed Unicode', () => {
  assert.throws(() => partitionDir(['a', 'b'], ['1']), /partition keys \(a, b\) and values \(1 of them\) do not match/);
  assert.throws(() => partitionDir([], []), /at least one partition key/);
  assert.throws(() => partitionDir(['p'], ['\udc00']), /partition value for key "p" is not well-formed Unicode/);
});

test('no value can make the joined path leave the table location', () => {
  const alphabet = ['/', '.', '..', '=', '%', '\\', ':', '\0', '\n', 'ü', '日', ' ', 'a', '%2F', '%2E', '\u2215', '\uff0f'];
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const table = '/warehouse/db/t';
  for (let i = 0; i < 5000; i++) {
    const values = [0, 1].map(() =>
      Array.from({ length: Math.floor(random() * 6) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''),
    );
    const dir = partitionDir(['dt', 'tag'], values);
    const segments = dir.split('/');
    assert.equal(segments.length, 2, dir);
    for (const segment of segments) assert.ok(segment !== '.' && segment !== '..' && segment.includes('='), dir);
    const joined = posix.join(table, dir);
    assert.ok(joined.startsWith(`${table}/`), `${JSON.stringify(values)} -> ${joined}`);
    assert.equal(posix.relative(table, joined), dir, 'the path is not normalised into something else');
    assert.deepEqual(segments.map((s) => unescapePathName(s.slice(s.indexOf('=') + 1))),
      values.map((v) => (v === '' ? defaultPartitionName : v)));
  }
});

test('partitionLocation appends the directory to the table location', () => {
  assert.equal(partitionLocation('file:/warehouse/t', 'dt=1'), 'file:/warehouse/t/dt=1');
  assert.equal(partitionLocation('hdfs://nn:8020/warehouse/t/', 'dt=1/c=%2F'), 'hdfs://nn:8020/warehouse/t/dt=1/c=%2F');
  for (const bad of ['../x', 'dt=1/..', '', 'dt=1//c=2', '/dt=1']) {
    assert.throws(() => partitionLocation('file:/warehouse/t', bad), /not a partition directory/);
  }
});
