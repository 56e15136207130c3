// Keeps the Hive system tables: creates the database and tables, publishes each snapshot of streams,
// partitions and history atomically, and points the deadletters partitions at the ingested tables'
// dead-letter directories.
//
// One partition per instance: streams, partitions and history are partitioned by `instance`, and each
// service instance writes only its own partition, with the tables it runs and the events it recorded.
// Several instances (a cluster, or standalone services for different tables) share the database
// without ever writing the same metastore object or directory, so no member needs electing.
//
// Atomic publishing: a partition's rows are never rewritten in place. Each new content goes into a new
// version directory `<db location>/<table>/instance=<id>/v<ms, 13 digits>-<counter>/data.json`, and
// then ONE metastore call moves the partition's location to it, so a Hive query plans on the old
// version or the new one, never on half a file. Old versions stay for graceMs after their successor was
// created (queries that planned on them can still read them), then go. Everything the clean-up needs is
// in the directory names, so a restarted service cleans up after its predecessor. A version newer than
// the partition's current location is taken for a failed switch of this instance and removed.
//
// An instance that stopped publishing (it left the cluster, or was renamed) would leave its rows behind:
// its streams and partitions partitions are dropped by any other instance once their newest version is
// staleMs old (a live instance writes one at least every refreshMs), and their files graceMs later.
// Its history partition stays: it holds what only that instance recorded.
//
// Errors: ensure, publish and syncDeadLetterPartitions throw (the caller logs and calls again next
// round; nothing is left half-done that the next round does not finish). publish and
// syncDeadLetterPartitions still do what they can for the other tables/streams before throwing.
// Failures to remove old versions are only logged: readers are not affected, the next round retries.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Logger } from 'pino';
import { removeDirOfFiles, type FileSystem, type FileSystems } from '../sink/fs.ts';
import { DEADLETTER_DIR } from './tables.ts';
import type { CatalogCalls, CatalogPartition, SystemCatalog } from './catalog.ts';
import { systemRows, type SystemSnapshot } from './rows.ts';
import { DEADLETTERS, HISTORY, JSON_LINES_STORAGE, PARTITIONS, STREAMS, SYSTEM_TABLES, type PublishedTable, type SystemTableDef } from './tables.ts';

export interface SystemTablesOptions {
  catalog: SystemCatalog;
  fileSystems: FileSystems;
  /** Hive database of the system tables, e.g. hive_kafka. */
  database: string;
  /** Location for the database when it has to be created; default: the metastore's. */
  location?: string;
  /** How long a replaced version stays readable: longer than any query on these tables plans and reads. */
  graceMs: number;
  /** This service instance: the partition it writes. */
  instance: string;
  /** An unchanged streams or partitions partition is written again after this long, to show it is alive. */
  refreshMs: number;
  /** Another instance's streams or partitions partition this old is dropped (it stopped publishing). */
  staleMs: number;
  log: Logger;
  /** Clock, for tests. */
  now?: () => number;
}

/** A live stream and its table location as the metastore has it. */
export interface DeadLetterStream {
  /** A table dropped and created again under its name and location is another table: its directory is made again. */
  tableId: number;
  db: string;
  table: string;
  location: string;
}

const PUBLISHED: readonly PublishedTable[] = [STREAMS.name, PARTITIONS.name, HISTORY.name];
const VERSION = /^v(\d{13})-(\d+)$/;
const INSTANCE_DIR = /^instance=/;
const DATA_FILE = 'data.json';
// Hidden (leading '.') until whole, as every file the service writes.
const STAGING_FILE = '.data.json.tmp';

interface Version { name: string; ms: number; counter: number }

function parseVersion(name: string): Version | undefined {
  const m = VERSION.exec(name);
  return m ? { name, ms: Number(m[1]), counter: Number(m[2]) } : undefined;
}

const byAge = (a: Version, b: Version) => a.ms - b.ms || a.counter - b.counter;
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const trimSlash = (location: string) => location.replace(/\/+$/, '');
const partitionKey = (values: readonly string[]) => values.join('\u0000');

/** A directory name for any instance id (the default one holds ':' and '/'): readable, and unique by the hash. */
export function instanceDirName(instance: string): string {
  return `instance=${instance.replace(/[^A-Za-z0-9._-]/g, '_')}-${sha256(instance).slice(0, 8)}`;
}

/** The names in a directory; none when it does not exist (yet, or any more). */
async function listOrNone(fs: FileSystem, dir: string): Promise<string[]> {
  try {
    return await fs.list(dir);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
  }
}

function throwAll(errors: unknown[], what: string): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new AggregateError(errors, `${what}: ${errors.length} failures, the first: ${(errors[0] as Error)?.message ?? String(errors[0])}`);
  }
}

export class SystemTables {
  private readonly catalog: SystemCatalog;
  private readonly fileSystems: FileSystems;
  private readonly database: string;
  private readonly location: string | undefined;
  private readonly graceMs: number;
  private readonly instance: string;
  private readonly refreshMs: number;
  private readonly staleMs: number;
  private readonly log: Logger;
  private readonly now: () => number;
  /** Set once ensure() succeeded; cleared when a system table turns out missing, so the next round recreates it. */
  private dbLocation: string | undefined;
  /** Per published table: the version directory (path) we know is current, and its content's hash. */
  private readonly current = new Map<PublishedTable, { path: string; hash: string }>();
  /** The last text hashed per table: an unchanged history is the same string, and 50 MB take 0.1 s to hash. */
  private readonly hashed = new Map<PublishedTable, { text: string; hash: string }>();
  private counter = 0;
  /** Dead-letter directories made by this process, by table id and location: one mkdirs per directory, not per round; those of tables no longer run here are forgotten. */
  private readonly madeDirs = new Set<string>();

  constructor(options: SystemTablesOptions) {
    this.catalog = options.catalog;
    this.fileSystems = options.fileSystems;
    // HMS keeps database names in lower case.
    this.database = options.database.toLowerCase();
    this.location = options.location;
    this.graceMs = options.graceMs;
    this.instance = options.instance;
    this.refreshMs = options.refreshMs;
    this.staleMs = options.staleMs;
    this.log = options.log;
    this.now = options.now ?? Date.now;
  }

  /** Creates the database and the four tables where they are missing. Existing ones are left as they are. */
  async ensure(): Promise<void> {
    const db = this.database;
    await this.catalog.round(async (c) => {
      let found = await c.getDatabase(db);
      if (!found) {
        const created = await c.createDatabase({ name: db, description: 'hive-kafka system tables: streams, partitions, history, deadletters', locationUri: this.location });
        if (created) this.log.info({ database: db, location: this.location ?? '(metastore default)' }, 'created the system tables database');
        found = await c.getDatabase(db);
      } else if (this.location !== undefined && found.locationUri !== undefined && !this.samePlace(found.locationUri, this.location)) {
        this.log.warn({ database: db, location: found.locationUri, configured: this.location }, 'the system tables database exists at another location; using it where it is');
      }
      if (found?.locationUri === undefined) throw new Error(`database ${db}: the metastore gives it no location`);
      const dbLocation = trimSlash(found.locationUri);
      for (const def of SYSTEM_TABLES) await this.ensureTable(c, dbLocation, def);
      this.dbLocation = dbLocation;
    });
  }

  private async ensureTable(c: CatalogCalls, dbLocation: string, def: SystemTableDef): Promise<void> {
    const name = `${this.database}.${def.name}`;
    let existing = await c.getTable(this.database, def.name);
    const describe = (cols: readonly { name: string; type: string }[]) => cols.map((x) => `${x.name.toLowerCase()} ${x.type.toLowerCase()}`).join(', ');
    if (existing && existing.partitionKeys.length === 0 && def.partitionKeys.length > 0 && describe(existing.columns) === describe(def.columns)) {
      // hive-kafka's earlier layout (one unpartitioned snapshot for the whole database): its rows are
      // rewritten next round anyway. External table, so dropping it deletes no file; old versions go after graceMs.
      await c.dropTable(this.database, def.name);
      this.log.info({ table: name }, 'system table had the unpartitioned layout of an earlier hive-kafka; creating it again with a partition per instance');
      existing = undefined;
    }
    if (existing) {
      if (describe(existing.columns) !== describe(def.columns) || describe(existing.partitionKeys) !== describe(def.partitionKeys)) {
        // Not altered: the user may have changed it on purpose. Dropping it lets the service create it again.
        this.log.warn({ table: name, columns: describe(existing.columns), expected: describe(def.columns) },
          'system table has other columns than this version of hive-kafka writes; DROP TABLE it to have it created again');
      }
      return;
    }
    const location = `${dbLocation}/${def.name}`;
    const { fs, path } = this.fileSystems.for(location, name);
    await fs.mkdirs(path);
    const fields = (cols: readonly { name: string; type: string; comment: string }[]) => cols.map((x) => ({ name: x.name, type: x.type, comment: x.comment }));
    const created = await c.createTable({
      dbName: this.database,
      tableName: def.name,
      tableType: 'EXTERNAL_TABLE',
      columns: fields(def.columns),
      partitionKeys: fields(def.partitionKeys),
      location,
      inputFormat: JSON_LINES_STORAGE.inputFormat,
      outputFormat: JSON_LINES_STORAGE.outputFormat,
      serde: { serializationLib: JSON_LINES_STORAGE.serializationLib, parameters: { ...JSON_LINES_STORAGE.serdeParameters } },
      // Files belong to hive-kafka (and deadletters' to the ingested tables): DROP TABLE must not purge them.
      parameters: { EXTERNAL: 'TRUE', 'external.table.purge': 'false', comment: def.comment },
    });
    if (created) this.log.info({ table: name, location }, 'created system table');
  }

  /** The database location, creating what is missing first (again after a system table was dropped). */
  private async ready(): Promise<string> {
    if (this.dbLocation === undefined) await this.ensure();
    return this.dbLocation!;
  }

  /** Publishes the snapshot into streams, partitions and history (each atomically; unchanged ones untouched). */
  async publish(snapshot: SystemSnapshot): Promise<void> {
    const dbLocation = await this.ready();
    const texts = systemRows(snapshot);
    const errors: unknown[] = [];
    await this.catalog.round(async (c) => {
      for (const table of PUBLISHED) {
        try {
          await this.publishTable(c, dbLocation, table, texts[table]);
        } catch (error) {
          errors.push(error);
        }
      }
    });
    throwAll(errors, `publishing the system tables of ${this.database}`);
  }

  private async publishTable(c: CatalogCalls, dbLocation: string, table: PublishedTable, text: string): Promise<void> {
    const name = `${this.database}.${table}`;
    const tableRoot = `${dbLocation}/${table}`;
    const root = `${tableRoot}/${instanceDirName(this.instance)}`;
    const { fs, path: rootPath } = this.fileSystems.for(root, name);
    const meta = await c.getTable(this.database, table);
    if (!meta) {
      this.dbLocation = undefined;
      throw new Error(`system table ${name} does not exist (dropped?); it is created again next round`);
    }
    const partitions = await c.getPartitions(this.database, table);
    const mine = partitions.find((p) => p.values[0] === this.instance);
    const currentPath = mine?.location === undefined ? undefined : this.versionPath(fs, rootPath, mine.location);
    await this.removeOldVersions(fs, rootPath, currentPath, name);

    const last = this.hashed.get(table);
    const hash = last?.text === text ? last.hash : sha256(text);
    this.hashed.set(table, { text, hash });
    let known = this.current.get(table);
    if (known !== undefined && known.path !== currentPath) known = undefined; // moved by someone else
    if (known === undefined && currentPath !== undefined) {
      // After a restart: hash what is published, so an unchanged table is not rewritten. Unreadable -> rewrite.
      const bytes = await fs.readFile(posix.join(currentPath, DATA_FILE)).catch(() => undefined);
      if (bytes !== undefined) known = { path: currentPath, hash: sha256(bytes) };
    }
    // history is never judged stale (expireOthers), so an unchanged one needs no sign of life.
    const fresh = table === HISTORY.name || this.now() - (parseVersion(posix.basename(known?.path ?? ''))?.ms ?? 0) < this.refreshMs;
    if (known?.hash === hash && fresh) {
      this.current.set(table, known);
    } else {
      const version = await this.writeVersion(fs, rootPath, text);
      const location = `${root}/${version}`;
      await this.pointPartitionAt(c, table, mine !== undefined, location);
      const path = posix.join(rootPath, version);
      this.current.set(table, { path, hash });
      this.log.debug({ table: name, instance: this.instance, version }, 'published system table');
      await this.removeOldVersions(fs, rootPath, path, name);
    }
    await this.expireOthers(c, table, partitions, tableRoot);
  }

  /** Points this instance's partition of `table` at `location`, adding the partition if it is not there. */
  private async pointPartitionAt(c: CatalogCalls, table: PublishedTable, listed: boolean, location: string): Promise<void> {
    const values = [this.instance];
    if (!listed) return c.addPartitions(this.database, table, [{ values, location }]);
    try {
      await c.setPartitionLocation(this.database, table, values, location);
    } catch (error) {
      // Another instance may have dropped ours as stale since we listed it (our rounds ran longer than its
      // staleMs); the metastore then answers "alter is not possible", not NoSuchObjectException.
      if ((await c.getPartitions(this.database, table)).some((p) => p.values[0] === this.instance)) throw error;
      this.log.warn({ table: `${this.database}.${table}`, instance: this.instance },
        'this instance\'s partition was dropped by another instance as stale (our rounds took longer than its staleMs); added again');
      await c.addPartitions(this.database, table, [{ values, location }]);
    }
  }

  /**
   * Drops other instances' streams and partitions partitions that are staleMs old (their instance
   * stopped publishing), and removes the directories of instances no partition names any more once
   * no query can still be reading them. Failures are logged only: the next round tries again.
   */
  private async expireOthers(c: CatalogCalls, table: PublishedTable, partitions: CatalogPartition[], tableRoot: string): Promise<void> {
    const name = `${this.database}.${table}`;
    const now = this.now();
    const msOf = (location: string | undefined) => parseVersion(posix.basename(trimSlash(location ?? '')))?.ms;
    try {
      const { fs, path: rootPath } = this.fileSystems.for(tableRoot, name);
      const newest = new Map<string, number>(); // instance directory -> its newest version, written or being written
      const entries = await listOrNone(fs, rootPath);
      for (const entry of entries.filter((e) => INSTANCE_DIR.test(e) && e !== instanceDirName(this.instance))) {
        const versions = (await listOrNone(fs, posix.join(rootPath, entry))).map(parseVersion).filter((v) => v !== undefined);
        newest.set(entry, Math.max(-Infinity, ...versions.map((v) => v.ms)));
      }
      const registered = new Set<string>();
      for (const p of partitions) {
        if (p.values[0] === this.instance) continue;
        const dir = p.location === undefined ? undefined : posix.basename(posix.dirname(trimSlash(p.location)));
        // Alive while its location or a version it has begun to write is younger than staleMs.
        const ms = Math.max(msOf(p.location) ?? -Infinity, dir === undefined ? -Infinity : newest.get(dir) ?? -Infinity);
        if (table !== HISTORY.name && Number.isFinite(ms) && now - ms > this.staleMs) {
          await c.dropPartition(this.database, table, p.values);
          this.log.info({ table: name, instance: p.values[0], lastPublished: new Date(ms).toISOString() }, 'dropped the system table partition of an instance that stopped publishing');
        } else if (dir !== undefined) {
          registered.add(dir);
        }
      }
      for (const entry of entries) {
        const dir = posix.join(rootPath, entry);
        if (newest.has(entry) && !registered.has(entry)) {
          // A query may have planned on it before its partition was dropped: the grace, after staleMs.
          if (now - newest.get(entry)! <= this.staleMs + this.graceMs) continue;
          const versions = (await listOrNone(fs, dir)).map(parseVersion).filter((v) => v !== undefined);
          for (const v of versions) await removeDirOfFiles(fs, posix.join(dir, v.name));
          await fs.remove(dir);
          this.log.info({ table: name, dir: entry }, 'removed the system table files of an instance that stopped publishing');
        } else if (parseVersion(entry) !== undefined && now - parseVersion(entry)!.ms > this.graceMs) {
          // A version of the earlier unpartitioned layout.
          await removeDirOfFiles(fs, dir);
        }
      }
    } catch (error) {
      this.log.warn({ table: name, err: error }, 'could not expire other instances\' system table partitions; trying again next round');
    }
  }

  /** The path of a table location when it is one of our version directories under rootPath. */
  private versionPath(fs: FileSystem, rootPath: string, location: string): string | undefined {
    let located;
    try {
      located = this.fileSystems.for(location);
    } catch {
      return undefined;
    }
    const path = trimSlash(located.path);
    return located.fs === fs && posix.dirname(path) === trimSlash(rootPath) && VERSION.test(posix.basename(path)) ? path : undefined;
  }

  private async writeVersion(fs: FileSystem, rootPath: string, text: string): Promise<string> {
    const ms = this.now();
    let version: string;
    let dir: string;
    // Another run of the service may have used the same millisecond and counter.
    do {
      version = `v${String(ms).padStart(13, '0')}-${this.counter++}`;
      dir = posix.join(rootPath, version);
    } while (await fs.exists(dir));
    await fs.mkdirs(dir);
    const staging = posix.join(dir, STAGING_FILE);
    await fs.writeFileDurably(staging, Buffer.from(text, 'utf8'));
    await fs.rename(staging, posix.join(dir, DATA_FILE));
    return version;
  }

  /**
   * Removes versions no query can still be reading: one older than the current version once its
   * successor was created more than graceMs ago, and one newer than the current version (a switch
   * that failed: never visible). The current version itself never goes. Failures are logged only.
   */
  private async removeOldVersions(fs: FileSystem, rootPath: string, currentPath: string | undefined, name: string): Promise<void> {
    try {
      const versions = (await listOrNone(fs, rootPath)).map(parseVersion).filter((v) => v !== undefined).sort(byAge);
      const currentName = currentPath === undefined ? undefined : posix.basename(currentPath);
      const currentIndex = versions.findIndex((v) => v.name === currentName);
      const now = this.now();
      const doomed = versions.filter((v, i) => {
        if (v.name === currentName) return false;
        // Without a known current version, nothing counts as a failed switch.
        if (currentIndex >= 0 && i > currentIndex) return true;
        const successor = versions[i + 1];
        return successor !== undefined && now - successor.ms > this.graceMs;
      });
      for (const v of doomed) {
        await removeDirOfFiles(fs, posix.join(rootPath, v.name));
        this.log.debug({ table: name, version: v.name }, 'removed old system table version');
      }
    } catch (error) {
      this.log.warn({ table: name, err: error }, 'could not remove old system table versions; trying again next round');
    }
  }

  /**
   * Keeps the deadletters partitions: one (db_name, table_name) at `<table location>/${DEADLETTER_DIR}`
   * for each stream this instance runs (`live`), and none for the dropped tables in `gone` (their
   * files stay: they belong to the ingested table). Partitions of tables in neither list are another
   * instance's business and left as they are, so instances never undo each other's work.
   */
  async syncDeadLetterPartitions(live: DeadLetterStream[], gone: { db: string; table: string }[] = []): Promise<void> {
    await this.ready();
    const db = this.database;
    const table = DEADLETTERS.name;
    // HMS keeps db and table names in lower case; the values are what queries filter on.
    const valuesOf = (s: { db: string; table: string }) => [s.db.toLowerCase(), s.table.toLowerCase()];
    const wanted = new Map<string, { values: string[]; location: string; made: string }>();
    for (const s of live) {
      const values = valuesOf(s);
      const location = `${trimSlash(s.location)}/${DEADLETTER_DIR}`;
      wanted.set(partitionKey(values), { values, location, made: `${s.tableId} ${location}` });
    }
    const stillMade = new Set([...wanted.values()].map((w) => w.made));
    for (const made of this.madeDirs) if (!stillMade.has(made)) this.madeDirs.delete(made);
    const unwanted = new Set(gone.map((s) => partitionKey(valuesOf(s))).filter((k) => !wanted.has(k)));
    const errors: unknown[] = [];
    await this.catalog.round(async (c) => {
      const existing = new Map((await c.getPartitions(db, table)).map((p) => [partitionKey(p.values), p]));
      const add: { values: string[]; location: string }[] = [];
      for (const [key, w] of wanted) {
        try {
          const { fs, path } = this.fileSystems.for(w.location, `${w.values.join('.')}`);
          // Hive fails a query over a partition whose directory is missing; a task makes it only with its first dead letter.
          if (!this.madeDirs.has(w.made)) {
            await fs.mkdirs(path);
            this.madeDirs.add(w.made);
          }
          const have = existing.get(key);
          if (have?.location !== undefined && this.samePlace(have.location, w.location)) continue;
          // A table moved, or dropped and created again elsewhere under the same name: follow it.
          if (have) await c.dropPartition(db, table, have.values);
          add.push(w);
        } catch (error) {
          errors.push(error);
        }
      }
      if (add.length > 0) {
        await c.addPartitions(db, table, add);
        this.log.info({ table: `${db}.${table}`, partitions: add.map((p) => p.values.join('.')) }, 'added dead-letter partitions');
      }
      for (const [key, p] of existing) {
        if (!unwanted.has(key)) continue;
        try {
          await c.dropPartition(db, table, p.values);
          this.log.info({ table: `${db}.${table}`, partition: p.values.join('.') }, 'dropped dead-letter partition (files kept)');
        } catch (error) {
          errors.push(error);
        }
      }
    });
    throwAll(errors, `syncing the partitions of ${db}.${table}`);
  }

  /** Two locations name the same directory (HMS may rewrite file:///x as file:/x, or add a host). */
  private samePlace(a: string, b: string): boolean {
    try {
      const x = this.fileSystems.for(a);
      const y = this.fileSystems.for(b);
      return x.fs === y.fs && trimSlash(x.path) === trimSlash(y.path);
    } catch {
      return trimSlash(a) === trimSlash(b);
    }
  }
}
