// A Kafka Fetch whose partitions keep their records as bytes, for record-batches.ts to decode.
//
// @platformatic/kafka's Consumer.fetch() parses every record of a response into objects before it
// returns (a third of a worker thread's CPU at full speed). The request here is still the library's
// (its createRequest for the Fetch version the broker and the library share, v13 to v17, the ones
// that name topics by id), sent on the library's ConnectionPool; only the response is read here, and
// a partition's records are handed on as one Buffer.
import { ConnectionPool, ResponseError, createAPI, fetchV13, fetchV14, fetchV15, fetchV16, fetchV17, type Broker, type Reader } from '@platformatic/kafka';
import type { AbortedTransaction } from './record-batches.ts';

type CreateRequest = typeof fetchV17.createRequest;
const REQUESTS: Record<number, CreateRequest> = { 13: fetchV13.createRequest, 14: fetchV14.createRequest, 15: fetchV15.createRequest, 16: fetchV16.createRequest, 17: fetchV17.createRequest };
const FETCH_API_KEY = 1;
/** Session id 0 with epoch -1: a full fetch that opens no fetch session on the broker (each request names its partitions). */
const SESSIONLESS = -1;

export type FetchRequestTopic = fetchV17.FetchRequestTopic;

export interface RawFetchPartition {
  partitionIndex: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  abortedTransactions: AbortedTransaction[];
  preferredReadReplica: number;
  /** The partition's record batches as the broker sent them; undefined when it sent none. */
  records: Buffer | undefined;
}

export interface RawFetchResponse {
  throttleTimeMs: number;
  errorCode: number;
  responses: { topicId: string; partitions: RawFetchPartition[] }[];
}

/** Fetch response v13 to v17 (one layout). Partition error codes stay on their partitions; a request-level one fails the call. */
export function parseFetchResponse(_correlationId: number, apiKey: number, apiVersion: number, r: Reader): RawFetchResponse {
  const throttleTimeMs = r.readInt32();
  const errorCode = r.readInt16();
  r.readInt32(); // session id: sessions are not used
  const responses = r.readArray((t) => ({
    topicId: t.readUUID(),
    partitions: t.readArray((p): RawFetchPartition => {
      const partition: RawFetchPartition = {
        partitionIndex: p.readInt32(),
        errorCode: p.readInt16(),
        highWatermark: p.readInt64(),
        lastStableOffset: p.readInt64(),
        logStartOffset: p.readInt64(),
        abortedTransactions: p.readArray((a) => ({ producerId: a.readInt64(), firstOffset: a.readInt64() })),
        preferredReadReplica: p.readInt32(),
        records: undefined,
      };
      const size = p.readUnsignedVarInt() - 1; // COMPACT_RECORDS: length + 1, 0 for null
      if (size > 0) {
        // One Buffer: a view when the response arrived in one piece, else a copy of this partition's bytes.
        partition.records = p.buffer.slice(p.position, p.position + size);
        p.skip(size);
      }
      return partition;
    }),
  }));
  const response = { throttleTimeMs, errorCode, responses };
  if (errorCode !== 0) throw new ResponseError(apiKey, apiVersion, { '': [errorCode, null] }, response);
  return response;
}

export interface FetchArgs { maxWaitMs: number; minBytes: number; maxBytes: number; isolationLevel: number; topics: FetchRequestTopic[] }

/** Sends Fetch requests to brokers by address, at the highest version both sides speak. */
export class RawFetcher {
  private readonly pool: ConnectionPool;
  private api: Promise<ReturnType<typeof createAPI>> | undefined;

  constructor(clientId: string, connectionOptions: ConstructorParameters<typeof ConnectionPool>[1], private readonly brokerVersions: () => Promise<{ minVersion: number; maxVersion: number } | undefined>) {
    this.pool = new ConnectionPool(clientId, connectionOptions);
  }

  async fetch(broker: Broker, a: FetchArgs): Promise<RawFetchResponse> {
    const api = await (this.api ??= this.negotiate().catch((e: unknown) => { this.api = undefined; throw e; }));
    const connection = await this.pool.get(broker);
    return (await api.async(connection, a.maxWaitMs, a.minBytes, a.maxBytes, a.isolationLevel, 0, SESSIONLESS, a.topics, [], '')) as RawFetchResponse;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async negotiate(): Promise<ReturnType<typeof createAPI>> {
    const range = await this.brokerVersions();
    const version = Math.min(range?.maxVersion ?? -1, 17);
    if (version >= Math.max(range?.minVersion ?? 0, 13)) return createAPI(FETCH_API_KEY, version, REQUESTS[version]!, parseFetchResponse);
    throw new Error(`the Kafka broker speaks Fetch ${range ? `v${range.minVersion} to v${range.maxVersion}` : 'in no version'}; hive-kafka reads with Fetch v13 to v17 (Kafka 3.1 or later)`);
  }
}
