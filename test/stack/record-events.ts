// Records real CREATE_TABLE / ALTER_TABLE / DROP_TABLE notification events from the running stack
// into fixtures/events/, for the offline unit tests. Run: npm run fixtures:events
// (BEELINE_CMD overrides how beeline is started, as in the integration tests.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetastoreClient } from '../../src/metastore/client.ts';
import type { NotificationEvent } from '../../src/metastore/types.ts';
import { runBeeline } from '../integration/helpers/beeline.ts';

const metastoreUri = process.env.HIVE_KAFKA_HMS_URI ?? 'thrift://127.0.0.1:9083';
const table = 'fixture_plain';
const fixtures = {
  CREATE_TABLE: 'create_table.json',
  ALTER_TABLE: 'alter_table.json',
  DROP_TABLE: 'drop_table.json',
} as const;
const outputDir = join(import.meta.dirname, '../../fixtures/events');

const client = await MetastoreClient.connect(metastoreUri, { timeoutMs: 10_000 });
try {
  // A leftover from an interrupted run would make CREATE fail; its DROP event comes before `since`.
  await runBeeline(`DROP TABLE IF EXISTS default.${table}`);
  const since = await client.getCurrentEventId();

  await runBeeline(
    `CREATE TABLE default.${table} (id BIGINT, name STRING) PARTITIONED BY (dt STRING) TBLPROPERTIES ('a'='1')`,
  );
  await runBeeline(`ALTER TABLE default.${table} SET TBLPROPERTIES ('a'='2')`);
  await runBeeline(`DROP TABLE default.${table}`);

  const events = (await client.getNextEvents(since, 1000)).filter(
    (event) => event.dbName === 'default' && event.tableName === table,
  );
  mkdirSync(outputDir, { recursive: true });
  for (const [eventType, file] of Object.entries(fixtures)) {
    const matching = events.filter((event) => event.eventType === eventType);
    if (matching.length !== 1) {
      const seen = events.map((event) => `${event.eventId}:${event.eventType}`).join(', ');
      throw new Error(`expected one ${eventType} event for default.${table} after event ${since}, got: ${seen}`);
    }
    writeFileSync(join(outputDir, file), `${JSON.stringify(toFixture(matching[0]!), null, 2)}\n`);
    console.log(`wrote fixtures/events/${file} (event ${matching[0]!.eventId})`);
  }
} finally {
  client.close();
}

/** The event exactly as HMS sent it; only eventId becomes a string, since JSON has no bigint. */
function toFixture(event: NotificationEvent): Record<string, unknown> {
  return { ...event, eventId: event.eventId.toString() };
}
