// Membership of the cluster's Kafka consumer group (hive-kafka.<cluster>): the group's leader runs
// the pure assignment (assign.ts) over the members and the tables it knows, and each member learns
// its tables from its SyncGroup answer. The group protocol is Kafka's own (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup), through @platformatic/kafka: kafkajs 2.2.4 cannot join a group without
// consuming a topic and drops the assignment's user data (README, "Several instances").
// Membership decides who should run a table; it does not fence. The state log's claims do (state-log.ts).
import { Consumer } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { assignTables, type MemberClaim, type TableWeight } from './assign.ts';

/** What this member may run, as of one group generation. */
export interface MembershipView {
  generation: number;
  /** The only member: every table is its own (the group protocol skips the assignor then). */
  alone: boolean;
  /** Tables assigned to this member (ignored when alone). */
  tables: ReadonlySet<number>;
  members: { memberId: string; instanceId: string }[];
}

export interface MembershipOptions {
  brokers: string[];
  cluster: string;
  instanceId: string;
  sessionTimeoutMs: number;
  log: Logger;
  /** Tables this member runs now: sent with each join, so the assignment can keep them here. */
  owned(): number[];
  /** Every table the cluster should run, with its partition count (read by the leader only). */
  tables(): TableWeight[];
  onView(view: MembershipView | undefined): void;
}

// The assignment travels where the consumer protocol puts topic names: the broker keeps it opaque.
const PROTOCOL = 'hive-kafka-tables';
interface Blob { v: 1; tables: number[]; members: { m: string; i: string }[] }

export class Membership {
  private readonly consumer: Consumer;
  private view: MembershipView | undefined;
  private assignedKey = '';
  private isLeader = false;
  private watch: NodeJS.Timeout | undefined;
  private lastTick = Date.now();
  private stopped = false;

  constructor(private readonly opts: MembershipOptions) {
    const protocol = { name: PROTOCOL, version: 1, get metadata() { return Buffer.from(JSON.stringify({ i: opts.instanceId, owned: opts.owned() })); } };
    this.protocols = [protocol];
    this.consumer = new Consumer({
      clientId: `hive-kafka-${opts.instanceId}`, bootstrapBrokers: opts.brokers, groupId: `hive-kafka.${opts.cluster}`,
      sessionTimeout: opts.sessionTimeoutMs, rebalanceTimeout: opts.sessionTimeoutMs, heartbeatInterval: Math.max(500, Math.floor(opts.sessionTimeoutMs / 6)),
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      protocols: this.protocols as any, partitionAssigner: (_current, members) => this.assign(members),
    });
    this.consumer.on('consumer:heartbeat:error', (p) => opts.log.warn({ err: p.error.message }, 'cluster group heartbeat failed'));
    this.consumer.on('consumer:group:rebalance', () => { this.rebalancingSince ??= Date.now(); });
    this.consumer.on('consumer:group:join', (p) => this.joined(p.generationId ?? 0, p.isLeader ?? false, p.assignments ?? []));
  }

  private readonly protocols: { name: string; version: number; metadata: Buffer }[];

  async start(): Promise<void> {
    // A member that froze (SIGSTOP, a long GC pause) or lost Kafka longer than the session timeout
    // was dropped from the group: it gives up every table at once, before its heartbeat even fails.
    this.watch = setInterval(() => this.checkAlive(), 500);
    await this.join();
  }

  private async join(): Promise<void> {
    await this.consumer.joinGroup({
      sessionTimeout: this.opts.sessionTimeoutMs, rebalanceTimeout: this.opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(this.opts.sessionTimeoutMs / 6)),
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      protocols: this.protocols as any, partitionAssigner: (_current, members) => this.assign(members),
    });
  }

  private checkAlive(): void {
    const now = Date.now();
    const frozen = now - this.lastTick > this.opts.sessionTimeoutMs;
    this.lastTick = now;
    const beat = this.consumer.lastHeartbeat?.getTime() ?? this.joinedAt;
    // A rebalance pauses heartbeats; the member stays in the group while it rejoins within the rebalance timeout.
    const quietSince = Math.max(beat, this.joinedAt);
    const limit = this.rebalancingSince !== undefined ? 2 * this.opts.sessionTimeoutMs : this.opts.sessionTimeoutMs;
    const cutOff = this.view !== undefined && now - quietSince > limit;
    if (this.view && (frozen || cutOff)) {
      this.opts.log.warn({ frozen, lastHeartbeat: new Date(beat).toISOString() }, 'no heartbeat for longer than the session timeout: this instance gives up all its tables until it rejoins');
      this.view = undefined;
      this.outSince = now;
      this.opts.onView(undefined);
    }
    if (!this.view && this.outSince !== undefined && now - this.outSince > this.opts.sessionTimeoutMs / 2 && !this.rejoining) {
      // The client rejoins by itself when a heartbeat is refused; if it has not, ask it to.
      this.rejoining = true;
      this.outSince = now;
      this.join().catch((e: Error) => this.opts.log.warn({ err: e.message }, 'rejoining the cluster group failed; trying again')).finally(() => { this.rejoining = false; });
    }
    if (this.isLeader && this.view && !this.view.alone && this.tablesKey() !== this.assignedKey) {
      // The leader saw tables come or go: a JoinGroup of the leader makes the group rebalance.
      this.assignedKey = this.tablesKey();
      this.join().catch((e: Error) => this.opts.log.warn({ err: e.message }, 'rejoin to reassign tables failed; trying again'));
    }
  }

  private joinedAt = 0;
  /** Since when this member has been out of the group (it noticed), and whether a rejoin is under way. */
  private outSince: number | undefined;
  private rejoining = false;
  private rebalancingSince: number | undefined;

  private tablesKey(): string {
    return this.opts.tables().map((t) => t.tableId).sort((a, b) => a - b).join(',');
  }

  private assign(members: Map<string, { memberId: string; metadata?: Buffer | string }>) {
    const claims: MemberClaim[] = [...members.values()].map((m) => {
      const meta = JSON.parse(Buffer.from(m.metadata ?? '{}').toString()) as { i?: string; owned?: number[] };
      return { memberId: m.memberId, instanceId: meta.i ?? m.memberId, owned: meta.owned ?? [] };
    });
    this.assignedKey = this.tablesKey();
    const assignment = assignTables(claims, this.opts.tables());
    const roster = claims.map((c) => ({ m: c.memberId, i: c.instanceId }));
    return claims.map((c) => {
      const blob: Blob = { v: 1, tables: assignment.get(c.memberId) ?? [], members: roster };
      return { memberId: c.memberId, assignments: new Map([[PROTOCOL, { topic: JSON.stringify(blob), partitions: [] }]]) };
    });
  }

  private joined(generation: number, isLeader: boolean, assignments: { topic: string }[]): void {
    if (this.stopped) return;
    this.isLeader = isLeader;
    this.joinedAt = Date.now();
    this.rebalancingSince = undefined;
    this.outSince = undefined;
    const blob = assignments.length > 0 ? JSON.parse(assignments[0]!.topic) as Blob : undefined;
    this.view = blob
      ? { generation, alone: false, tables: new Set(blob.tables), members: blob.members.map((x) => ({ memberId: x.m, instanceId: x.i })) }
      : { generation, alone: true, tables: new Set(), members: [{ memberId: this.consumer.memberId ?? '', instanceId: this.opts.instanceId }] };
    this.opts.log.info({ generation, leader: isLeader, alone: this.view.alone, tables: [...this.view.tables], members: this.view.members.map((m) => m.instanceId) }, 'cluster assignment');
    this.opts.onView(this.view);
  }

  current(): MembershipView | undefined { return this.view; }

  /** Leaves the group at once (after the tables were committed and released), so the rest rebalance now. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watch);
    await new Promise<void>((resolve) => this.consumer.leaveGroup(false, () => resolve()));
    await new Promise<void>((resolve) => this.consumer.close(false, () => resolve()));
  }
}
