// One metastore connection that reconnects: a retriable failure (network, timeout) closes it and
// the call is tried again on a fresh one, with backoff, a few times. Callers side by side (the tasks
// of a worker thread) share one connection and wait for the same connect: each opening its own, the
// last one kept, left the others open.
import { MetastoreClient } from './client.ts';

type Connect = () => Promise<MetastoreClient>;
const isRetriable = (e: unknown) => (e as { retriable?: boolean }).retriable === true;

export class MetastoreSession {
  private client: Promise<MetastoreClient> | undefined;
  private readonly connect: Connect;

  constructor(uri: string, timeoutMs: number, private readonly attempts = 5, connect?: Connect) {
    this.connect = connect ?? (() => MetastoreClient.connect(uri, { timeoutMs }));
  }

  async call<T>(fn: (c: MetastoreClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const connecting = (this.client ??= this.connect());
      let client: MetastoreClient;
      try {
        client = await connecting;
      } catch (e) {
        if (this.client === connecting) this.client = undefined; // a failed connect is not kept
        if (!isRetriable(e) || attempt >= this.attempts) throw e;
        await backoff(attempt);
        continue;
      }
      try {
        return await fn(client);
      } catch (e) {
        if (!isRetriable(e)) throw e;
        // Only the connection this call used: another caller may be on a fresh one already.
        if (this.client === connecting) { this.client = undefined; client.close(); }
        if (attempt >= this.attempts) throw e;
        await backoff(attempt);
      }
    }
  }

  close(): void {
    const connecting = this.client;
    this.client = undefined;
    void connecting?.then((c) => c.close(), () => undefined);
  }
}

const backoff = (attempt: number) => new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
