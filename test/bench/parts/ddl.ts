// DDL reaction, each a median over `tries`: CREATE -> the task's first record consumed ('task
// consuming' in the service log), ALTER pause -> the last publish (the batch a pausing task commits),
// DROP -> no task left (/status). A steady producer keeps records flowing the whole time. Each
// figure starts before the statement goes to HiveServer2, so it includes Hive's own DDL time, which
// is reported on its own too.
import { SendLog, benchName, benchService, committedBatches, createTableSql, createTopics, eventually, hive, median, paceProducer, producer, sleep, waitForLog } from '../lib.ts';

export interface DdlReaction {
  tries: number; create_ms: number; pause_ms: number; resume_ms: number; drop_ms: number;
  hive_statement_ms: { create: number; alter: number; drop: number };
  samples: { create: number[]; pause: number[]; resume: number[]; drop: number[] };
  target_ms: number;
}

export async function ddlReaction(tries: number): Promise<DdlReaction> {
  const base = benchName('ddl');
  const topic = base;
  await createTopics([{ topic, partitions: 4 }]);
  const service = await benchService(`^default\\.${base}_\\d+$`);
  const session = await hive();
  const p = await producer();
  const pace = paceProducer(p, [{ topic, partitions: 4 }], 1000, new SendLog());
  const samples = { create: [] as number[], pause: [] as number[], resume: [] as number[], drop: [] as number[] };
  const statement = { create: [] as number[], alter: [] as number[], drop: [] as number[] };
  const timed = async (kind: keyof typeof statement, sql: string) => {
    const t0 = Date.now();
    await session.execute(sql);
    statement[kind].push(Date.now() - t0);
    return t0;
  };
  const tableView = async (table: string) => (await service.status()).tables.find((t) => t.table === `default.${table}`);
  try {
    const tables = Array.from({ length: tries }, (_, i) => `${base}_${i}`);
    await sleep(1000); // records waiting in the topic before the first CREATE
    for (const table of tables) {
      const t0 = await timed('create', createTableSql(table, topic, {}));
      samples.create.push((await waitForLog(service, 'task consuming', table, t0)) - t0);
    }
    await sleep(2000); // every task holds a buffer (the default period is 60 s), so a pause has a batch to publish
    for (const table of tables) {
      const t0 = await timed('alter', `ALTER TABLE ${table} SET TBLPROPERTIES ("kafka.ingestion.paused"="true")`);
      const stoppedAt = await eventually(`${table} to pause`, async () => {
        const v = await tableView(table);
        return v?.state === 'paused' && v.tasks.length === 0 ? Date.now() : undefined;
      }, 60_000, 20);
      const lastPublish = Math.max(...committedBatches(service.ledgerPath).filter((b) => b.tableName === table).map((b) => b.committedAt));
      if (!(lastPublish >= t0)) throw new Error(`${table} published nothing when paused (last publish ${lastPublish}, pause at ${t0})`);
      if (lastPublish > stoppedAt) throw new Error(`${table} published at ${lastPublish}, after its tasks were reported stopped at ${stoppedAt}`);
      samples.pause.push(lastPublish - t0);
    }
    for (const table of tables) {
      const t0 = await timed('alter', `ALTER TABLE ${table} SET TBLPROPERTIES ("kafka.ingestion.paused"="false")`);
      samples.resume.push((await waitForLog(service, 'task consuming', table, t0)) - t0);
    }
    for (const table of tables) {
      const t0 = await timed('drop', `DROP TABLE ${table}`);
      const gone = await eventually(`${table} to have no task`, async () => {
        const v = await tableView(table);
        return v?.state === 'dropped' && v.tasks.length === 0 ? Date.now() : undefined;
      }, 60_000, 20);
      samples.drop.push(gone - t0);
    }
    return {
      tries, create_ms: median(samples.create), pause_ms: median(samples.pause), resume_ms: median(samples.resume), drop_ms: median(samples.drop),
      hive_statement_ms: { create: median(statement.create), alter: median(statement.alter), drop: median(statement.drop) },
      samples, target_ms: 2000,
    };
  } finally {
    await pace.stop();
    await p.disconnect();
    await session.close();
    await service.stop();
  }
}
