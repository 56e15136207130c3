import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CSV_HEADER, csvReader, parseCsvRow, type CsvReaderOptions, type CsvSyntax } from '../../src/format/csv.ts';
import { RecordDecodeError } from '../../src/hive/convert.ts';

const rfc: CsvSyntax = { delimiter: ',', quote: '"', nullString: undefined };
const row = (text: string, syntax: Partial<CsvSyntax> = {}) => parseCsvRow(text, { ...rfc, ...syntax });

function reader(columns: string[], options: Partial<Omit<CsvReaderOptions, 'columns'>> = {}) {
  return csvReader({ columns: columns.map((name) => ({ name })), delimiter: ',', quote: '"', header: false, nullString: undefined, ...options });
}

function rejects(fn: () => unknown, reason: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RecordDecodeError, String(error));
    assert.equal(error.column, undefined);
    assert.equal(error.retriable, false);
    assert.match(error.reason, reason);
    return true;
  });
}

const b = (text: string) => Buffer.from(text, 'utf8');

test('RFC 4180 rows: quoted delimiters, doubled quotes, embedded line breaks, empty fields', () => {
  assert.deepEqual(row('a,b,c'), ['a', 'b', 'c']);
  assert.deepEqual(row('"a,b",c'), ['a,b', 'c']);
  assert.deepEqual(row('"say ""hi""",x'), ['say "hi"', 'x']);
  assert.deepEqual(row('""""'), ['"']);
  assert.deepEqual(row('"line 1\nline 2\r\nline 3",z'), ['line 1\nline 2\r\nline 3', 'z']);
  assert.deepEqual(row(',,'), ['', '', '']);
  assert.deepEqual(row('a,""'), ['a', '']);
  assert.deepEqual(row('"",a,'), ['', 'a', '']);
  assert.deepEqual(row(''), ['']);
  // Spaces belong to the field, as RFC 4180 says.
  assert.deepEqual(row(' a , b '), [' a ', ' b ']);
  // One trailing line break ends the row.
  assert.deepEqual(row('a,b\n'), ['a', 'b']);
  assert.deepEqual(row('a,"b"\r\n'), ['a', 'b']);
  assert.deepEqual(row('日本,"😀,x"'), ['日本', '😀,x']);
});

test('a malformed row fails with the character position, never lands in the wrong columns', () => {
  rejects(() => row('a,"bc'), /unterminated quoted field: the quote at character 3 is never closed/);
  rejects(() => row('"a""'), /unterminated quoted field/);
  rejects(() => row('a,"b\n'), /unterminated/);
  rejects(() => row('ab"c,d'), /a quote at character 3 inside an unquoted field/);
  rejects(() => row('x,y "z"'), /a quote at character 5 inside an unquoted field/);
  rejects(() => row('"ab"c,d'), /"c" at character 5 follows a closing quote/);
  rejects(() => row('a,b\nc,d'), /a line break outside quotes at character 4: a record value holds one CSV row/);
  rejects(() => row('a,b\n\n'), /line break outside quotes at character 4/);
  rejects(() => row('"a"\nb'), /"\\n" at character 4 follows a closing quote/);
});

test('invalid UTF-8 is not an error: the bytes become U+FFFD', () => {
  const r = reader(['a', 'b']);
  assert.deepEqual(r.read(Buffer.from([0x61, 0xff, 0x2c, 0x62])), { a: 'a\uFFFD', b: 'b' });
});

test('the null string: an unquoted field equal to it is NULL, a quoted one is text; an empty field is ""', () => {
  const r = reader(['a', 'b', 'c', 'd'], { nullString: '\\N' });
  assert.deepEqual(r.read(b('\\N,"\\N",,x')), { a: null, b: '\\N', c: '', d: 'x' });
  assert.deepEqual(r.read(b('\\N,\\N')), { a: null, b: null });
  assert.deepEqual(row('a,\\N,"b"', { nullString: '\\N' }), ['a', null, 'b']);
  assert.deepEqual(reader(['a']).read(b('\\N')), { a: '\\N' }); // no null string configured
});

test('by position: fewer fields leave columns NULL, more fields fail naming both counts', () => {
  const r = reader(['Id', 'Name', 'Price']);
  assert.deepEqual(r.read(b('1,apple,2.50')), { id: '1', name: 'apple', price: '2.50' });
  assert.deepEqual(r.read(b('2,pear')), { id: '2', name: 'pear' });
  rejects(() => r.read(b('3,fig,1.00,extra')), /the row has 4 fields but the table has 3 columns/);
  // Without header=true a header-like row is data: header=false is the user's statement that there is none.
  assert.deepEqual(r.read(b('id,name,price')), { id: 'id', name: 'name', price: 'price' });
});

test('custom delimiters (";" and tab) and a custom quote', () => {
  assert.deepEqual(reader(['a', 'b', 'c'], { delimiter: ';' }).read(b('1;"x;y";3,5')), { a: '1', b: 'x;y', c: '3,5' });
  assert.deepEqual(reader(['a', 'b'], { delimiter: '\t' }).read(b('one two\t"t\tab"')), { a: 'one two', b: 't\tab' });
  const single = reader(['a', 'b', 'c'], { quote: "'" });
  assert.deepEqual(single.read(b(`'it''s, ok',"double",x`)), { a: "it's, ok", b: '"double"', c: 'x' });
  rejects(() => single.read(b("ab'c")), /a quote at character 3 inside an unquoted field/);
  assert.throws(() => reader(['a'], { delimiter: '"' }), /must differ from the delimiter/);
  assert.throws(() => reader(['a'], { delimiter: '\n' }), /delimiter "\\n" is not allowed/);
  assert.throws(() => reader(['a'], { quote: '' }), /quote "" is not allowed/);
});

test('header=true: the header row is consumed (CSV_HEADER) and maps later rows by name, per partition', () => {
  const r = reader(['id', 'name', 'price'], { header: true });
  assert.equal(r.read(b('id,name,price'), 0), CSV_HEADER);
  assert.deepEqual(r.read(b('1,apple,2.50'), 0), { id: '1', name: 'apple', price: '2.50' });
  // A header in another order than the table's columns, trimmed and compared case-insensitively.
  assert.equal(r.read(b(' Price ,"NAME",id'), 1), CSV_HEADER);
  assert.deepEqual(r.read(b('2.50,apple,1'), 1), { price: '2.50', name: 'apple', id: '1' });
  // Partition 0 keeps its own header.
  assert.deepEqual(r.read(b('2,pear,1.10'), 0), { id: '2', name: 'pear', price: '1.10' });
  // A header may leave columns out (they are NULL); a row with more fields than the header fails.
  assert.equal(r.read(b('name,id'), 2), CSV_HEADER);
  assert.deepEqual(r.read(b('fig,3'), 2), { name: 'fig', id: '3' });
  rejects(() => r.read(b('fig,3,9.99'), 2), /the row has 3 fields but the header of partition 2 names 2/);
  // A later header replaces the earlier one.
  assert.equal(r.read(b('price,id,name'), 0), CSV_HEADER);
  assert.deepEqual(r.read(b('0.99,4,kiwi'), 0), { price: '0.99', id: '4', name: 'kiwi' });
  assert.throws(() => r.read(b('id,name,price')), /needs the record's partition/);
});

test('header=true after a restart mid-partition: rows by position until a header shows up, then by name', () => {
  // Same order as the table: the positional rows were right, nothing to report.
  const same = reader(['id', 'name'], { header: true });
  assert.deepEqual(same.read(b('7,plum'), 0), { id: '7', name: 'plum' });
  assert.equal(same.read(b('ID,Name'), 0), CSV_HEADER);
  assert.deepEqual(same.read(b('8,lime'), 0), { id: '8', name: 'lime' });

  // Another order: the header record fails loudly, naming how many rows may be misplaced, and is learned.
  const other = reader(['id', 'name'], { header: true });
  assert.deepEqual(other.read(b('plum,7'), 3), { id: 'plum', name: '7' });
  assert.deepEqual(other.read(b('lime,8'), 3), { id: 'lime', name: '8' });
  rejects(() => other.read(b('name,id'), 3), /header row \(name, id\) orders the columns differently from the table \(id, name\); the 2 row\(s\) of partition 3 read before it/);
  assert.deepEqual(other.read(b('fig,9'), 3), { name: 'fig', id: '9' });
  // The same header again is just a header.
  assert.equal(other.read(b('name,id'), 3), CSV_HEADER);
  // A partition whose header arrives first has nothing misplaced.
  assert.equal(other.read(b('name,id'), 4), CSV_HEADER);
});

test('header=true: a row that is almost a header fails instead of being stored', () => {
  const r = reader(['id', 'name', 'price', 'qty'], { header: true });
  rejects(() => r.read(b('id,name,colour'), 0), /looks like a header but "colour" is not a column of the table \(id, name, price, qty\)/);
  rejects(() => r.read(b('id,name,price,qty,colour'), 0), /"colour" is not a column/);
  // Data that merely starts with a column name stays data.
  assert.deepEqual(r.read(b('id,7 apples,2.50'), 0), { id: 'id', name: '7 apples', price: '2.50' });
  assert.deepEqual(r.read(b('name,name'), 0), { id: 'name', name: 'name' }); // a name twice is no header
  // A null field is never part of a header.
  const n = reader(['a', 'b'], { header: true, nullString: '\\N' });
  assert.deepEqual(n.read(b('a,\\N'), 0), { a: 'a', b: null });
  // A one-column table: a row equal to the column name is taken as the header (documented).
  assert.equal(reader(['word'], { header: true }).read(b('word'), 0), CSV_HEADER);
});

test('a column named __proto__ is a field like any other', () => {
  const fields = reader(['__proto__', 'x']).read(b('a,b')) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(fields), Object.prototype);
  assert.deepEqual(Object.entries(fields), [['__proto__', 'a'], ['x', 'b']]);
});
