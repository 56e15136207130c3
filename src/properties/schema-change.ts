// What an ALTER may do to a stream table's columns and topic, as data: kafka.schema.compatibility's
// modes, the type widenings Hive's Parquet reader applies to files already written, and the message
// templates. The Java meta hook reads the same data from the rules JSON (export-rules.ts), so beeline
// and the service refuse the same change with the same words.
//
// Meaning for schemaless JSON: columns are matched by name, case-insensitively, and Hive reads Parquet
// files by column name, so an old file reads NULL for a column added after it was written.

export type SchemaCompatibility = 'NONE' | 'BACKWARD' | 'FORWARD' | 'FULL';

export interface ColumnDef { name: string; type: string }

export interface ModeRule {
  /** Whether a column may disappear (DROP through REPLACE COLUMNS, or a rename). */
  dropColumns: boolean;
  /** 'any': whatever Hive accepts; 'widenings': only WIDENINGS; 'none': types stay as they are. */
  typeChanges: 'any' | 'widenings' | 'none';
  /** Says what the mode protects, inside messages. */
  meaning: string;
}

// Adding columns is allowed in every mode: an old file reads NULL for them, and an old reader ignores them.
export const MODES: Readonly<Record<SchemaCompatibility, ModeRule>> = {
  NONE: { dropColumns: true, typeChanges: 'any', meaning: 'any change Hive accepts' },
  BACKWARD: { dropColumns: false, typeChanges: 'widenings',
    meaning: 'the new columns must read every row already written: new columns and type widenings only' },
  FORWARD: { dropColumns: false, typeChanges: 'none',
    meaning: 'rows written from now on must read with the old columns: new columns only' },
  FULL: { dropColumns: false, typeChanges: 'none', meaning: 'both BACKWARD and FORWARD: new columns only' },
};

/** Conditions on the arguments of a sized type; the Java hook implements exactly these. */
export type WideningCondition = 'lengthNotShorter' | 'sameScaleNotLessPrecision';

export interface Widening {
  from: string;
  to: readonly string[];
  when?: WideningCondition;
  /** How the widening reads in a message. */
  label: string;
}

// Only changes whose old files Hive 4.0.1's Parquet readers (row and vectorized: ETypeConverter,
// ParquetDataColumnReaderFactory) convert exactly: INT32 read as a wider integer or as DOUBLE, FLOAT as
// DOUBLE, a UTF8 string as a longer VARCHAR or STRING, a DECIMAL with more integer digits. Not CHAR to
// STRING: hive-kafka writes CHAR padded, and STRING would show the padding. Not BIGINT to DOUBLE: inexact.
export const WIDENINGS: readonly Widening[] = [
  { from: 'tinyint', to: ['smallint', 'int', 'bigint', 'double'], label: 'tinyint to smallint, int, bigint or double' },
  { from: 'smallint', to: ['int', 'bigint', 'double'], label: 'smallint to int, bigint or double' },
  { from: 'int', to: ['bigint', 'double'], label: 'int to bigint or double' },
  { from: 'float', to: ['double'], label: 'float to double' },
  { from: 'varchar', to: ['varchar'], when: 'lengthNotShorter', label: 'varchar(n) to varchar(m >= n)' },
  { from: 'varchar', to: ['string'], label: 'varchar to string' },
  { from: 'decimal', to: ['decimal'], when: 'sameScaleNotLessPrecision', label: 'decimal(p,s) to decimal(q >= p,s)' },
];

/** Message templates; {name} is replaced by the value of that name, in one pass. */
export const DDL_MESSAGES = {
  columnDropped: "table {table}: column '{column}' ({oldType}) cannot be dropped or renamed under "
    + 'kafka.schema.compatibility={mode} ({meaning}). Keep the column and ADD COLUMNS the new one, '
    + "or first ALTER TABLE {table} SET TBLPROPERTIES ('kafka.schema.compatibility'='NONE').",
  columnTypeChanged: "table {table}: column '{column}' cannot change from {oldType} to {newType} under "
    + 'kafka.schema.compatibility={mode} ({meaning}; the widenings Hive reads from files already written: {widenings}). '
    + 'ADD COLUMNS a new column of type {newType} instead, '
    + "or first ALTER TABLE {table} SET TBLPROPERTIES ('kafka.schema.compatibility'='{allowingMode}').",
  topicChanged: "table {table}: kafka.topic cannot change on an existing stream table (it reads '{oldTopic}'; asked '{newTopic}'): "
    + "the table's offsets belong to topic {oldTopic}. To ingest topic {newTopic}, CREATE a new table with "
    + "kafka.topic='{newTopic}' (or DROP TABLE and re-create it).",
  topicRemoved: "table {table}: kafka.topic cannot be removed from an existing stream table (it reads '{oldTopic}'): "
    + "the table's offsets belong to topic {oldTopic}. To stop ingesting, SET TBLPROPERTIES ('kafka.ingestion.paused'='true') or DROP TABLE.",
  hiveWrite: 'table {table} is filled by hive-kafka from Kafka topic {topic}; Hive cannot write to it: '
    + 'produce to the topic instead, or INSERT into a plain table.',
} as const;

/** The column rules the Java hook needs, for the rules JSON (the messages go beside them). */
export function schemaChangeJson() {
  return { modes: MODES, widenings: WIDENINGS };
}

export function fillMessage(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/**
 * Why `after` may not replace `before` under `mode`; empty when it may. `table` is db.table.
 * Columns are matched by name, case-insensitively; a column in `after` only is an addition (always allowed).
 */
export function schemaChangeProblems(table: string, before: readonly ColumnDef[], after: readonly ColumnDef[],
  mode: SchemaCompatibility): string[] {
  const rule = MODES[mode];
  const afterByName = new Map(after.map((c) => [c.name.toLowerCase(), c]));
  const problems: string[] = [];
  for (const old of before) {
    const base = { table, column: old.name.toLowerCase(), oldType: normalizeType(old.type), mode, meaning: rule.meaning };
    const now = afterByName.get(base.column);
    if (now === undefined) {
      if (!rule.dropColumns) problems.push(fillMessage(DDL_MESSAGES.columnDropped, base));
      continue;
    }
    const newType = normalizeType(now.type);
    if (newType === base.oldType || rule.typeChanges === 'any') continue;
    const widening = isWidening(base.oldType, newType);
    if (rule.typeChanges === 'widenings' && widening) continue;
    problems.push(fillMessage(DDL_MESSAGES.columnTypeChanged, {
      ...base, newType, widenings: WIDENINGS.map((w) => w.label).join('; '), allowingMode: widening ? 'BACKWARD' : 'NONE',
    }));
  }
  return problems;
}

/** Why kafka.topic may not go from `oldTopic` to `newTopic` (undefined: removed); undefined when unchanged. */
export function topicChangeProblem(table: string, oldTopic: string, newTopic: string | undefined): string | undefined {
  if (newTopic === undefined) return fillMessage(DDL_MESSAGES.topicRemoved, { table, oldTopic: oldTopic.trim() });
  if (newTopic.trim() === oldTopic.trim()) return undefined;
  return fillMessage(DDL_MESSAGES.topicChanged, { table, oldTopic: oldTopic.trim(), newTopic: newTopic.trim() });
}

/** Why Hive may not INSERT into a stream table (the storage handler refuses it while compiling). */
export function hiveWriteRefusal(table: string, topic: string): string {
  return fillMessage(DDL_MESSAGES.hiveWrite, { table, topic });
}

/** The metastore's spelling: lower case, no spaces; bare decimal is decimal(10,0) as Hive stores it. */
export function normalizeType(type: string): string {
  const t = type.toLowerCase().replace(/\s+/g, '');
  return t === 'decimal' ? 'decimal(10,0)' : t;
}

// A primitive type with its arguments; nested types (array, map, struct) do not match and never widen.
const sizedType = /^([a-z_]+)(?:\((\d+)(?:,(\d+))?\))?$/;

/** Whether Hive reads a file written as `from` (normalised) exactly as `to`. */
export function isWidening(from: string, to: string): boolean {
  const f = sizedType.exec(from);
  const t = sizedType.exec(to);
  if (!f || !t) return false;
  return WIDENINGS.some((w) => w.from === f[1] && w.to.includes(t[1]!) && holds(w.when, f, t));
}

function holds(condition: WideningCondition | undefined, f: RegExpExecArray, t: RegExpExecArray): boolean {
  switch (condition) {
    case undefined: return true;
    case 'lengthNotShorter': return f[2] !== undefined && t[2] !== undefined && Number(t[2]) >= Number(f[2]);
    case 'sameScaleNotLessPrecision':
      return f[2] !== undefined && t[2] !== undefined && (f[3] ?? '0') === (t[3] ?? '0') && Number(t[2]) >= Number(f[2]);
  }
}
