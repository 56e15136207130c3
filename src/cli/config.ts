// Service configuration: a JSON file, then environment variables, then defaults (README, "Configuration").
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { defaultHdfsSettings } from '../sink/fs.ts';
import { KAFKA_CLIENTS } from '../task/source.ts';

/** WebHDFS host:port; a NameNode's HTTP address, not its RPC one (that is the location's authority). */
const webHdfsAddress = z.string().regex(/^([^\s:/[\]]+|\[[0-9a-fA-F:.]+\]):\d{1,5}$/, 'expected a WebHDFS host:port, such as "namenode1:9870"');

const ConfigSchema = z.object({
  metastoreUri: z.string().regex(/^thrift:\/\/[^:/]+:\d+$/, 'expected thrift://host:port').default('thrift://127.0.0.1:9083'),
  ledgerPath: z.string().min(1).default('./hive-kafka-ledger.db'),
  httpHost: z.string().default('127.0.0.1'),
  httpPort: z.coerce.number().int().min(0).max(65535).default(8787),
  metastoreTimeoutMs: z.coerce.number().int().min(100).default(30_000),
  pollIntervalMs: z.coerce.number().int().min(10).default(500),
  /** Regular expression on db.table: the tables this service manages (one service per table!). */
  tableFilter: z.string().default('.*').refine((v) => { try { new RegExp(v); return true; } catch { return false; } }, 'not a valid regular expression'),
  /** A task without a heartbeat for this long is killed and replaced. */
  hungTaskMs: z.coerce.number().int().min(1000).default(30_000),
  hiveServer2Url: z.string().default('jdbc:hive2://127.0.0.1:10000/default'),
  hiveServer2User: z.string().default(process.env.USER ?? 'hive'),
  /** Unset: hive-driver sends 'anonymous', which HiveServer2 with authentication NONE accepts. */
  hiveServer2Password: z.string().optional(),
  /** Credentials profiles named by kafka.credentials.profile; secrets stay here, not in TBLPROPERTIES. */
  credentialsProfiles: z.record(z.string(), z.record(z.string(), z.string())).default({}),
  /** Schema Registries named by kafka.schema.registry.profile: the Confluent-compatible base URL and, if any, basic-auth credentials. */
  schemaRegistries: z.record(z.string().regex(/^[a-zA-Z0-9._-]+$/), z.object({
    url: z.string().regex(/^https?:\/\/\S+$/, 'an http:// or https:// URL'),
    username: z.string().optional(),
    password: z.string().optional(),
  }).strict()).default({}),
  /** How tasks read Kafka: 'shared' (one fetch loop per worker thread and Kafka cluster), or a client per task ('kafkajs', 'platformatic'). */
  kafkaClient: z.enum(KAFKA_CLIENTS).default('shared'),
  /** Worker threads the tasks share (many tasks to a thread); default: the cores this process may use. */
  workerThreads: z.coerce.number().int().min(1).max(64).default(() => availableParallelism()),
  /**
   * hdfs: locations: each authority (NameNode RPC host:port, or HA name service) -> its NameNodes'
   * WebHDFS addresses, in failover order; given, it replaces the default (the stack's NameNode).
   */
  hdfs: z.object({
    nameServices: z.record(z.string().min(1), z.array(webHdfsAddress).min(1)).default(() => ({ ...defaultHdfsSettings.nameServices })),
    /** user.name for WebHDFS simple authentication; default: the OS user the service runs as. */
    user: z.string().min(1).optional(),
  }).strict().default(() => ({ nameServices: { ...defaultHdfsSettings.nameServices } })),
  /**
   * This service's name in holder files, cluster status and the state log. Default: host name and
   * ledger path, which stay the same across restarts of one service.
   */
  instanceId: z.string().regex(/^[^\s]+$/, 'no spaces').optional(),
  /** The Hive tables users query to watch the service from beeline (README, "Operating it from Hive"). */
  systemTables: z.object({
    /** false: no system tables (dead letters are still written beside each table). */
    enabled: z.boolean().default(true),
    database: z.string().regex(/^[A-Za-z0-9_]+$/, 'a Hive database name: letters, digits and "_"').default('hive_kafka'),
    /** Where the database is created when it does not exist; default: the metastore's warehouse. */
    location: z.string().regex(/^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/, 'a location URI such as hdfs://namenode:8020/warehouse/hive_kafka.db').optional(),
    /** How often streams, partitions and history are rewritten: the most a row lags behind. */
    periodMs: z.coerce.number().int().min(500).default(10_000),
    /** How long a replaced snapshot stays readable, for queries planned on it. */
    graceMs: z.coerce.number().int().min(0).default(60_000),
    /** Another instance's streams and partitions rows this old are dropped: it stopped publishing (left the cluster, renamed). */
    staleMs: z.coerce.number().int().min(1000).default(60_000),
  }).strict().refine((s) => s.staleMs >= 3 * s.periodMs, { message: 'staleMs must be at least 3 x periodMs, or live instances would drop each other\'s rows', path: ['staleMs'] })
    .default(() => ({ enabled: true, database: 'hive_kafka', periodMs: 10_000, graceMs: 60_000, staleMs: 60_000 })),
  /** Small-file compaction (README, "Compaction"); what and when per table is in its TBLPROPERTIES. */
  compaction: z.object({
    /** How often the compactor looks at every table this instance runs. */
    periodMs: z.coerce.number().int().min(100).default(30_000),
    /** How long a partition's replaced directory stays, for queries planned on it: longer than the longest query that reads these tables. */
    graceMs: z.coerce.number().int().min(0).default(3_600_000),
  }).strict().default(() => ({ periodMs: 30_000, graceMs: 3_600_000 })),
  /** Instances with the same cluster name share the tables (README, "Several instances"); absent: this service runs every table it can hold. */
  cluster: z.object({
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" (it names a Kafka group and topic)'),
    /** The Kafka cluster the group and the state log live on; the tables' own brokers may differ. */
    bootstrap: z.array(z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port')).min(1),
    /** A member silent this long leaves the group and its tables move (Kafka's group.min.session.timeout.ms is 6000 by default). */
    sessionTimeoutMs: z.coerce.number().int().min(1000).default(10_000),
  }).strict().optional(),
}).strict().transform((c) => ({ ...c, instanceId: c.instanceId ?? `${hostname()}:${resolve(c.ledgerPath)}` }));

export type Config = z.infer<typeof ConfigSchema>;

const ENV: Record<string, keyof Config> = {
  HIVE_KAFKA_HMS_URI: 'metastoreUri',
  HIVE_KAFKA_LEDGER: 'ledgerPath',
  HIVE_KAFKA_HTTP_HOST: 'httpHost',
  HIVE_KAFKA_HTTP_PORT: 'httpPort',
  HIVE_KAFKA_HS2_URL: 'hiveServer2Url',
  HIVE_KAFKA_HUNG_TASK_MS: 'hungTaskMs',
  HIVE_KAFKA_TABLE_FILTER: 'tableFilter',
  HIVE_KAFKA_HS2_USER: 'hiveServer2User',
  HIVE_KAFKA_HS2_PASSWORD: 'hiveServer2Password',
  HIVE_KAFKA_CLIENT: 'kafkaClient',
  HIVE_KAFKA_WORKER_THREADS: 'workerThreads',
  HIVE_KAFKA_INSTANCE_ID: 'instanceId',
};

export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  let fromFile: unknown = {};
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`config file ${file}: ${(e as Error).message}`);
    }
  }
  const merged: Record<string, unknown> = { ...(fromFile as object) };
  for (const [name, key] of Object.entries(ENV)) if (env[name] !== undefined) merged[key] = env[name];
  if (env.HIVE_KAFKA_CLUSTER !== undefined) {
    // HIVE_KAFKA_CLUSTER=name, HIVE_KAFKA_CLUSTER_BOOTSTRAP=host:port[,host:port]
    merged.cluster = { ...(merged.cluster as object | undefined), name: env.HIVE_KAFKA_CLUSTER,
      ...(env.HIVE_KAFKA_CLUSTER_BOOTSTRAP ? { bootstrap: env.HIVE_KAFKA_CLUSTER_BOOTSTRAP.split(',') } : {}),
      ...(env.HIVE_KAFKA_CLUSTER_SESSION_TIMEOUT_MS ? { sessionTimeoutMs: env.HIVE_KAFKA_CLUSTER_SESSION_TIMEOUT_MS } : {}) };
  }
  if (env.HIVE_KAFKA_SYSTEM_TABLES !== undefined) {
    // HIVE_KAFKA_SYSTEM_TABLES=false turns them off; any other value names their database.
    const v = env.HIVE_KAFKA_SYSTEM_TABLES;
    merged.systemTables = { ...(merged.systemTables as object | undefined), ...(v === 'false' ? { enabled: false } : { enabled: true, database: v }) };
  }
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new Error(`invalid configuration${file ? ` in ${file}` : ''}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
