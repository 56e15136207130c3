#!/usr/bin/env node
// hive-kafka: the service (serve) and the tools around it (status, history, validate).
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { pino } from 'pino';
import { loadConfig } from './config.ts';

const program = new Command('hive-kafka').description('Ingest Kafka topics into Hive tables declared with Hive DDL');

program.command('serve')
  .description('watch the metastore and run ingestion for every KafkaStreamStorageHandler table')
  .option('-c, --config <file>', 'JSON config file (env variables override it)')
  .action(async (opts: { config?: string }) => {
    const config = loadConfig(opts.config);
    // Loaded here so that status and validate start fast and never touch Kafka or the ledger.
    const { Service } = await import('../service.ts');
    const { serveHttp } = await import('./http.ts');
    const log = pino({ name: 'hive-kafka' });
    const { exitOnUnexpected } = await import('./last-resort.ts');
    exitOnUnexpected(log);
    const service = new Service(config, log);
    const server = await serveHttp(service, config.httpHost, config.httpPort);
    await service.start();
    log.info({ instance: config.instanceId, cluster: config.cluster?.name, metastore: config.metastoreUri, ledger: config.ledgerPath, kafkaClient: config.kafkaClient, workerThreads: config.workerThreads, http: `http://${config.httpHost}:${config.httpPort}` }, 'hive-kafka is serving');
    const shutdown = async (signal: string) => {
      log.info({ signal }, 'stopping: committing in-flight batches');
      server.close();
      await service.stop();
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
  });

program.command('status')
  .description('state, tasks and per-partition committed offset, log-end offset and lag')
  .argument('[table]', 'db.table (default: every table)')
  .option('--json', 'print JSON')
  .option('--url <url>', 'the service', `http://127.0.0.1:${process.env.HIVE_KAFKA_HTTP_PORT ?? 8787}`)
  .option('-c, --config <file>', 'JSON config file, for the ledger path when the service is down')
  .action(async (table: string | undefined, opts: { json?: boolean; url: string; config?: string }) => {
    const { formatStatus, statusView } = await import('../observe/status-view.ts');
    type View = Awaited<ReturnType<typeof statusView>>;
    let view: View;
    let reachable = true;
    try {
      const res = await fetch(`${opts.url}/status`);
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      view = await res.json() as View;
    } catch (e) {
      // The service is down: the ledger still knows each table's state, tasks and offsets.
      reachable = false;
      const config = loadConfig(opts.config);
      console.error(`hive-kafka status: the service at ${opts.url} cannot be reached (${(e as Error).message}); is "hive-kafka serve" running?`);
      const { existsSync } = await import('node:fs');
      if (!existsSync(config.ledgerPath)) process.exit(2);
      console.error(`showing the ledger at ${config.ledgerPath} instead (no log-end offsets)`);
      const { Ledger } = await import('../ledger/ledger.ts');
      const ledger = Ledger.open(config.ledgerPath, { migrate: false });
      try { view = await statusView(ledger); } finally { ledger.close(); }
    }
    const tables = view.tables.filter((t) => !table || t.table === table || t.table === `default.${table}`);
    if (table && tables.length === 0) { console.error(`hive-kafka status: no table ${table} is known to the service`); process.exit(1); }
    if (opts.json) console.log(JSON.stringify({ ...view, tables }, null, 2));
    else for (const line of formatStatus({ ...view, tables }, !table)) console.log(line);
    if (!reachable) process.exit(2);
  });

program.command('history')
  .description('every lifecycle event of a table (created, paused, altered, dropped, ...) from the ledger, with the service up or down')
  .argument('[table]', 'db.table or table (database default); default: every table')
  .option('--json', 'print JSON')
  .option('-c, --config <file>', 'JSON config file (env variables override it)')
  .action(async (table: string | undefined, opts: { json?: boolean; config?: string }) => {
    const { historyCommand } = await import('./history.ts');
    process.exitCode = historyCommand(loadConfig(opts.config).ledgerPath, table, opts, (l) => console.log(l), (l) => console.error(l));
  });

program.command('validate')
  .description('check Hive DDL (syntax with line and column, and TBLPROPERTIES) without running it')
  .argument('<file.sql>')
  .action(async (file: string) => {
    // Loaded here only: dt-sql-parser's Hive grammar costs ~190 MB of RSS, which `serve` never needs.
    const { validateSql } = await import('./validate.ts');
    const problems = validateSql(readFileSync(file, 'utf8'));
    for (const p of problems) console.error(`${file}:${p}`);
    process.exit(problems.length === 0 ? 0 : 1);
  });

program.command('sql')
  .description('check Hive SQL locally (syntax with line and column, TBLPROPERTIES), then run it through HiveServer2')
  .option('-e, --execute <sql>', 'SQL text')
  .option('-f, --file <file.sql>', 'SQL file')
  .option('-c, --config <file>', 'JSON config file (env variables override it)')
  .action(async (opts: { execute?: string; file?: string; config?: string }) => {
    if (!opts.execute === !opts.file) { console.error('hive-kafka sql: give exactly one of -e <sql> or -f <file.sql>'); process.exit(1); }
    const config = loadConfig(opts.config);
    const { runSql } = await import('./sql.ts');
    const sql = opts.execute ?? readFileSync(opts.file!, 'utf8');
    const problems = await runSql(sql, { url: config.hiveServer2Url, user: config.hiveServer2User, password: config.hiveServer2Password }, (l) => console.log(l));
    for (const p of problems) console.error(`${opts.file ?? '-e'}:${p}`);
    if (problems.length > 0) { console.error('nothing was executed'); process.exit(1); }
  });

/** db.table, or table in database default. */
const dbAndTable = (name: string): [string, string] => (name.includes('.') ? name.split('.', 2) as [string, string] : ['default', name]);

program.command('ledger')
  .description('ledger maintenance')
  .command('rebuild')
  .description('rebuild a table\'s ledger entry and next offsets from the metastore and the published file names (stop the service first)')
  .argument('<table>', 'db.table')
  .option('-c, --config <file>', 'JSON config file (env variables override it)')
  .action(async (name: string, opts: { config?: string }) => {
    const [db, table] = dbAndTable(name);
    const config = loadConfig(opts.config);
    const { Ledger } = await import('../ledger/ledger.ts');
    const { MetastoreClient } = await import('../metastore/client.ts');
    const { rebuildLedger } = await import('../ledger/rebuild.ts');
    const { fileSystems } = await import('../sink/fs.ts');
    const metastore = await MetastoreClient.connect(config.metastoreUri, { timeoutMs: config.metastoreTimeoutMs });
    const ledger = Ledger.open(config.ledgerPath);
    try {
      const resolver = fileSystems(config.hdfs);
      const hiveTable = await metastore.getTable(db, table);
      const partitions = hiveTable.partitionKeys.length > 0 ? await metastore.getPartitions(db, table) : [];
      const { nextOffsets, plannedCompactions } = await rebuildLedger(ledger, hiveTable, partitions, (location) => resolver.for(location, `${db}.${table}`));
      console.log(`${db}.${table}: next offsets rebuilt from published files`);
      for (const [p, o] of [...nextOffsets].sort(([a], [b]) => a - b)) console.log(`  partition ${p}: next offset ${o}`);
      // Their batches are invisible to Hive until the switch: the service's compactor finishes them.
      for (const dir of plannedCompactions) console.log(`  compaction planned and not switched, finished by the service: ${dir}`);
    } finally {
      ledger.close();
      metastore.close();
    }
  });

program.command('release')
  .description('let another hive-kafka service take a table: removes the holder file that names the service or cluster ingesting it (stop that one first)')
  .argument('<table>', 'db.table')
  .option('-c, --config <file>', 'JSON config file (env variables override it)')
  .action(async (name: string, opts: { config?: string }) => {
    const [db, table] = dbAndTable(name);
    const config = loadConfig(opts.config);
    const { MetastoreClient } = await import('../metastore/client.ts');
    const { fileSystems } = await import('../sink/fs.ts');
    const { readHolder, releaseTable } = await import('../cluster/holder.ts');
    const metastore = await MetastoreClient.connect(config.metastoreUri, { timeoutMs: config.metastoreTimeoutMs });
    try {
      const { tableLocation } = await import('../properties/stream.ts');
      // The holder file is in the table's own location, not in a compacted directory Hive may read from.
      const location = tableLocation((await metastore.getTable(db, table)).storage.location ?? '').location;
      const { fs, path } = fileSystems(config.hdfs).for(location, `${db}.${table}`);
      const holder = await readHolder(fs, path);
      if (!holder) { console.log(`${db}.${table}: no service holds it`); return; }
      await releaseTable(fs, path);
      console.log(`${db}.${table}: released from ${holder.holder} (instance ${holder.by}, since ${holder.since}); the next service to try takes it`);
    } finally {
      metastore.close();
    }
  });

program.parseAsync().catch((e: Error) => { console.error(`hive-kafka: ${e.message}`); process.exit(1); });
