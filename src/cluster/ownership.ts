// Which tables this instance may run, and taking one before its first task starts. Two kinds:
// - standalone (no `cluster` in the config): every table it can hold (holder.ts), as one service always did;
// - cluster: the tables the group assigns to it (membership.ts), each taken with a fencing claim in
//   the state log (state-log.ts), whose offsets and pending batch replace what the local ledger says.
import type { Logger } from 'pino';
import type { Ledger, PortablePartition } from '../ledger/ledger.ts';
import type { StoredLayout } from '../properties/stream.ts';
import type { FileSystems } from '../sink/fs.ts';
import type { TableWeight } from './assign.ts';
import { holdTable, readHolder, releaseTable } from './holder.ts';
import { lastPublishedOffsets } from '../ledger/rebuild.ts';
import type { StreamSpec } from '../properties/parse.ts';
import type { Membership, MembershipView } from './membership.ts';
import { OwnershipLostError, StateLog } from './state-log.ts';

export type AcquireResult = { ok: true; token?: number } | { ok: false; reason: string };

export interface ClusterStatus {
  cluster?: string;
  instanceId: string;
  generation?: number;
  members: string[];
  /** Owner instance of each table, as far as this instance knows. */
  owners: Map<number, string>;
}

export interface ClusterSettings { name: string; bootstrap: string[]; sessionTimeoutMs: number }

interface Common { ledger: Ledger; fileSystems: FileSystems; instanceId: string; log: Logger }

abstract class OwnershipBase {
  constructor(protected readonly c: Common, private readonly holderName: string) {}

  /** The holder file first: a table held by a service outside this cluster is refused, naming it. */
  protected async hold(tableId: number): Promise<AcquireResult> {
    const located = this.locate(tableId);
    if (!located) return { ok: false, reason: `table ${tableId} is not in the ledger` };
    const r = await holdTable(located.fs, located.path, this.holderName, this.c.instanceId);
    if (r.ok) return r;
    return { ok: false, reason: `held by ${r.holder.holder} (instance ${r.holder.by}, since ${r.holder.since}): another hive-kafka service ingests ${located.table}; `
      + `give both services the same cluster name, or stop that one and run \`hive-kafka release ${located.table}\`` };
  }

  protected locate(tableId: number) {
    const s = this.c.ledger.getStream(tableId);
    if (!s) return undefined;
    const table = `${s.dbName}.${s.tableName}`;
    return { ...this.c.fileSystems.for((JSON.parse(s.layoutJson) as StoredLayout).location, table), table };
  }

  /**
   * After a RENAME moved the table: a start retried before the service heard of it made the holder
   * file again at the old location. It goes, if it names us, so the old location can go too.
   */
  async releaseMoved(fromLocation: string, table: string): Promise<void> {
    const { fs, path } = this.c.fileSystems.for(fromLocation, table);
    if ((await fs.exists(path)) && (await readHolder(fs, path))?.holder === this.holderName) await releaseTable(fs, path);
  }

  /** The Kafka cluster a table's offsets belong to, first seen by this instance: a cluster shares it with the offsets. */
  async recordKafkaCluster(_tableId: number, _kafkaCluster: string): Promise<void> {}

  /**
   * After DROP: the holder file goes with the table's other files, if it names us; not while a live
   * table has the same location (DROP, then CREATE of the same name): the file is that table's now.
   */
  async forget(tableId: number, opts: { locationInUse?: boolean } = {}): Promise<void> {
    if (opts.locationInUse) return;
    const located = this.locate(tableId);
    if (located && (await readHolder(located.fs, located.path))?.holder === this.holderName) await releaseTable(located.fs, located.path);
  }
}

export class StandaloneOwnership extends OwnershipBase {
  constructor(c: Common) { super(c, `instance:${c.instanceId}`); }
  async start(): Promise<void> {}
  owns(): boolean { return true; }

  /**
   * A table another service gave up (`hive-kafka release`) has published files but no offsets here:
   * they come from the file names, as `hive-kafka ledger rebuild` would take them.
   */
  async acquire(tableId: number): Promise<AcquireResult> {
    const r = await this.hold(tableId);
    const located = this.locate(tableId);
    if (!r.ok || !located || this.c.ledger.nextOffsets(tableId).size > 0) return r;
    const spec = JSON.parse(this.c.ledger.getStream(tableId)!.specJson) as StreamSpec;
    const last = await lastPublishedOffsets(located.fs, located.path, spec.topic).catch(() => new Map<number, number>());
    if (last.size > 0) {
      this.c.ledger.rebuildOffsets(tableId, last);
      this.c.ledger.appendHistory(tableId, 'ledger-rebuilt', { partitions: Object.fromEntries(last), why: 'taken over with published files and no offsets in this ledger' });
      this.c.log.info({ table: located.table, next: Object.fromEntries(this.c.ledger.nextOffsets(tableId)) }, 'next offsets taken from the published file names');
    }
    return r;
  }
  async release(): Promise<void> {}
  lost(): void {}
  tokenOf(): number | undefined { return undefined; }
  async record(): Promise<void> {}
  status(): ClusterStatus { return { instanceId: this.c.instanceId, members: [this.c.instanceId], owners: new Map() }; }
  async stop(): Promise<void> {}
}

export class ClusterOwnership extends OwnershipBase {
  private readonly log: StateLog;
  /** Set by start(): loaded then, since @platformatic/kafka compiles its option schemas (ajv) as it loads and a standalone service never needs it. */
  private membership?: Membership;
  private readonly acquired = new Map<number, number>();
  /** Tables a task was fenced out of, with the generation: not ours again before a newer one. */
  private readonly lostIn = new Map<number, number>();

  constructor(c: Common, private readonly settings: ClusterSettings, private readonly onChange: () => void) {
    super(c, `cluster:${settings.name}`);
    this.log = new StateLog({ brokers: settings.bootstrap, cluster: settings.name, instanceId: c.instanceId, topic: `hive-kafka.${settings.name}.state`, log: c.log });
  }

  async start(): Promise<void> {
    await this.log.start();
    const { Membership } = await import('./membership.ts');
    const { settings, c } = this;
    this.membership = new Membership({
      brokers: settings.bootstrap, cluster: settings.name, instanceId: c.instanceId, sessionTimeoutMs: settings.sessionTimeoutMs, log: c.log,
      owned: () => [...this.acquired.keys()],
      tables: () => this.tables(),
      onView: (view) => { if (!view) this.dropAll(); else this.claimAhead(view); this.onChange(); },
    });
    await this.membership.start();
  }

  private tables(): TableWeight[] {
    return this.c.ledger.listStreams().map((s) => ({ tableId: s.tableId, partitions: Math.max(1, this.log.partitionCount(s.tableId), this.c.ledger.nextOffsets(s.tableId).size) }));
  }

  owns(tableId: number): boolean {
    const view = this.membership?.current();
    if (!view || (!view.alone && !view.tables.has(tableId))) return false;
    const lost = this.lostIn.get(tableId);
    return lost === undefined || view.generation > lost;
  }

  /** Claims the tables a new assignment gives this instance all at once, not one by one as the supervisor reaches them. */
  private claimAhead(view: MembershipView): void {
    for (const s of this.c.ledger.listStreams()) {
      if (s.desiredState !== 'running' || s.failure !== null || !(view.alone || view.tables.has(s.tableId)) || this.acquired.has(s.tableId)) continue;
      this.acquire(s.tableId).catch((e: Error) => this.c.log.warn({ tableId: s.tableId, err: e.message }, 'claim failed; the supervisor tries again'));
    }
  }

  private readonly claiming = new Map<number, Promise<AcquireResult>>();

  async acquire(tableId: number): Promise<AcquireResult> {
    let pending = this.claiming.get(tableId);
    if (!pending) {
      pending = this.claim(tableId).finally(() => this.claiming.delete(tableId));
      this.claiming.set(tableId, pending);
    }
    return pending;
  }

  private async claim(tableId: number): Promise<AcquireResult> {
    const view = this.membership?.current();
    if (!view) return { ok: false, reason: 'this instance is not a member of its cluster group right now' };
    const held = this.acquired.get(tableId);
    if (held !== undefined) return { ok: true, token: held };
    const hold = await this.hold(tableId);
    if (!hold.ok) return hold;
    const last = this.log.owners().get(tableId);
    if (last && last.owner !== this.c.instanceId && last.generation > view.generation) {
      return { ok: false, reason: `claimed by ${last.owner} in a newer group generation (${last.generation} > ${view.generation}); waiting for the next assignment` };
    }
    const { token, partitions, kafkaCluster } = await this.log.claim(tableId, view.generation);
    // From here the log is the truth; what only this ledger knows (a table run before there was a cluster) joins it.
    const localOnly = this.c.ledger.importPortable(tableId, partitions);
    await this.log.write(tableId, token, new Map([...localOnly].map(([p, next]) => [p, { next, pending: null }])));
    // The Kafka cluster of those offsets too: a member that never ran the table checks its brokers against it.
    const known = this.c.ledger.getStream(tableId)?.kafkaClusterId ?? undefined;
    if (kafkaCluster !== undefined) this.c.ledger.recordKafkaCluster(tableId, kafkaCluster, { replace: true });
    else if (known !== undefined) await this.log.writeSource(tableId, token, known);
    this.acquired.set(tableId, token);
    this.c.log.info({ tableId, generation: view.generation, partitions: Object.fromEntries([...partitions].map(([p, s]) => [p, s.next])) }, 'table claimed');
    return { ok: true, token };
  }

  tokenOf(tableId: number): number | undefined { return this.acquired.get(tableId); }

  /**
   * After DROP: the holder file, and the table's state in the log. The member holding its claim writes
   * the tombstones. A table nobody holds (paused, failed, or its owner gone) would keep its records in
   * the log for good, read by every member at every start: its last claimant, or the first live member
   * by name if that one is gone, takes a claim of its own for them.
   */
  override async forget(tableId: number, opts: { locationInUse?: boolean } = {}): Promise<void> {
    await super.forget(tableId, opts);
    const held = this.acquired.get(tableId);
    const token = held ?? (this.tombstonesFallToMe(tableId) ? await this.claimForTombstones(tableId) : undefined);
    if (token === undefined) return;
    try {
      await this.log.forget(tableId, token);
    } catch (e) {
      this.c.log.warn({ tableId, err: (e as Error).message }, 'the dropped table\'s state stays in the cluster state log');
    } finally {
      if (held === undefined) await this.log.release(tableId);
    }
  }

  private tombstonesFallToMe(tableId: number): boolean {
    const last = this.log.owners().get(tableId);
    const view = this.membership?.current();
    if (!last || !view) return false;
    if (last.owner === this.c.instanceId) return true;
    const live = view.members.map((m) => m.instanceId);
    return !live.includes(last.owner) && [...live].sort()[0] === this.c.instanceId;
  }

  private async claimForTombstones(tableId: number): Promise<number | undefined> {
    try {
      return (await this.log.claim(tableId, this.membership?.current()?.generation ?? 0)).token;
    } catch (e) {
      this.c.log.warn({ tableId, err: (e as Error).message }, 'the dropped table\'s state stays in the cluster state log: no claim for its tombstones');
      return undefined;
    }
  }

  override async recordKafkaCluster(tableId: number, kafkaCluster: string): Promise<void> {
    const token = this.acquired.get(tableId);
    if (token === undefined) throw new OwnershipLostError(tableId, 'its claim was given up or replaced');
    await this.log.writeSource(tableId, token, kafkaCluster);
  }

  async record(tableId: number, token: number | undefined, states: ReadonlyMap<number, PortablePartition>): Promise<void> {
    if (token === undefined || this.acquired.get(tableId) !== token) throw new OwnershipLostError(tableId, 'its claim was given up or replaced');
    try {
      await this.log.write(tableId, token, states);
    } catch (e) {
      if (e instanceof OwnershipLostError) this.lost(tableId, token);
      throw e;
    }
  }

  async release(tableId: number, token: number | undefined): Promise<void> {
    if (this.acquired.get(tableId) !== token) return; // a later claim: not this one's to give up
    this.acquired.delete(tableId);
    await this.log.release(tableId);
  }

  lost(tableId: number, token: number | undefined): void {
    if (this.acquired.get(tableId) !== token) return;
    this.lostIn.set(tableId, this.membership?.current()?.generation ?? 0);
    this.acquired.delete(tableId);
    void this.log.release(tableId);
  }

  private dropAll(): void {
    for (const [id, token] of [...this.acquired]) this.lost(id, token);
  }

  status(): ClusterStatus {
    const view: MembershipView | undefined = this.membership?.current();
    const owners = new Map([...this.log.owners()].map(([id, c]) => [id, c.owner]));
    for (const id of this.acquired.keys()) owners.set(id, this.c.instanceId);
    return { cluster: this.settings.name, instanceId: this.c.instanceId, generation: view?.generation, members: view?.members.map((m) => m.instanceId) ?? [], owners };
  }

  /** After the supervisor committed and stopped every table: leave first, so the others rebalance now. */
  async stop(): Promise<void> {
    await this.membership?.stop();
    this.c.log.info('left the cluster group');
    await this.log.stop();
  }
}

export type Ownership = StandaloneOwnership | ClusterOwnership;
