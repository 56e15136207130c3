// Hive column type strings, as the metastore stores them in FieldSchema.type, parsed into a typed tree.
// HMS keeps the spelling Hive's DDL normalised it to: lower case, no spaces, e.g.
// `array<struct<a:int,b:map<string,double>>>`. Only the types hive-kafka can decode and write are
// accepted; anything else fails here, naming the type, so a table is refused before any record is read.

export type HivePrimitiveName =
  | 'string'
  | 'tinyint'
  | 'smallint'
  | 'int'
  | 'bigint'
  | 'float'
  | 'double'
  | 'boolean'
  | 'date'
  | 'timestamp'
  | 'binary';

export type HiveType =
  | { kind: 'primitive'; name: HivePrimitiveName }
  | { kind: 'varchar'; length: number }
  | { kind: 'char'; length: number }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'array'; element: HiveType }
  | { kind: 'map'; key: HiveType; value: HiveType }
  | { kind: 'struct'; fields: HiveStructField[] };

export interface HiveStructField {
  name: string;
  type: HiveType;
}

export class HiveTypeError extends Error {
  constructor(
    readonly typeString: string,
    reason: string,
  ) {
    super(`unsupported Hive column type "${typeString}": ${reason}`);
    this.name = 'HiveTypeError';
  }
}

const primitiveNames: ReadonlySet<string> = new Set<HivePrimitiveName>([
  'string', 'tinyint', 'smallint', 'int', 'bigint', 'float', 'double', 'boolean', 'date', 'timestamp', 'binary',
]);

// Hive's own limits (HiveVarchar.MAX_VARCHAR_LENGTH, HiveChar.MAX_CHAR_LENGTH, HiveDecimal.MAX_PRECISION).
const maxVarcharLength = 65535;
const maxCharLength = 255;
const maxDecimalPrecision = 38;
// DDL `DECIMAL` without arguments is stored as decimal(10,0); accept the bare word the same way.
const defaultDecimal = { precision: 10, scale: 0 };

/** Parses one type string as HMS stores it; throws HiveTypeError naming the whole string on anything else. */
export function parseHiveType(typeString: string): HiveType {
  const parser = new TypeParser(typeString);
  const type = parser.parseType();
  parser.expectEnd();
  return type;
}

/** The canonical Hive spelling of a parsed type (what HMS stores). */
export function formatHiveType(type: HiveType): string {
  switch (type.kind) {
    case 'primitive':
      return type.name;
    case 'varchar':
    case 'char':
      return `${type.kind}(${type.length})`;
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'array':
      return `array<${formatHiveType(type.element)}>`;
    case 'map':
      return `map<${formatHiveType(type.key)},${formatHiveType(type.value)}>`;
    case 'struct':
      return `struct<${type.fields.map((f) => `${f.name}:${formatHiveType(f.type)}`).join(',')}>`;
  }
}

/** Recursive descent over the type grammar; whitespace is tolerated so hand-written strings parse too. */
class TypeParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parseType(): HiveType {
    const word = this.word('a type name').toLowerCase();
    switch (word) {
      case 'varchar':
      case 'char': {
        const [length] = this.numberArgs(word, 1, 1);
        const max = word === 'varchar' ? maxVarcharLength : maxCharLength;
        if (length === undefined || length < 1 || length > max) {
          this.fail(`${word} length must be between 1 and ${max}`);
        }
        return { kind: word, length };
      }
      case 'decimal': {
        const args = this.peek() === '(' ? this.numberArgs(word, 1, 2) : [];
        const precision = args[0] ?? defaultDecimal.precision;
        const scale = args[1] ?? defaultDecimal.scale;
        if (precision < 1 || precision > maxDecimalPrecision) {
          this.fail(`decimal precision must be between 1 and ${maxDecimalPrecision}`);
        }
        if (scale > precision) this.fail('decimal scale must not exceed its precision');
        return { kind: 'decimal', precision, scale };
      }
      case 'array': {
        this.expect('<');
        const element = this.parseType();
        this.expect('>');
        return { kind: 'array', element };
      }
      case 'map': {
        this.expect('<');
        const key = this.parseType();
        if (key.kind !== 'primitive' && key.kind !== 'varchar' && key.kind !== 'char' && key.kind !== 'decimal') {
          this.fail('map keys must be a primitive type');
        }
        this.expect(',');
        const value = this.parseType();
        this.expect('>');
        return { kind: 'map', key, value };
      }
      case 'struct':
        return { kind: 'struct', fields: this.structFields() };
      default:
        if (primitiveNames.has(word)) return { kind: 'primitive', name: word as HivePrimitiveName };
        return this.fail(`"${word}" is not a type hive-kafka can write (supported: ${[...primitiveNames].join(', ')}, ` +
          'varchar(n), char(n), decimal(p,s), array<>, map<>, struct<>)');
    }
  }

  expectEnd(): void {
    this.skipSpaces();
    if (this.pos < this.text.length) this.fail(`unexpected "${this.text.slice(this.pos)}" after the type`);
  }

  private structFields(): HiveStructField[] {
    this.expect('<');
    const fields: HiveStructField[] = [];
    const seen = new Set<string>();
    do {
      // Field names may be any identifier HMS accepted, including backquoted ones; stop at ':'.
      const name = this.fieldName();
      if (seen.has(name.toLowerCase())) this.fail(`struct field "${name}" appears twice`);
      seen.add(name.toLowerCase());
      this.expect(':');
      fields.push({ name, type: this.parseType() });
    } while (this.accept(','));
    this.expect('>');
    return fields;
  }

  private fieldName(): string {
    this.skipSpaces();
    if (this.text[this.pos] === '`') {
      const end = this.text.indexOf('`', this.pos + 1);
      if (end < 0) this.fail('unterminated `quoted` struct field name');
      const name = this.text.slice(this.pos + 1, end);
      this.pos = end + 1;
      return name;
    }
    return this.word('a struct field name');
  }

  private numberArgs(typeName: string, min: number, max: number): number[] {
    this.expect('(');
    const args: number[] = [];
    do {
      this.skipSpaces();
      const match = /^\d+/.exec(this.text.slice(this.pos));
      if (!match) this.fail(`${typeName} arguments must be whole numbers`);
      args.push(Number(match[0]));
      this.pos += match[0].length;
    } while (this.accept(','));
    this.expect(')');
    if (args.length < min || args.length > max) this.fail(`${typeName} takes ${min === max ? min : `${min} or ${max}`} argument(s)`);
    return args;
  }

  private word(what: string): string {
    this.skipSpaces();
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!match) this.fail(`expected ${what} at position ${this.pos}`);
    this.pos += match[0].length;
    return match[0];
  }

  private peek(): string | undefined {
    this.skipSpaces();
    return this.text[this.pos];
  }

  private accept(token: string): boolean {
    if (this.peek() !== token) return false;
    this.pos++;
    return true;
  }

  private expect(token: string): void {
    if (!this.accept(token)) this.fail(`expected "${token}" at position ${this.pos}`);
  }

  private skipSpaces(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private fail(reason: string): never {
    throw new HiveTypeError(this.text, reason);
  }
}

/**
 * The in-memory value of one Hive column, as the decoder produces it and the Parquet writer takes it.
 * null is SQL NULL. Chosen so that nothing is lossy:
 * - string, varchar, char: string (varchar already truncated, char already padded)
 * - tinyint, smallint, int: number; bigint: bigint; float, double: number; boolean: boolean
 * - decimal(p,s): bigint holding the unscaled value (value × 10^s)
 * - date: number of days since 1970-01-01 (proleptic Gregorian)
 * - timestamp: bigint microseconds since 1970-01-01 00:00:00 of the UTC wall clock (Hive TIMESTAMP is zone-less)
 * - binary: Uint8Array
 * - array: HiveValue[]; map: Map (keys never null); struct: object keyed by the field names in lower case
 */
export type HiveValue =
  | null
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | HiveValue[]
  | Map<HiveValue, HiveValue>
  | { [field: string]: HiveValue };
