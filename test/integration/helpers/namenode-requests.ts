// Counts this process's requests to WebHDFS NameNodes by op. WebHdfsClient sends every NameNode
// request through the global fetch (DataNode legs go through node:http and are not counted).
export interface NameNodeRequests {
  /** Requests per WebHDFS op since the last clear(), sorted by op. */
  byOp(): Record<string, number>;
  clear(): void;
  /** Puts the real fetch back. */
  stop(): void;
}

export function countNameNodeRequests(): NameNodeRequests {
  const counts = new Map<string, number>();
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const op = new URL(input instanceof Request ? input.url : String(input)).searchParams.get('op') ?? '(none)';
    counts.set(op, (counts.get(op) ?? 0) + 1);
    return realFetch(input, init);
  }) as typeof fetch;
  return {
    byOp: () => Object.fromEntries([...counts].sort()),
    clear: () => counts.clear(),
    stop: () => { globalThis.fetch = realFetch; },
  };
}
