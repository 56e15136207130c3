import { LocationError } from '../sink/fs.ts';
import { TableFormatError } from '../format/format.ts';

/** A record that cannot become a row. Not retriable: consuming it again fails the same way. */
export class RecordError extends Error {
  override readonly name = 'RecordError';
  readonly retriable = false;
  constructor(readonly topic: string, readonly partition: number, readonly offset: number, readonly reason: string) {
    super(`record ${topic}/${partition}@${offset} cannot be ingested: ${reason} (fix the record, or set kafka.error.policy)`);
  }
}

/**
 * Kafka deleted offsets of a partition before the table read them (retention, deleteRecords), and the
 * table's kafka.offset.gap.policy is fail. Not retriable: the records are gone; the user decides.
 */
export class OffsetGapError extends Error {
  override readonly name = 'OffsetGapError';
  readonly retriable = false;
  constructor(readonly table: string, readonly topic: string, readonly partition: number, readonly from: number, readonly to: number) {
    super(`table ${table}: offsets ${from}..${to} of ${topic}/${partition} (${to - from + 1} offsets) were deleted by Kafka (retention or deleteRecords) before they were ingested; ` +
      `the table stops under kafka.offset.gap.policy=fail. To go on without them: ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.offset.gap.policy'='skip')`);
  }
}

/**
 * A record batch Kafka returned that this service cannot read (a codec this Node.js lacks, an old
 * message format, bytes that do not parse). Not retriable: the same batch comes back on every fetch.
 */
export class BatchReadError extends Error {
  override readonly name = 'BatchReadError';
  readonly retriable = false;
  constructor(readonly topic: string, readonly partition: number, readonly offset: number, readonly reason: string) {
    super(`partition ${partition} of ${topic} at offset ${offset}: ${reason.replace(/\.?$/, '.')} The table stops at this offset; once it can be read, any ALTER TABLE ... SET TBLPROPERTIES on the table retries it`);
  }
}

/** A new writer schema that kafka.schema.compatibility forbids: the table stops at its first record. */
export class SchemaChangeRefused extends Error {
  override readonly name = 'SchemaChangeRefused';
  readonly retriable = false;
  constructor(readonly table: string, readonly topic: string, readonly partition: number, readonly offset: number, readonly reason: string) {
    super(`table ${table}: record ${topic}/${partition}@${offset} has a schema the table cannot take: ${reason}. ` +
      `Change the table (ALTER TABLE ${table} ...) or kafka.schema.compatibility, and the table goes on from this record`);
  }
}

/**
 * Whether restarting the task can fix what failed it. Only our own verdicts say no: a record that
 * cannot be ingested, offsets Kafka deleted, a location no file system serves. A client's own
 * `retriable: false` (kafkajs after its retries, a file system error) still deserves a restart later.
 */
export function restartCanFix(error: Error): boolean {
  return !(error instanceof RecordError || error instanceof OffsetGapError || error instanceof LocationError ||
    error instanceof SchemaChangeRefused || error instanceof TableFormatError || error instanceof BatchReadError);
}
