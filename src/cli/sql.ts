// `hive-kafka sql`: the checks of `validate` first (nothing runs if any fails), then each statement
// through HiveServer2 with hive-driver. Query results print as tab-separated rows.
import hive from 'hive-driver';
import { HiveSQL } from 'dt-sql-parser';
import { validateSql } from './validate.ts';

export interface HiveServer2Target { url: string; user: string; password: string | undefined }

function hostPort(url: string): { host: string; port: number } {
  const m = /^jdbc:hive2:\/\/([^:/]+):(\d+)/.exec(url);
  if (!m) throw new Error(`hiveServer2Url ${url}: expected jdbc:hive2://host:port/db`);
  return { host: m[1]!, port: Number(m[2]) };
}

export interface HiveSession {
  /** Runs one statement and returns its rows (none for DDL). */
  execute(statement: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** One HiveServer2 session over hive-driver, for many statements. */
export async function openHiveSession(target: HiveServer2Target): Promise<HiveSession> {
  const { TCLIService, TCLIService_types } = hive.thrift;
  const client = new hive.HiveClient(TCLIService, TCLIService_types);
  const utils = new hive.HiveUtils(TCLIService_types);
  try {
    await client.connect(hostPort(target.url), new hive.connections.TcpConnection(),
      new hive.auth.PlainTcpAuthentication(target.password === undefined ? { username: target.user } : { username: target.user, password: target.password }));
  } catch (e) {
    throw new Error(`HiveServer2 at ${target.url} cannot be reached: ${(e as Error).message}`);
  }
  let session;
  try {
    session = await client.openSession({ client_protocol: TCLIService_types.TProtocolVersion.HIVE_CLI_SERVICE_PROTOCOL_V10 });
  } catch (e) {
    await client.close();
    throw e;
  }
  const opened = session;
  return {
    async execute(statement) {
      const op = await opened.executeStatement(statement, { runAsync: true });
      try {
        await utils.waitUntilReady(op, false, () => {});
        await utils.fetchAll(op);
        return (utils.getResult(op).getValue() as Record<string, unknown>[] | null) ?? [];
      } finally {
        await op.close();
      }
    },
    async close() {
      try { await opened.close(); } finally { await client.close(); }
    },
  };
}

/** Returns the problems found before execution (empty when everything ran). */
export async function runSql(sql: string, target: HiveServer2Target, print: (line: string) => void): Promise<string[]> {
  const problems = validateSql(sql);
  if (problems.length > 0) return problems;
  const statements = (new HiveSQL().splitSQLByStatement(sql) ?? []).map((s) => s.text.trim().replace(/;$/, '')).filter(Boolean);
  const session = await openHiveSession(target);
  try {
    for (const statement of statements) {
      for (const row of await session.execute(statement)) print(Object.values(row).map((v) => (v === null ? 'NULL' : String(v))).join('\t'));
    }
  } finally {
    await session.close();
  }
  return [];
}
