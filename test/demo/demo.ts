// The quickstart, narrated: seed 000's CREATE TABLE through real beeline starts ingestion of a
// pageviews topic; then pause, resume and DROP, each shown through Hive and `hive-kafka status`.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { runBeeline, runBeelineFile } from '../integration/helpers/beeline.ts';
import { eventually, startService } from '../integration/helpers/service.ts';

const run = promisify(execFile);
const brokers = ['127.0.0.1:9092'];
const topic = 'pageviews';
const table = 'default.ddl_valid_seed_000';
const kafka = new Kafka({ brokers, clientId: 'hive-kafka-demo', logLevel: logLevel.NOTHING });
const countries = ['FR', 'DE', 'US', 'JP'];
let nextUser = 0;

const say = (text: string) => console.log(`\n== ${text}`);
const show = (text: string) => console.log(text.trimEnd().split('\n').map((l) => `   ${l}`).join('\n'));

async function producePageviews(n: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: n }, () => {
      const userid = nextUser++;
      return { value: JSON.stringify({ userid, page_url: `/article/${userid % 50}`, dt: `2026-11-2${userid % 2}`, country: countries[userid % 4] }) };
    }),
  });
  await producer.disconnect();
}

async function status(url: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['bin/hive-kafka.mjs', 'status', table, '--url', url]);
  return stdout;
}

const rowCount = async () => Number((await runBeeline(`SELECT count(*) FROM ${table}`)).trim());

async function main(): Promise<void> {
  say(`topic ${topic}: created afresh with 4 partitions`);
  const admin = kafka.admin();
  await admin.connect();
  if ((await admin.listTopics()).includes(topic)) {
    await admin.deleteTopics({ topics: [topic] });
    await eventually('the old topic to be gone', async () => ((await admin.listTopics()).includes(topic) ? undefined : true), 30_000, 500);
  }
  await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();

  say('starting the service: hive-kafka serve');
  // With its system tables (the test helper turns them off unless asked), in the default database hive_kafka.
  const service = await startService({ tables: '^default\\.ddl_valid_seed_000$', env: { HIVE_KAFKA_SYSTEM_TABLES: 'hive_kafka' } });
  try {
    await runBeeline(`DROP TABLE IF EXISTS ${table}`);
    say('beeline: seed 000\'s CREATE TABLE (fixtures/ddl/valid/seed_000.sql)');
    show(readFileSync('fixtures/ddl/valid/seed_000.sql', 'utf8'));
    await runBeelineFile('fixtures/ddl/valid/seed_000.sql');

    say('the seed asks for 15-minute batches; the demo reconfigures the running table to 2 s');
    await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.max.batch.period.ms'='2000')`);

    say('producing 1000 pageviews, each with dt and country');
    await producePageviews(1000);
    await eventually('1000 rows in Hive', async () => ((await rowCount()) === 1000 ? true : undefined), 120_000, 2000);
    show(await status(service.url));
    say(`beeline: SELECT dt, country, count(*) FROM ${table} GROUP BY dt, country`);
    show(await runBeeline(`SELECT dt, country, count(*) FROM ${table} GROUP BY dt, country ORDER BY dt, country`));

    say("pause: ALTER TABLE ... SET TBLPROPERTIES ('kafka.ingestion.paused'='true'), then 500 more pageviews");
    await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.ingestion.paused'='true')`);
    // The service hears of the ALTER up to a poll later: produce once the tasks have committed and stopped.
    await eventually('the table paused', async () => (/PAUSED {2}tasks: none/.test(await status(service.url)) ? true : undefined), 30_000, 300);
    await producePageviews(500);
    await new Promise((r) => setTimeout(r, 6000));
    show(`rows in Hive while paused: ${await rowCount()} (unchanged)`);
    show(await status(service.url));

    say("resume: 'kafka.ingestion.paused'='false'");
    await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.ingestion.paused'='false')`);
    await eventually('1500 rows in Hive', async () => ((await rowCount()) === 1500 ? true : undefined), 120_000, 2000);
    show(`rows in Hive after resume: ${await rowCount()}; distinct users: ${(await runBeeline(`SELECT count(DISTINCT userid) FROM ${table}`)).trim()}`);

    say("beeline: the service's own Hive tables, hive_kafka.streams and hive_kafka.history (rewritten every 10 s)");
    const name = table.split('.').pop();
    show(await eventually('the streams row after resume', async () => {
      const row = await runBeeline(`SELECT table_name, state, tasks, restarts, lag_records, lag_seconds, records_per_second FROM hive_kafka.streams WHERE table_name = '${name}'`);
      return /\trunning\t4\t0\t0\t0\.0\t/.test(row) ? row : undefined;
    }, 60_000, 2000));
    show(await runBeeline(`SELECT at, event FROM hive_kafka.history WHERE table_name = '${name}' ORDER BY event_id`));

    say(`DROP TABLE ${table}`);
    await runBeeline(`DROP TABLE ${table}`);
    await eventually('no task left', async () => ((await status(service.url)).includes('tasks: none') ? true : undefined), 10_000, 200);
    show(await status(service.url));
    say('done: the service stops now; the stack is left as it was found');
  } finally {
    await service.stop();
  }
}

main().catch((e: Error) => { console.error(`demo failed: ${e.message}`); process.exit(1); });
