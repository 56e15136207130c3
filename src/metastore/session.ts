// One metastore connection that reconnects: a retriable failure (network, timeout) closes it and
// the call is tried again on a fresh one, with backoff, a few times.
import { MetastoreClient } from './client.ts';

export class MetastoreSession {
  private client: MetastoreClient | undefined;

  constructor(private readonly uri: string, private readonly timeoutMs: number, private readonly attempts = 5) {}

  async call<T>(fn: (c: MetastoreClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.client ??= await MetastoreClient.connect(this.uri, { timeoutMs: this.timeoutMs });
        return await fn(this.client);
      } catch (e) {
        if (!(e as { retriable?: boolean }).retriable || attempt >= this.attempts) throw e;
        this.close();
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}
