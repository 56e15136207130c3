// TBLPROPERTIES -> typed StreamSpec, or every problem at once, each naming the table, the property,
// the value and what is allowed.
import { COMBINATIONS, EXTRA_PREFIXES, PATTERNS, PROPERTIES, RESERVED_CLIENT_KEYS, SECRET_KEY_PATTERN, type PropertyDef, type Rule } from './rules.ts';

export type StartOffset = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'timestamp'; ms: number };

export interface StreamSpec {
  topic: string;
  brokers: string[];
  batchMaxSize: number;
  maxBatchPeriodMs: number;
  maxNumTasks: number;
  schemaCompatibility: 'NONE' | 'BACKWARD' | 'FORWARD' | 'FULL';
  readUncommitted: boolean;
  paused: boolean;
  startOffset: StartOffset;
  errorPolicy: 'fail' | 'skip' | 'deadletter';
  errorMaxRatio: number;
  offsetGapPolicy: 'fail' | 'skip';
  valueFormat: 'json' | 'avro' | 'csv';
  /** avro: where writer schemas come from: a URL, or a schemaRegistries profile of the service config. */
  schemaRegistry: { url: string } | { profile: string } | undefined;
  csv: CsvOptions;
  /** kafka.mapping, the SQL as written; compiled against the table's columns when a task starts. */
  mapping: string | undefined;
  /** kafka.partition.time and kafka.partition.time.format, checked against the partition keys when a task starts. */
  partitionTime: { source: string; formats: string | undefined } | undefined;
  credentialsProfile: string | undefined;
  /** Small-file compaction of the table's partitions (src/lifecycle/compactor.ts); minFiles 0 turns it off. Absent in specs stored before it existed. */
  compaction?: { targetFileBytes: number; minFiles: number; minAgeMs: number };
  /** Extra Kafka client settings, keyed by the client's own name. */
  clientOverrides: Record<string, string>;
}

export interface CsvOptions { delimiter: string; quote: string; header: boolean; nullString: string | undefined }

export interface PropertyProblem { property: string; value: string | undefined; message: string }

export type ParseResult = { ok: true; spec: StreamSpec } | { ok: false; problems: PropertyProblem[] };

/** Explains what a rule allows, in the words an error message uses. */
export function describeRule(rule: Rule): string {
  switch (rule.kind) {
    case 'topic': return 'a Kafka topic name: 1 to 249 of [a-zA-Z0-9._-]';
    case 'brokers': return 'a comma-separated list of host:port, ports 1-65535';
    case 'int': return `an integer from ${rule.min} to ${rule.max}`;
    case 'ratio': return 'a number from 0 to 1';
    case 'bool': return 'true or false';
    case 'enum': return `one of ${rule.values.join(', ')}`;
    case 'startOffset': return 'earliest, latest, or an epoch timestamp in milliseconds';
    case 'name': return 'a name of letters, digits, ".", "_" or "-"';
    case 'url': return 'an http:// or https:// URL, or empty';
    case 'char': return 'exactly one character';
    case 'text': return 'any text';
    case 'select': return 'a SQL SELECT statement, or empty';
  }
}

const re = Object.fromEntries(Object.entries(PATTERNS).map(([k, p]) => [k, new RegExp(p)])) as Record<keyof typeof PATTERNS, RegExp>;

/** The typed value of `raw` under `rule`, or undefined when it breaks the rule. */
function check(rule: Rule, raw: string): unknown {
  if (rule.kind === 'char') return [...raw].length === 1 ? raw : undefined;
  if (rule.kind === 'text') return raw;
  const v = raw.trim();
  switch (rule.kind) {
    case 'topic': return re.topic.test(v) && v !== '.' && v !== '..' ? v : undefined;
    case 'brokers': {
      const list = v.split(',').map((s) => s.trim());
      const ok = list.every((hp) => {
        const m = re.broker.exec(hp);
        return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
      });
      return ok ? list : undefined;
    }
    case 'int': {
      if (!re.integer.test(v)) return undefined;
      const n = Number(v);
      return n >= rule.min && n <= rule.max ? n : undefined;
    }
    case 'ratio': {
      const n = Number(v);
      return v !== '' && Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
    }
    case 'bool': {
      const l = v.toLowerCase();
      return l === 'true' ? true : l === 'false' ? false : undefined;
    }
    case 'enum': return rule.values.find((x) => x.toLowerCase() === v.toLowerCase());
    case 'startOffset': {
      const l = v.toLowerCase();
      if (l === 'earliest' || l === 'latest') return { kind: l };
      return re.epochMs.test(v) ? { kind: 'timestamp', ms: Number(v) } : undefined;
    }
    case 'name': return re.name.test(v) ? v : undefined;
    case 'url': return v === '' || re.url.test(v) ? v : undefined;
    case 'select': return v === '' || re.select.test(`${v} `) ? v : undefined;
  }
}

const byName = new Map<string, PropertyDef>();
for (const def of PROPERTIES) for (const n of [def.name, ...def.aliases]) byName.set(n.toLowerCase(), def);

/** Nearest known property name, for "did you mean" hints on typos. */
function nearest(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const def of PROPERTIES) {
    const d = editDistance(name.toLowerCase(), def.name.toLowerCase());
    if (d < bestDistance) { bestDistance = d; best = def.name; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Validates a table's parameters. Parameters outside `kafka.` (Hive's own) are ignored. `partial`
 * checks only what is given (an ALTER ... SET TBLPROPERTIES); its spec is then not meaningful.
 */
export function parseTableProperties(params: Readonly<Record<string, string>>, opts: { partial?: boolean } = {}): ParseResult {
  const problems: PropertyProblem[] = [];
  const values = new Map<string, unknown>();
  const clientOverrides: Record<string, string> = {};
  const givenAs = new Map<PropertyDef, string>();

  for (const [key, raw] of Object.entries(params)) {
    if (!key.toLowerCase().startsWith('kafka.')) continue;
    const prefix = EXTRA_PREFIXES.find((p) => key.startsWith(p));
    if (prefix) {
      const clientKey = key.slice(prefix.length);
      if (clientKey === '') problems.push({ property: key, value: raw, message: `needs a Kafka client setting after "${prefix}", e.g. ${prefix}session.timeout.ms` });
      else if ((RESERVED_CLIENT_KEYS as readonly string[]).includes(clientKey)) problems.push({ property: key, value: raw, message: `${clientKey} is managed by hive-kafka and cannot be overridden` });
      else if (SECRET_KEY_PATTERN.test(clientKey)) problems.push({ property: key, value: '***', message: 'secrets must not live in TBLPROPERTIES (anyone with DESCRIBE can read them); put them in a credentials profile of the service config and set kafka.credentials.profile' });
      else clientOverrides[clientKey] = raw;
      continue;
    }
    const def = byName.get(key.toLowerCase());
    if (!def) {
      const hint = nearest(key);
      problems.push({ property: key, value: raw, message: `unknown property${hint ? `; did you mean ${hint}?` : ''} (see README, "TBLPROPERTIES")` });
      continue;
    }
    const earlier = givenAs.get(def);
    if (earlier !== undefined) {
      problems.push({ property: key, value: raw, message: `${key} and ${earlier} are the same property; give only one` });
      continue;
    }
    givenAs.set(def, key);
    const value = check(def.rule, raw);
    if (value === undefined) problems.push({ property: key, value: raw, message: `expected ${describeRule(def.rule)}` });
    else values.set(def.name, value);
  }

  for (const def of PROPERTIES) {
    if (def.required && !givenAs.has(def) && !opts.partial) {
      const spellings = [def.name, ...def.aliases].map((n) => `"${n}"`).join(' or ');
      problems.push({ property: def.name, value: undefined, message: `is required: add TBLPROPERTIES (${spellings} = ...)` });
    } else if (!values.has(def.name) && def.default !== undefined && !givenAs.has(def)) {
      values.set(def.name, check(def.rule, def.default));
    }
  }
  const get = <T>(name: string) => values.get(name) as T;
  if (!opts.partial) problems.push(...crossPropertyProblems(get, givenAs));
  if (problems.length > 0) return { ok: false, problems };

  const profile = get<string>('kafka.credentials.profile');
  const registryUrl = get<string>('kafka.schema.registry.url');
  const registryProfile = get<string>('kafka.schema.registry.profile');
  const text = (name: string) => (get<string>(name).trim() === '' ? undefined : get<string>(name).trim());
  return {
    ok: true,
    spec: {
      topic: get('kafka.topic'),
      brokers: get('kafka.broker.list'),
      batchMaxSize: get('kafka.batch.maxSize'),
      maxBatchPeriodMs: get('kafka.max.batch.period.ms'),
      maxNumTasks: get('kafka.max.num.tasks'),
      schemaCompatibility: get('kafka.schema.compatibility'),
      readUncommitted: get('kafka.read_uncommited'),
      paused: get('kafka.ingestion.paused'),
      startOffset: get('kafka.start.offset'),
      errorPolicy: get('kafka.error.policy'),
      errorMaxRatio: get('kafka.error.max.ratio'),
      offsetGapPolicy: get('kafka.offset.gap.policy'),
      compaction: { targetFileBytes: get('kafka.compaction.target.file.size'), minFiles: get('kafka.compaction.min.files'), minAgeMs: get('kafka.compaction.min.age.ms') },
      valueFormat: get('kafka.value.format'),
      schemaRegistry: registryProfile !== '' ? { profile: registryProfile } : registryUrl !== '' ? { url: registryUrl } : undefined,
      csv: {
        delimiter: get('kafka.csv.delimiter'),
        quote: get('kafka.csv.quote'),
        header: get('kafka.csv.header'),
        nullString: get<string>('kafka.csv.null.string') === '' ? undefined : get('kafka.csv.null.string'),
      },
      mapping: text('kafka.mapping'),
      partitionTime: text('kafka.partition.time') === undefined ? undefined : { source: text('kafka.partition.time')!, formats: text('kafka.partition.time.format') },
      credentialsProfile: profile === '' ? undefined : profile,
      clientOverrides,
    },
  };
}

/** Properties that only mean something together: each problem names the one to change. */
function crossPropertyProblems(get: <T>(name: string) => T, givenAs: ReadonlyMap<PropertyDef, string>): PropertyProblem[] {
  const problems: PropertyProblem[] = [];
  const given = (name: string) => [...givenAs.keys()].some((d) => d.name === name);
  for (const c of COMBINATIONS.appliesWhen) {
    const actual = String(get(c.when));
    if (given(c.property) && actual !== c.is) problems.push({ property: c.property, value: String(get(c.property)), message: `is invalid: it applies only to ${c.when}=${c.is} (this table has ${actual})` });
  }
  for (const c of COMBINATIONS.requiredWhen) {
    if (String(get(c.when)) === c.is && !c.anyOf.some(given)) problems.push({ property: c.anyOf[0], value: undefined, message: c.message });
  }
  const format = get<string>('kafka.value.format');
  if (given('kafka.schema.registry.url') && given('kafka.schema.registry.profile')) {
    problems.push({ property: 'kafka.schema.registry.profile', value: get('kafka.schema.registry.profile'), message: 'is invalid: give kafka.schema.registry.url or kafka.schema.registry.profile, not both' });
  }
  if (format === 'csv' && get<string>('kafka.csv.delimiter') === get<string>('kafka.csv.quote')) {
    problems.push({ property: 'kafka.csv.quote', value: get('kafka.csv.quote'), message: 'is invalid: the quote must differ from kafka.csv.delimiter' });
  }
  if (given('kafka.partition.time.format') && get<string>('kafka.partition.time').trim() === '') {
    problems.push({ property: 'kafka.partition.time.format', value: get('kafka.partition.time.format'), message: 'is invalid: it needs kafka.partition.time (timestamp, or field:<name>)' });
  }
  return problems;
}

/** One line per problem, naming the table: what beeline and `hive-kafka validate` print. */
export function formatProblems(table: string, problems: readonly PropertyProblem[]): string {
  return problems
    .map((p) => `table ${table}: property '${p.property}'${p.value === undefined ? '' : ` = '${p.value}'`} ${p.message.startsWith('is ') ? '' : 'is invalid: '}${p.message}`)
    .join('\n');
}
