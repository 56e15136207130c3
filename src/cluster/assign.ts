// Which instance of a hive-kafka cluster ingests which table. The instances form one Kafka consumer group;
// on every rebalance the group leader computes this and sends each member its tables. It is pure and
// ignores input order, so whichever member leads computes the same answer.
// Sticky: moving a table restarts its tasks, so a table stays with its owner unless that owner is over
// its count quota, and a rebalance moves few tables. Spread by table count first (every
// member gets the floor or ceil of the mean), then by partitions (the real work), steered mostly by
// choosing which tables move and where they land.

export interface MemberClaim {
  /** Kafka group member id (unique). */
  memberId: string;
  /** Human name of the instance; the sort key for determinism (ties broken by memberId). */
  instanceId: string;
  /** Table ids this member holds now. May name dropped tables, or tables another member also claims. */
  owned: readonly number[];
}

/** partitions below 1 count as 1. */
export interface TableWeight { tableId: number; partitions: number }

/** memberId -> its table ids, ascending. Every member appears, possibly with []. */
export type Assignment = Map<string, number[]>;

/** How far (as a fraction of the mean) a member's partition total may drift before tables are swapped. */
export const PARTITION_TOLERANCE = 0.1;

interface Member {
  id: string;
  instanceId: string;
  claims: Set<number>;
  /** Position in (instanceId, memberId) order: the last tie-break everywhere. */
  rank: number;
  held: Set<number>;
  partitions: number;
  /** How many tables it must end with: floor or ceil of the mean. */
  quota: number;
  /** Partitions it should end with: its quota times the mean partitions per table. */
  target: number;
}

export function assignTables(claims: readonly MemberClaim[], tables: readonly TableWeight[]): Assignment {
  const members = sortedMembers(claims);
  const assignment: Assignment = new Map();
  if (members.length === 0) return assignment;

  const weights = tableWeights(tables);
  const tableIds = [...weights.keys()].sort((a, b) => a - b);
  const origin = resolveClaims(members, weights);
  for (const [tableId, owner] of origin) take(owner, tableId, weights);

  setQuotas(members, tableIds.length, sum(weights.values()));
  const unowned = tableIds.filter((tableId) => !origin.has(tableId));
  for (const member of members) unowned.push(...shedOverQuota(member, weights));
  placeUnowned(unowned, members, weights);
  swapOutliers(members, weights, origin, tableIds.length);

  for (const member of members) assignment.set(member.id, [...member.held].sort((a, b) => a - b));
  return assignment;
}

/** Members in (instanceId, memberId) order; a memberId listed twice is merged rather than trusted twice. */
function sortedMembers(claims: readonly MemberClaim[]): Member[] {
  const byId = new Map<string, Member>();
  for (const claim of claims) {
    const known = byId.get(claim.memberId);
    if (known) {
      for (const tableId of claim.owned) known.claims.add(tableId);
      if (claim.instanceId < known.instanceId) known.instanceId = claim.instanceId;
      continue;
    }
    byId.set(claim.memberId, {
      id: claim.memberId, instanceId: claim.instanceId, claims: new Set(claim.owned),
      rank: 0, held: new Set(), partitions: 0, quota: 0, target: 0,
    });
  }
  const members = [...byId.values()].sort((a, b) => compareText(a.instanceId, b.instanceId) || compareText(a.id, b.id));
  members.forEach((member, rank) => { member.rank = rank; });
  return members;
}

/** tableId -> partitions; a table listed twice keeps its largest count, whatever the order. */
function tableWeights(tables: readonly TableWeight[]): Map<number, number> {
  const weights = new Map<number, number>();
  for (const { tableId, partitions } of tables) {
    const weight = Number.isFinite(partitions) && partitions > 1 ? partitions : 1;
    weights.set(tableId, Math.max(weights.get(tableId) ?? 1, weight));
  }
  return weights;
}

/**
 * The current owner of each existing table. A table claimed twice stays with the claimant holding fewer
 * tables (then the first in rank), so the void claim costs the least balance.
 */
function resolveClaims(members: Member[], weights: Map<number, number>): Map<number, Member> {
  const validClaims = new Map<Member, number>();
  for (const member of members) validClaims.set(member, [...member.claims].filter((t) => weights.has(t)).length);
  const prefer = (a: Member, b: Member) => validClaims.get(a)! - validClaims.get(b)! || a.rank - b.rank;

  const origin = new Map<number, Member>();
  for (const member of members) {
    for (const tableId of member.claims) {
      if (!weights.has(tableId)) continue;
      const rival = origin.get(tableId);
      if (!rival || prefer(member, rival) < 0) origin.set(tableId, member);
    }
  }
  return origin;
}

/** r = N mod M members get the ceil: those already holding more (fewer moves), then the lighter ones. */
function setQuotas(members: Member[], tableCount: number, totalPartitions: number): void {
  const floor = Math.floor(tableCount / members.length);
  const ceilSlots = tableCount % members.length;
  const byClaim = [...members].sort((a, b) => b.held.size - a.held.size || a.partitions - b.partitions || a.rank - b.rank);
  const partitionsPerTable = tableCount === 0 ? 0 : totalPartitions / tableCount;
  byClaim.forEach((member, i) => {
    member.quota = floor + (i < ceilSlots ? 1 : 0);
    member.target = member.quota * partitionsPerTable;
  });
}

/**
 * Takes the member down to its quota, choosing tables whose partitions add up to its excess over its
 * target, so both it and whoever receives them end near the mean.
 */
function shedOverQuota(member: Member, weights: Map<number, number>): number[] {
  const count = member.held.size - member.quota;
  if (count <= 0) return [];

  const bySize = new Map<number, number[]>(); // partitions -> table ids, ascending
  for (const tableId of [...member.held].sort((a, b) => a - b)) {
    const size = weights.get(tableId)!;
    const list = bySize.get(size);
    if (list) list.push(tableId); else bySize.set(size, [tableId]);
  }
  const sizes = [...bySize.keys()].sort((a, b) => a - b);
  const ascending = [...member.held].map((t) => weights.get(t)!).sort((a, b) => a - b);
  const least = sum(ascending.slice(0, count));
  const most = sum(ascending.slice(-count));
  let excess = Math.min(most, Math.max(least, member.partitions - member.target));

  const shed: number[] = [];
  for (let left = count; left > 0; left--) {
    const aim = excess / left;
    let best: number | undefined;
    for (const size of sizes) {
      if (bySize.get(size)!.length === 0) continue;
      if (best === undefined || Math.abs(size - aim) < Math.abs(best - aim)) best = size;
    }
    const tableId = bySize.get(best!)!.pop()!; // the newest table of that size moves, older ones stay put
    release(member, tableId, weights);
    shed.push(tableId);
    excess -= best!;
  }
  return shed;
}

/**
 * Largest table first, each to the member under its count quota that needs the most partitions per
 * free slot: it fills every quota exactly and lands the totals near each target.
 */
function placeUnowned(unowned: number[], members: Member[], weights: Map<number, number>): void {
  unowned.sort((a, b) => weights.get(b)! - weights.get(a)! || a - b);
  for (const tableId of unowned) {
    let best: Member | undefined;
    let bestNeed = 0;
    for (const member of members) {
      const freeSlots = member.quota - member.held.size;
      if (freeSlots <= 0) continue;
      const need = (member.target - member.partitions) / freeSlots;
      if (!best || need > bestNeed || (need === bestNeed && member.partitions < best.partitions)) {
        best = member;
        bestNeed = need;
      }
    }
    take(best!, tableId, weights);
  }
}

/**
 * Only when a member ends outside the tolerance: swap one table for one (counts stay put) between it and
 * another member, taking the swap that evens totals most per table moved off its current owner, until all
 * are inside or no swap helps. Each swap lowers the spread, and there are at most as many swaps as tables.
 * After a leave or a return from a balanced state of many tables, the steps above already land inside.
 */
function swapOutliers(members: Member[], weights: Map<number, number>, origin: Map<number, Member>, maxSwaps: number): void {
  const mean = sum(members.map((m) => m.partitions)) / members.length;
  const band = mean * PARTITION_TOLERANCE;
  const offMean = (m: Member) => m.partitions - mean;
  // Per member: partitions -> (current owner's rank, or -1) -> lowest table id. Tables alike in both keys
  // swap to the same effect, so one of each is enough.
  const cache = new Map<Member, Map<number, Map<number, number>>>();
  const bySizeAndOrigin = (member: Member) => {
    let sizes = cache.get(member);
    if (!sizes) {
      sizes = new Map();
      for (const tableId of [...member.held].sort((a, b) => a - b)) {
        const size = weights.get(tableId)!;
        const origins = sizes.get(size) ?? new Map<number, number>();
        const from = origin.get(tableId)?.rank ?? -1;
        if (!origins.has(from)) origins.set(from, tableId);
        sizes.set(size, origins);
      }
      cache.set(member, sizes);
    }
    return sizes;
  };
  // What `holder` could give `partner`: per size, a table of each kind of cost (at home, from the partner, other).
  const offers = (holder: Member, partner: Member) => {
    const list: number[] = [];
    for (const origins of bySizeAndOrigin(holder).values()) {
      const home = origins.get(holder.rank);
      const fromPartner = origins.get(partner.rank);
      if (home !== undefined) list.push(home);
      if (fromPartner !== undefined) list.push(fromPartner);
      for (const [from, tableId] of origins) {
        if (from !== holder.rank && from !== partner.rank) { list.push(tableId); break; }
      }
    }
    return list;
  };
  const moved = (tableId: number, owner: Member) => (origin.get(tableId) === owner ? 0 : 1);

  for (let swaps = 0; swaps < maxSwaps; swaps++) {
    const outliers = members
      .filter((m) => Math.abs(offMean(m)) > band)
      .sort((a, b) => Math.abs(offMean(b)) - Math.abs(offMean(a)) || a.rank - b.rank);
    let best: { outlier: Member; other: Member; a: number; b: number; score: number; cost: number } | undefined;
    for (const outlier of outliers) {
      for (const other of members) {
        // Only a member on the other side of the mean can take the outlier's excess or fill its gap.
        if (other === outlier || Math.sign(offMean(other)) === Math.sign(offMean(outlier))) continue;
        const gap = offMean(outlier) - offMean(other);
        const fromOther = offers(other, outlier);
        for (const a of offers(outlier, other)) {
          for (const b of fromOther) {
            const delta = weights.get(a)! - weights.get(b)!;
            // Change in the two members' summed squared distance from the mean.
            const change = 2 * delta * (delta - gap);
            if (change >= -1e-9) continue;
            const cost = moved(a, other) + moved(b, outlier) - moved(a, outlier) - moved(b, other);
            const score = change / Math.max(1, cost);
            if (!best || score < best.score || (score === best.score && cost < best.cost)) best = { outlier, other, a, b, score, cost };
          }
        }
      }
      if (best) break; // the worst outlier that can be helped goes first
    }
    if (!best) return;
    release(best.outlier, best.a, weights);
    release(best.other, best.b, weights);
    take(best.outlier, best.b, weights);
    take(best.other, best.a, weights);
    cache.delete(best.outlier);
    cache.delete(best.other);
  }
}

function take(member: Member, tableId: number, weights: Map<number, number>): void {
  member.held.add(tableId);
  member.partitions += weights.get(tableId)!;
}

function release(member: Member, tableId: number, weights: Map<number, number>): void {
  member.held.delete(tableId);
  member.partitions -= weights.get(tableId)!;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** Code-unit order, not locale order, so every leader sorts alike. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
