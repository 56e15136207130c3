// Follows the metastore's notification log and turns DDL on KafkaStreamStorageHandler tables into
// small typed "table notices", handed one at a time, in event order, to an async handler.
//
// Contract for the consumer of notices (onNotice):
// - Notices are idempotent statements of state ("table X now looks like this", "table X is gone"),
//   never deltas. The cursor moves past an event only after onNotice resolved for it, so after a crash
//   the last notices are delivered again; applying one twice must change nothing.
// - Identify tables by `table.id` / `tableId`: a table dropped and created again under the same name
//   has a new id, and a rename keeps the id. (The id is optional in the IDL; HMS 4.1 sets it everywhere.)
// - An `upsert` describes the table as of its event. A resync (see below) reports tables as they are
//   now, after which older events may be replayed; applying notices in order still ends in the
//   current state.
// - A `drop` may name a table the consumer never saw (replay, or a drop after a resync); ignore it.
// - `resync-live` lists every handler table that exists; streams of any other table id are gone. A resync
//   delivers it before its upserts, so that a table dropped while we were not looking stops before a
//   table created again under its name (and at its location) starts.
// - onNotice throwing is treated as temporary: the same notice is retried after a backoff, forever.
//
// What we rely on in HMS: event ids are strictly increasing and contiguous. ObjectStore.addNotificationEvent
// takes NEXT_EVENT_ID under a lock held until the DDL's transaction commits (Derby: LOCK TABLE ... IN
// EXCLUSIVE MODE; others: SELECT ... FOR UPDATE), and a rolled back DDL rolls back its increment too.
// DbNotificationListener's transaction events (OPEN_TXN, COMMIT_TXN, ALLOC_WRITE_ID, ...) take their ids
// from the same sequence with SELECT ... FOR UPDATE on the transaction's own connection, so they are
// ordinary events to us, not holes. Hence event N+1 is never visible before event N, and a hole in an
// unfiltered get_next_notification answer means the cleaner (metastore.event.db.listener.timetolive)
// deleted events we had not read. Hive's own client assumes the same (HiveMetaStoreClient.getNextNotification
// throws "Notification events are missing" when gaps are not allowed). Filtered reads (eventTypeSkipList,
// db/table names) do have legitimate holes; we never filter.
// With DbNotificationListener registered as a transactional listener (as on our stack) an event commits
// with its DDL; as a plain listener it is written afterwards and a metastore crash in between loses it
// without leaving a hole, which nothing here can detect.
// A hole, a log that was reset (current id behind our cursor) or an event we cannot decode all lead to a
// resync: list every table, report the handler tables, and continue from the current event id.
import { decodeMessage } from './events.ts';
import { MetastoreError } from './errors.ts';
import type { NotificationEvent, Table } from './types.ts';

export const KAFKA_STREAM_STORAGE_HANDLER = 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler';

export type UpsertCause = 'create' | 'alter' | 'rename' | 'resync';

export type TableNotice =
  | { kind: 'upsert'; table: Table; cause: UpsertCause; eventId: bigint }
  | { kind: 'drop'; tableId: bigint | undefined; dbName: string; tableName: string; eventId: bigint }
  | { kind: 'resync-live'; liveTableIds: bigint[]; eventId: bigint };

/** The metastore calls the watcher makes; MetastoreClient has them all. */
export interface WatcherMetastore {
  getCurrentEventId(): Promise<bigint>;
  getNextEvents(lastEvent: bigint, maxEvents: number): Promise<NotificationEvent[]>;
  getAllDatabases(): Promise<string[]>;
  getAllTables(dbName: string): Promise<string[]>;
  getTables(dbName: string, tableNames: string[]): Promise<Table[]>;
  close(): void;
}

/** pino-compatible. */
export interface WatcherLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WatcherOptions {
  connect: () => Promise<WatcherMetastore>;
  /** Id of the last event fully handled, or undefined on the very first start. */
  readCursor: () => bigint | undefined;
  writeCursor: (eventId: bigint) => void;
  onNotice: (notice: TableNotice) => Promise<void>;
  logger: WatcherLogger;
  /** Pause between polls once caught up. Default 500. */
  pollIntervalMs?: number;
  /** Events per get_next_notification call. Default 500. */
  maxEvents?: number;
  /** Table names per get_table_objects_by_name_req call during a resync. Default 100. */
  resyncChunkSize?: number;
  /** Backoff after a failure: doubles from initialMs up to maxMs, with jitter. Default 250 → 10000. */
  backoff?: { initialMs: number; maxMs: number };
  /** Source of jitter, [0, 1). Default Math.random. */
  random?: () => number;
}

export function isKafkaStreamTable(table: Table): boolean {
  return table.parameters.storage_handler === KAFKA_STREAM_STORAGE_HANDLER;
}

/** The notice an event means for us, or undefined when it does not concern a handler table. Throws when undecodable. */
export function noticeForEvent(event: NotificationEvent): TableNotice | undefined {
  const decoded = decodeMessage(event);
  const eventId = event.eventId;
  switch (decoded.type) {
    case 'CREATE_TABLE':
      return isKafkaStreamTable(decoded.table) ? { kind: 'upsert', table: decoded.table, cause: 'create', eventId } : undefined;
    case 'DROP_TABLE':
      return isKafkaStreamTable(decoded.table) ? dropNotice(decoded.table, eventId) : undefined;
    case 'ALTER_TABLE': {
      const { before, after } = decoded;
      const wasOurs = isKafkaStreamTable(before);
      const isOurs = isKafkaStreamTable(after);
      // Changing storage_handler away from us ends the stream; changing it to us starts one.
      if (wasOurs && !isOurs) return dropNotice(before, eventId);
      if (!isOurs) return undefined;
      if (!wasOurs) return { kind: 'upsert', table: after, cause: 'create', eventId };
      if (onlyStatisticsChanged(before, after)) return undefined;
      const renamed = before.dbName !== after.dbName || before.tableName !== after.tableName;
      return { kind: 'upsert', table: after, cause: renamed ? 'rename' : 'alter', eventId };
    }
    case 'OTHER':
      return undefined;
  }
}

/**
 * The parameters Hive's own statistics write. ANALYZE TABLE writes an ALTER_TABLE event that changes
 * only these (seen on Hive 4.0.1: numRows, rawDataSize, numFiles, numFilesErasureCoded, totalSize,
 * COLUMN_STATS_ACCURATE, transient_lastDdlTime); a user's ALTER also sets last_modified_time and _by.
 */
const STATISTICS_PARAMETERS = new Set(['numRows', 'rawDataSize', 'numFiles', 'numFilesErasureCoded', 'totalSize', 'COLUMN_STATS_ACCURATE', 'transient_lastDdlTime']);

/** Nothing but Hive's statistics changed: not a DDL of the user's, and nothing hive-kafka reads (a failed table stays failed). */
export function onlyStatisticsChanged(before: Table, after: Table): boolean {
  const withoutStatistics = (t: Table) => JSON.stringify(
    { ...t, parameters: Object.fromEntries(Object.entries(t.parameters).filter(([k]) => !STATISTICS_PARAMETERS.has(k)).sort(([a], [b]) => a.localeCompare(b))) },
    (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  return withoutStatistics(before) === withoutStatistics(after);
}

function dropNotice(table: Table, eventId: bigint): TableNotice {
  return { kind: 'drop', tableId: table.id, dbName: table.dbName, tableName: table.tableName, eventId };
}

/** Capped exponential backoff with equal jitter: attempt 1 waits between initial/2 and initial. */
export function backoffDelayMs(attempt: number, backoff: { initialMs: number; maxMs: number }, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** onNotice failed; kept apart from metastore failures because the connection is fine. */
class NoticeHandlerError extends Error {
  override readonly name = 'NoticeHandlerError';
  constructor(readonly notice: TableNotice, options: ErrorOptions) {
    super(`the notice handler failed for ${describeNotice(notice)}`, options);
  }
}

/** Thrown inside the loop once stop() was called, to unwind from wherever it is. */
class Stopped extends Error {}

function describeNotice(notice: TableNotice): string {
  switch (notice.kind) {
    case 'upsert': return `upsert (${notice.cause}) of ${notice.table.dbName}.${notice.table.tableName} at event ${notice.eventId}`;
    case 'drop': return `drop of ${notice.dbName}.${notice.tableName} at event ${notice.eventId}`;
    case 'resync-live': return `resync-live at event ${notice.eventId}`;
  }
}

function describeEvent(event: NotificationEvent): string {
  return `event ${event.eventId} (${event.eventType} ${event.dbName ?? '?'}.${event.tableName ?? '?'})`;
}

type PollOutcome = 'caught-up' | 'more';

export class NotificationWatcher {
  private readonly pollIntervalMs: number;
  private readonly maxEvents: number;
  private readonly resyncChunkSize: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly random: () => number;
  private readonly stopSignal = new AbortController();
  private client: WatcherMetastore | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: WatcherOptions) {
    this.pollIntervalMs = opts.pollIntervalMs ?? 500;
    this.maxEvents = opts.maxEvents ?? 500;
    this.resyncChunkSize = opts.resyncChunkSize ?? 100;
    this.backoff = opts.backoff ?? { initialMs: 250, maxMs: 10_000 };
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    if (this.loop) throw new Error('the notification watcher was already started');
    this.loop = this.run();
  }

  /**
   * Resolves once the loop has exited. Metastore calls and sleeps are abandoned at once; an onNotice
   * call in flight is awaited, so no notice is being handled after this resolves.
   */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    this.dropClient();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private async run(): Promise<void> {
    let failures = 0;
    this.opts.logger.info({ pollIntervalMs: this.pollIntervalMs, maxEvents: this.maxEvents }, 'notification watcher started');
    while (!this.stopped) {
      try {
        const outcome = await this.pollOnce();
        if (failures > 0) this.opts.logger.info({ failures }, 'notification watcher recovered');
        failures = 0;
        if (outcome === 'caught-up') await this.sleep(this.pollIntervalMs);
      } catch (error) {
        if (error instanceof Stopped || this.stopped) break;
        failures += 1;
        const delayMs = backoffDelayMs(failures, this.backoff, this.random);
        this.reportFailure(error, failures, delayMs);
        await this.sleep(delayMs);
      }
    }
    this.dropClient();
    this.opts.logger.info({}, 'notification watcher stopped');
  }

  private reportFailure(error: unknown, failures: number, retryInMs: number): void {
    const context = { err: error, failures, retryInMs };
    if (error instanceof NoticeHandlerError) {
      this.opts.logger.error(context, `${error.message}; retrying the same notice`);
    } else if (error instanceof MetastoreError) {
      // Whatever went wrong, a fresh connection cannot hurt, and after network trouble it is needed.
      this.dropClient();
      if (error.retriable) {
        this.opts.logger.warn(context, `metastore unavailable: ${error.message}; reconnecting`);
      } else {
        // Not a network problem: the metastore answered with an error (a misconfiguration, or a database
        // dropped while we listed it). Retrying is still right; the log says which call failed.
        this.opts.logger.error(context, `metastore call failed: ${error.message}; reconnecting and retrying`);
      }
    } else {
      this.opts.logger.error(context, `notification watcher failed: ${error instanceof Error ? error.message : String(error)}; retrying`);
    }
  }

  /** One read of the log from the cursor, and the notices it yields. */
  private async pollOnce(): Promise<PollOutcome> {
    const cursor = this.opts.readCursor();
    if (cursor === undefined) {
      await this.resync('first start: no cursor yet');
      return 'more';
    }
    let page = await this.metastore((client) => client.getNextEvents(cursor, this.maxEvents));
    if (page.length === 0) {
      const current = await this.metastore((client) => client.getCurrentEventId());
      if (current === cursor) return 'caught-up';
      if (current < cursor) {
        await this.resync(`the metastore's current event id ${current} is behind our cursor ${cursor}: its notification log was reset`);
        return 'more';
      }
      // Events up to `current` were committed before we asked again; if they are not there now, they were cleaned.
      page = await this.metastore((client) => client.getNextEvents(cursor, this.maxEvents));
      if (page.length === 0) {
        await this.resync(`events ${cursor + 1n} to ${current} were cleaned from the notification log before we read them`);
        return 'more';
      }
    }
    let handled = cursor;
    let written = cursor;
    const saveProgress = () => {
      if (handled > written) this.opts.writeCursor(handled);
      written = handled;
    };
    for (const event of page) {
      if (this.stopped) break;
      if (event.eventId !== handled + 1n) {
        saveProgress();
        await this.resync(`event ${handled + 1n} is missing (the next one is ${event.eventId}): events were cleaned before we read them`);
        return 'more';
      }
      let notice: TableNotice | undefined;
      try {
        notice = noticeForEvent(event);
      } catch (error) {
        saveProgress();
        this.opts.logger.error({ err: error }, `cannot decode ${describeEvent(event)}; resynchronising instead`);
        await this.resync(`${describeEvent(event)} could not be decoded`);
        return 'more';
      }
      if (notice) await this.deliver(notice);
      handled = event.eventId;
      // Only notices need the cursor saved at once; ignored events are covered by the next save.
      if (notice) saveProgress();
    }
    saveProgress();
    return page.length >= this.maxEvents ? 'more' : 'caught-up';
  }

  /**
   * Reports which handler tables exist (the others are gone), then every one as it is now, then moves the
   * cursor to the event id read before listing, so DDL during the listing is replayed afterwards.
   * Restartable from scratch.
   */
  private async resync(reason: string): Promise<void> {
    this.opts.logger.warn({ reason }, `resynchronising with the metastore: ${reason}`);
    const current = await this.metastore((client) => client.getCurrentEventId());
    const tables = await this.listKafkaStreamTables();
    const liveTableIds = tables.flatMap((table) => (table.id === undefined ? [] : [table.id]));
    await this.deliver({ kind: 'resync-live', liveTableIds, eventId: current });
    // Oldest first (HMS hands out table ids in order): a table renamed away from a name moves what it
    // left there before a table created since under that name starts writing there.
    const byAge = [...tables].sort((a, b) => (a.id === b.id ? 0 : a.id === undefined ? 1 : b.id === undefined ? -1 : a.id < b.id ? -1 : 1));
    for (const table of byAge) {
      await this.deliver({ kind: 'upsert', table, cause: 'resync', eventId: current });
    }
    this.opts.writeCursor(current);
    this.opts.logger.info({ eventId: current.toString(), tables: tables.length }, 'resynchronised with the metastore');
  }

  private async listKafkaStreamTables(): Promise<Table[]> {
    const found: Table[] = [];
    for (const dbName of await this.metastore((client) => client.getAllDatabases())) {
      const names = await this.metastore((client) => client.getAllTables(dbName));
      for (let start = 0; start < names.length; start += this.resyncChunkSize) {
        const chunk = names.slice(start, start + this.resyncChunkSize);
        const tables = await this.metastore((client) => client.getTables(dbName, chunk));
        found.push(...tables.filter(isKafkaStreamTable));
      }
    }
    return found;
  }

  private async deliver(notice: TableNotice): Promise<void> {
    if (this.stopped) throw new Stopped();
    try {
      await this.opts.onNotice(notice);
    } catch (error) {
      throw new NoticeHandlerError(notice, { cause: error });
    }
  }

  /** Runs one metastore call on the current connection (connecting first if needed); stop() abandons it. */
  private async metastore<T>(call: (client: WatcherMetastore) => Promise<T>): Promise<T> {
    this.client ??= await this.untilStopped(this.connect());
    return this.untilStopped(call(this.client));
  }

  private async connect(): Promise<WatcherMetastore> {
    const client = await this.opts.connect();
    // A connection that completes after stop() has nobody to close it but us.
    if (this.stopped) {
      client.close();
      throw new Stopped();
    }
    return client;
  }

  private dropClient(): void {
    const client = this.client;
    this.client = undefined;
    try {
      client?.close();
    } catch (error) {
      this.opts.logger.warn({ err: error }, 'closing the metastore connection failed');
    }
  }

  /** Settles like `promise`, or rejects with Stopped as soon as stop() is called. */
  private untilStopped<T>(promise: Promise<T>): Promise<T> {
    const signal = this.stopSignal.signal;
    if (signal.aborted) {
      promise.catch(() => {}); // abandoned: nobody waits for it any more
      return Promise.reject(new Stopped());
    }
    return new Promise<T>((resolve, reject) => {
      const onStop = () => reject(new Stopped());
      signal.addEventListener('abort', onStop, { once: true });
      promise.then(
        (value) => { signal.removeEventListener('abort', onStop); resolve(value); },
        (error: unknown) => { signal.removeEventListener('abort', onStop); reject(error); },
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.stopSignal.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
