// DuckDB as an independent reader of the files we publish. test/run.sh installs it outside
// package.json (see there) and names the module in HIVE_KAFKA_DUCKDB_MODULE.
import { pathToFileURL } from 'node:url';

export async function duckdbQuery(sql: string): Promise<unknown[][]> {
  const module = process.env.HIVE_KAFKA_DUCKDB_MODULE;
  if (!module) throw new Error('DuckDB is missing: run the tests with npm test (it installs DuckDB), or set HIVE_KAFKA_DUCKDB_MODULE to @duckdb/node-api/lib/index.js');
  const { DuckDBInstance } = await import(pathToFileURL(module).href) as {
    DuckDBInstance: { create(): Promise<{ connect(): Promise<{ runAndReadAll(sql: string): Promise<{ getRows(): unknown[][] }>; closeSync?(): void }> }> };
  };
  const connection = await (await DuckDBInstance.create()).connect();
  const rows = (await connection.runAndReadAll(sql)).getRows();
  connection.closeSync?.();
  return rows;
}
