// The TBLPROPERTIES contract as data: one entry per property, with its aliases, default, the rule a
// value must pass and what an ALTER of it does on a running table. The Java meta hook in hooks/ reads
// the JSON export of this list (npm run gen:rules), so Hive and the service refuse the same DDL.

export type Rule =
  | { kind: 'topic' }
  | { kind: 'brokers' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'ratio' }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'startOffset' }
  | { kind: 'name' }
  | { kind: 'url' }
  | { kind: 'char' }   // exactly one character, taken as written (not trimmed: a space or a tab is one)
  | { kind: 'text' }   // any text; a format or mapping checks it further when the table starts
  | { kind: 'select' }; // a SQL SELECT; parsed against the table's columns when the table starts

/** What an ALTER of the property does to a running table. */
export type OnAlter =
  | 'batch-boundary' // applied when the in-flight batch has been committed
  | 'replan'         // tasks are re-planned at a batch boundary
  | 'pause-resume'   // commit the in-flight batch, then stop or start consuming
  | 'new-table-only' // ignored once the table has committed offsets
  | 'compactor'      // read by the compactor at its next round; running tasks go on undisturbed
  | 'refused';       // changing it is an error: drop and re-create the table

export interface PropertyDef {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly required: boolean;
  /** Default as the string a user would write; undefined only for required properties. */
  readonly default?: string;
  readonly rule: Rule;
  readonly onAlter: OnAlter;
  readonly doc: string;
}

export const PROPERTIES: readonly PropertyDef[] = [
  { name: 'kafka.topic', aliases: [], required: true, rule: { kind: 'topic' }, onAlter: 'refused',
    doc: 'Source topic.' },
  { name: 'kafka.broker.list', aliases: ['kafka.bootstrap.servers'], required: true, rule: { kind: 'brokers' },
    onAlter: 'batch-boundary', doc: 'Bootstrap servers, host:port[,host:port...]. Other brokers of the same Kafka cluster only: brokers of another cluster (another cluster id) fail the table at its restart, since its offsets are positions in the first one.' },
  { name: 'kafka.batch.maxSize', aliases: [], required: false, default: '100000', rule: { kind: 'int', min: 1, max: 10_000_000 },
    onAlter: 'batch-boundary', doc: 'Records per committed batch; a batch is flushed when it reaches this size.' },
  { name: 'kafka.max.batch.period.ms', aliases: [], required: false, default: '60000', rule: { kind: 'int', min: 100, max: 86_400_000 },
    onAlter: 'batch-boundary', doc: 'Longest a consumed record waits before it is committed (a wall-clock timer, also on idle partitions).' },
  { name: 'kafka.max.num.tasks', aliases: [], required: false, default: '1', rule: { kind: 'int', min: 1, max: 1024 },
    onAlter: 'replan', doc: 'Upper bound on parallel tasks; tasks = min(topic partitions, this).' },
  { name: 'kafka.schema.compatibility', aliases: [], required: false, default: 'NONE', rule: { kind: 'enum', values: ['NONE', 'BACKWARD', 'FORWARD', 'FULL'] },
    onAlter: 'batch-boundary', doc: 'Schema evolution rule for column changes, as in Kafka Connect\'s HDFS sink.' },
  { name: 'kafka.read_uncommited', aliases: ['kafka.read_uncommitted'], required: false, default: 'false', rule: { kind: 'bool' },
    onAlter: 'batch-boundary', doc: 'Also ingest records of aborted and open transactions.' },
  { name: 'kafka.ingestion.paused', aliases: [], required: false, default: 'false', rule: { kind: 'bool' },
    onAlter: 'pause-resume', doc: 'true pauses after committing the in-flight batch; false resumes at the exact next offset.' },
  { name: 'kafka.start.offset', aliases: [], required: false, default: 'earliest', rule: { kind: 'startOffset' },
    onAlter: 'new-table-only', doc: 'Where a new table starts: earliest, latest, or an epoch timestamp in ms.' },
  { name: 'kafka.error.policy', aliases: [], required: false, default: 'fail', rule: { kind: 'enum', values: ['fail', 'skip', 'deadletter'] },
    onAlter: 'batch-boundary', doc: 'What a record that cannot be decoded does: fail the task, skip it (counted), or skip it and keep it in dead-letter files (_hive_kafka_deadletter/records/ in the table location, read by the hive_kafka.deadletters table).' },
  { name: 'kafka.error.max.ratio', aliases: [], required: false, default: '1', rule: { kind: 'ratio' },
    onAlter: 'batch-boundary', doc: 'Share of bad records per batch that skip/deadletter tolerate before the table fails; the default 1 never fails (as Kafka Connect\'s errors.tolerance=all), a lower value is a circuit breaker.' },
  { name: 'kafka.offset.gap.policy', aliases: [], required: false, default: 'fail', rule: { kind: 'enum', values: ['fail', 'skip'] },
    onAlter: 'batch-boundary', doc: 'What the table does when Kafka deleted offsets it had not read yet (retention, deleteRecords): fail stops it naming the partition and range; skip goes on from the log start and records the gap (status, history, /metrics); the first batch after it is named from the offset after the batch before, so its name\'s range includes the deleted offsets.' },
  { name: 'kafka.value.format', aliases: [], required: false, default: 'json', rule: { kind: 'enum', values: ['json', 'avro', 'csv'] },
    onAlter: 'batch-boundary', doc: 'Record value format: json (one object per record, fields by column name), avro (Confluent wire format, writer schemas from a Schema Registry) or csv (one row per record, RFC 4180 by default).' },
  { name: 'kafka.schema.registry.url', aliases: [], required: false, default: '', rule: { kind: 'url' },
    onAlter: 'batch-boundary', doc: 'Schema Registry for avro: its Confluent-compatible base URL (Apicurio: http://host:8080/apis/ccompat/v7). Or name a registry profile of the service config instead.' },
  { name: 'kafka.schema.registry.profile', aliases: [], required: false, default: '', rule: { kind: 'name' },
    onAlter: 'batch-boundary', doc: 'Name of a schemaRegistries profile in the service config (URL and credentials); credentials never live in TBLPROPERTIES.' },
  { name: 'kafka.csv.delimiter', aliases: [], required: false, default: ',', rule: { kind: 'char' },
    onAlter: 'batch-boundary', doc: 'csv: the field delimiter, one character.' },
  { name: 'kafka.csv.quote', aliases: [], required: false, default: '"', rule: { kind: 'char' },
    onAlter: 'batch-boundary', doc: 'csv: the quote character; a quote inside a quoted field is doubled.' },
  { name: 'kafka.csv.header', aliases: [], required: false, default: 'false', rule: { kind: 'bool' },
    onAlter: 'batch-boundary', doc: 'csv: true when the topic carries header rows: a row that names the table\'s columns maps fields by name and is consumed, not stored. false: fields by position.' },
  { name: 'kafka.csv.null.string', aliases: [], required: false, default: '', rule: { kind: 'text' },
    onAlter: 'batch-boundary', doc: 'csv: an unquoted field equal to this is NULL (e.g. \\N). Empty: only an empty unquoted field in a column that is not a string is NULL.' },
  { name: 'kafka.mapping', aliases: [], required: false, default: '', rule: { kind: 'select' },
    onAlter: 'batch-boundary', doc: 'A SQL SELECT over the record\'s fields and its Kafka metadata (__key, __partition, __offset, __timestamp, __headers) giving columns and partition columns, with an optional WHERE; columns it leaves out keep the same-name rule. See README, "Mapping".' },
  { name: 'kafka.partition.time', aliases: [], required: false, default: '', rule: { kind: 'text' },
    onAlter: 'batch-boundary', doc: 'Time-based partition values, as Kafka Connect\'s TimeBasedPartitioner: timestamp (the Kafka record time) or field:<name> (epoch ms or a timestamp text). See README, "Time partitions".' },
  { name: 'kafka.partition.time.format', aliases: [], required: false, default: '', rule: { kind: 'text' },
    onAlter: 'batch-boundary', doc: 'Formats of the time-based partition columns, e.g. dt=yyyy-MM-dd,hr=HH; dt, hr, year, month, day and hour have defaults.' },
  { name: 'kafka.compaction.target.file.size', aliases: [], required: false, default: '134217728', rule: { kind: 'int', min: 1024, max: 17_179_869_184 },
    onAlter: 'compactor', doc: 'Compaction merges a partition\'s files toward this size in bytes (a bucketed table: into one file per bucket). See README, "Compaction".' },
  { name: 'kafka.compaction.min.files', aliases: [], required: false, default: '10', rule: { kind: 'int', min: 0, max: 1_000_000 },
    onAlter: 'compactor', doc: 'A partition is compacted once it holds this many files older than kafka.compaction.min.age.ms; 0 never compacts the table.' },
  { name: 'kafka.compaction.min.age.ms', aliases: [], required: false, default: '600000', rule: { kind: 'int', min: 0, max: 604_800_000 },
    onAlter: 'compactor', doc: 'Files younger than this do not count toward kafka.compaction.min.files, so the partition being written is not rewritten every round.' },
  { name: 'kafka.credentials.profile', aliases: [], required: false, default: '', rule: { kind: 'name' },
    onAlter: 'batch-boundary', doc: 'Name of a credentials profile in the service config (SASL/TLS secrets never live in TBLPROPERTIES).' },
];

/**
 * Properties that only mean something together, as data the Java meta hook reads too:
 * - appliesWhen: the property may be given only when another property has this value;
 * - requiredWhen: when another property has this value, one of the `anyOf` properties must be given.
 */
export const COMBINATIONS = {
  appliesWhen: [
    { property: 'kafka.schema.registry.url', when: 'kafka.value.format', is: 'avro' },
    { property: 'kafka.schema.registry.profile', when: 'kafka.value.format', is: 'avro' },
    { property: 'kafka.csv.delimiter', when: 'kafka.value.format', is: 'csv' },
    { property: 'kafka.csv.quote', when: 'kafka.value.format', is: 'csv' },
    { property: 'kafka.csv.header', when: 'kafka.value.format', is: 'csv' },
    { property: 'kafka.csv.null.string', when: 'kafka.value.format', is: 'csv' },
  ],
  requiredWhen: [
    { anyOf: ['kafka.schema.registry.url', 'kafka.schema.registry.profile'], when: 'kafka.value.format', is: 'avro',
      message: "is required with kafka.value.format=avro: give the registry's URL, or kafka.schema.registry.profile naming a profile of the service config" },
  ],
} as const;

/** Patterns shared with the Java meta hook (Java and JavaScript read them alike). */
export const PATTERNS = {
  topic: '^[a-zA-Z0-9._-]{1,249}$',
  broker: '^([a-zA-Z0-9.-]+|\\[[0-9a-fA-F:]+\\]):([0-9]{1,5})$',
  epochMs: '^[0-9]{1,15}$',
  name: '^[a-zA-Z0-9._-]*$',
  integer: '^-?[0-9]{1,16}$',
  url: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$',
  select: '^\\s*(?:--[^\\n]*\\n\\s*)*[sS][eE][lL][eE][cC][tT]\\s',
} as const;

/** Extra Kafka client settings: `<prefix><client key>` = value, passed to the consumer as is. */
export const EXTRA_PREFIXES = ['kafka.extra.propertie.', 'kafka.extra.property.'] as const;

/** Client settings the service owns; an extra property may not override them. */
export const RESERVED_CLIENT_KEYS = ['group.id', 'enable.auto.commit', 'isolation.level', 'auto.offset.reset', 'bootstrap.servers'] as const;

/** Client keys that hold secrets: they belong in a credentials profile, never in TBLPROPERTIES. */
export const SECRET_KEY_PATTERN = /password|secret|sasl\.jaas\.config|ssl\.key/i;
