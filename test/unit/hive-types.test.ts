import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHiveType, HiveTypeError, parseHiveType } from '../../src/sink/hive-types.ts';

test('every primitive name parses', () => {
  for (const name of ['string', 'tinyint', 'smallint', 'int', 'bigint', 'float', 'double', 'boolean', 'date', 'timestamp', 'binary']) {
    assert.deepEqual(parseHiveType(name), { kind: 'primitive', name });
  }
});

test('sized types keep their arguments; bare decimal is decimal(10,0) as Hive stores it', () => {
  assert.deepEqual(parseHiveType('varchar(10)'), { kind: 'varchar', length: 10 });
  assert.deepEqual(parseHiveType('char(3)'), { kind: 'char', length: 3 });
  assert.deepEqual(parseHiveType('decimal(10,2)'), { kind: 'decimal', precision: 10, scale: 2 });
  assert.deepEqual(parseHiveType('decimal(38,38)'), { kind: 'decimal', precision: 38, scale: 38 });
  assert.deepEqual(parseHiveType('decimal(5)'), { kind: 'decimal', precision: 5, scale: 0 });
  assert.deepEqual(parseHiveType('decimal'), { kind: 'decimal', precision: 10, scale: 0 });
});

test('nested types parse into a tree', () => {
  assert.deepEqual(parseHiveType('array<struct<a:int,b:map<string,double>>>'), {
    kind: 'array',
    element: {
      kind: 'struct',
      fields: [
        { name: 'a', type: { kind: 'primitive', name: 'int' } },
        {
          name: 'b',
          type: { kind: 'map', key: { kind: 'primitive', name: 'string' }, value: { kind: 'primitive', name: 'double' } },
        },
      ],
    },
  });
});

test('formatHiveType gives back the metastore spelling', () => {
  for (const text of [
    'array<struct<a:int,b:map<string,double>>>',
    'map<decimal(10,2),array<varchar(5)>>',
    'struct<x:char(3),y:struct<z:timestamp>>',
  ]) {
    assert.equal(formatHiveType(parseHiveType(text)), text);
  }
  // Hand-written spellings normalise to it too.
  assert.equal(formatHiveType(parseHiveType(' ARRAY < Struct< a : INT > > ')), 'array<struct<a:int>>');
});

test('backquoted struct field names are accepted', () => {
  assert.deepEqual(parseHiveType('struct<`my field`:int>'), {
    kind: 'struct',
    fields: [{ name: 'my field', type: { kind: 'primitive', name: 'int' } }],
  });
});

test('anything else fails with an error naming the whole type string', () => {
  const cases: [string, RegExp][] = [
    ['interval_day_time', /"interval_day_time" is not a type hive-kafka can write/],
    ['timestamp with local time zone', /unexpected "with local time zone"/],
    ['uniontype<int,string>', /"uniontype" is not a type/],
    ['void', /"void" is not a type/],
    ['varchar', /expected "\("/],
    ['varchar(0)', /varchar length must be between 1 and 65535/],
    ['char(256)', /char length must be between 1 and 255/],
    ['decimal(39,2)', /precision must be between 1 and 38/],
    ['decimal(5,6)', /scale must not exceed its precision/],
    ['array<int', /expected ">"/],
    ['map<array<int>,string>', /map keys must be a primitive type/],
    ['struct<a:int,a:string>', /struct field "a" appears twice/],
    ['', /expected a type name/],
  ];
  for (const [text, reason] of cases) {
    assert.throws(() => parseHiveType(text), (error: unknown) => {
      assert.ok(error instanceof HiveTypeError, `${text}: ${String(error)}`);
      assert.equal(error.typeString, text);
      assert.match(error.message, new RegExp(`^unsupported Hive column type "${text.replace(/[()<>[\]]/g, '\\$&')}": `));
      assert.match(error.message, reason);
      return true;
    });
  }
});
