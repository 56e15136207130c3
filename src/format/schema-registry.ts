// A small client of the Confluent Schema Registry REST API, as far as kafka.value.format=avro needs it:
// a writer schema by its id (GET /schemas/ids/{id}), cached by id, and registering a schema under a
// subject (POST /subjects/{subject}/versions) for tests and the benchmark. Apicurio's
// Confluent-compatible API works the same under its path prefix (http://host:8080/apis/ccompat/v7).
//
// Errors are SchemaRegistryError: they name the URL and the id and say what to do. `retriable` is true
// where trying again later can succeed (the registry cannot be reached, times out, answers 5xx or 429),
// false where it cannot (an unknown id, refused credentials, any other 4xx, an answer that is not a
// registry's). Failures are not cached: the next call asks again.

export interface SchemaRegistryOptions {
  /** The registry's base URL, with a path prefix where it has one (Apicurio: http://host:8080/apis/ccompat/v7). */
  url: string;
  /** HTTP basic authentication. */
  auth?: { username: string; password: string } | undefined;
  /** Per request; 10 seconds by default. */
  timeoutMs?: number;
}

export class SchemaRegistryError extends Error {
  override readonly name = 'SchemaRegistryError';

  constructor(
    message: string,
    /** Whether asking again later can succeed. */
    readonly retriable: boolean,
    /** The URL asked. */
    readonly url: string,
    /** The HTTP status, when the registry answered. */
    readonly status?: number,
    /** The registry's error_code (40403: schema not found), when it gave one. */
    readonly errorCode?: number,
    /** Set when the registry answered that it has no schema of this id. */
    readonly unknownId?: number,
  ) {
    super(message);
  }
}

/** A subject and version a schema id is registered under. */
export interface SubjectVersion { subject: string; version: number }

const defaultTimeoutMs = 10_000;
const accept = 'application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5';

export class SchemaRegistryClient {
  readonly url: string;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;
  /** In flight or done; a failed lookup is removed so the next call asks again. */
  private readonly schemas = new Map<number, Promise<string>>();

  constructor(options: SchemaRegistryOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new Error(`schema registry URL "${options.url}" is not a URL: give its base URL, e.g. http://registry:8081 ` +
        '(Apicurio: http://host:8080/apis/ccompat/v7)');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new Error(`schema registry URL "${options.url}" must be http:// or https://`);
    }
    this.url = options.url.replace(/\/+$/, '');
    this.authorization = options.auth
      ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`, 'utf8').toString('base64')}`
      : undefined;
    this.timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  }

  /** The writer schema's JSON text registered under `id`. Cached by id; concurrent calls share one request. */
  schemaById(id: number): Promise<string> {
    if (!Number.isSafeInteger(id) || id < 0) {
      return Promise.reject(new SchemaRegistryError(`schema id ${id} is not a schema id (expected a whole number >= 0)`, false, this.url));
    }
    let schema = this.schemas.get(id);
    if (!schema) {
      schema = this.fetchSchema(id);
      this.schemas.set(id, schema);
      schema.catch(() => this.schemas.delete(id));
    }
    return schema;
  }

  /**
   * The subjects (and versions) `id` is registered under (GET /schemas/ids/{id}/versions), for messages.
   * Not cached: only asked when something about the schema must be explained.
   */
  async subjectsOf(id: number): Promise<SubjectVersion[]> {
    const url = `${this.url}/schemas/ids/${id}/versions`;
    const body = await this.request('GET', url, undefined, `the subjects of schema id ${id}`, id);
    if (!Array.isArray(body)) throw this.notRegistry(url, `expected a list of {subject, version}, got ${short(body)}`);
    return body
      .filter((e): e is SubjectVersion => e !== null && typeof e === 'object' && typeof e.subject === 'string')
      .map((e) => ({ subject: e.subject, version: Number(e.version) }));
  }

  /** Registers `schemaJson` (Avro) under `subject` and returns its id; registering the same schema again returns the same id. */
  async register(subject: string, schemaJson: string): Promise<number> {
    const url = `${this.url}/subjects/${encodeURIComponent(subject)}/versions`;
    const body = await this.request('POST', url, JSON.stringify({ schema: schemaJson }), `registering a schema under subject ${JSON.stringify(subject)}`);
    const id = (body as { id?: unknown } | null)?.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw this.notRegistry(url, `expected {"id": <number>}, got ${short(body)}`);
    return id;
  }

  private async fetchSchema(id: number): Promise<string> {
    const url = `${this.url}/schemas/ids/${id}`;
    const body = await this.request('GET', url, undefined, `schema id ${id}`, id);
    const { schema, schemaType, references } = (body ?? {}) as { schema?: unknown; schemaType?: unknown; references?: unknown };
    if (typeof schema !== 'string') throw this.notRegistry(url, `expected {"schema": "<Avro schema JSON>"}, got ${short(body)}`);
    if (schemaType !== undefined && schemaType !== null && String(schemaType).toUpperCase() !== 'AVRO') {
      throw new SchemaRegistryError(`schema id ${id} at ${url} is a ${String(schemaType)} schema, not Avro: ` +
        'the topic is not written in Avro with this registry; check kafka.value.format and the producer\'s serializer', false, url);
    }
    if (Array.isArray(references) && references.length > 0) {
      const names = references.map((r) => (r && typeof r === 'object' ? String((r as { name?: unknown }).name) : String(r)));
      throw new SchemaRegistryError(`schema id ${id} at ${url} references other schemas (${names.join(', ')}); ` +
        'hive-kafka reads self-contained Avro schemas only: register the schema with its referenced types inlined', false, url);
    }
    return schema;
  }

  /** One request; the parsed JSON body of a 2xx answer, else a SchemaRegistryError saying what to do. */
  private async request(method: 'GET' | 'POST', url: string, body: string | undefined, what: string, id?: number): Promise<unknown> {
    const headers: Record<string, string> = { accept };
    if (body !== undefined) headers['content-type'] = 'application/vnd.schemaregistry.v1+json';
    if (this.authorization) headers.authorization = this.authorization;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      text = await response.text();
    } catch (error) {
      const cause = describeNetworkError(error, this.timeoutMs);
      throw new SchemaRegistryError(`schema registry ${this.url} could not be reached for ${what} (${method} ${url}: ${cause}); ` +
        'check that the registry is up and the URL (kafka.schema.registry.url or the registry profile) is right. This is retried', true, url);
    }
    let json: unknown;
    let parsed = false;
    try {
      json = text === '' ? undefined : JSON.parse(text);
      parsed = true;
    } catch {
      json = undefined;
    }
    if (response.ok) {
      if (!parsed) throw this.notRegistry(url, `the answer is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
      return json;
    }
    const errorCode = typeof (json as { error_code?: unknown } | undefined)?.error_code === 'number' ? (json as { error_code: number }).error_code : undefined;
    const message = typeof (json as { message?: unknown } | undefined)?.message === 'string' ? (json as { message: string }).message : text.slice(0, 200);
    const said = `HTTP ${response.status}${errorCode !== undefined ? `, error_code ${errorCode}` : ''}${message ? `: ${message}` : ''}`;
    const status = response.status;
    if (id !== undefined && (errorCode === 40403 || (status === 404 && errorCode === undefined && parsed))) {
      throw new SchemaRegistryError(`schema id ${id} is unknown to the schema registry at ${this.url} (${method} ${url}: ${said}). ` +
        'The records were written with a schema of another registry: check kafka.schema.registry.url (or the registry profile) ' +
        'against the producer\'s registry', false, url, status, errorCode, id);
    }
    if (status === 404) {
      throw new SchemaRegistryError(`schema registry ${this.url} has no ${method} ${url} (${said}): is the URL the registry's ` +
        'Confluent-compatible API base? (Confluent: http://host:8081, Apicurio: http://host:8080/apis/ccompat/v7)', false, url, status, errorCode);
    }
    if (status === 401 || status === 403) {
      throw new SchemaRegistryError(`schema registry ${this.url} refused ${what} (${method} ${url}: ${said}): ` +
        (this.authorization ? 'check the username and password of the registry profile' : 'it needs credentials: use a kafka.schema.registry.profile with username and password'),
        false, url, status, errorCode);
    }
    const retriable = status >= 500 || status === 429 || status === 408;
    throw new SchemaRegistryError(`schema registry ${this.url} failed ${what} (${method} ${url}: ${said})` +
      (retriable ? '; this is retried' : ''), retriable, url, status, errorCode);
  }

  private notRegistry(url: string, detail: string): SchemaRegistryError {
    return new SchemaRegistryError(`${url} did not answer as a Confluent-compatible schema registry (${detail}): ` +
      'check kafka.schema.registry.url (Apicurio: http://host:8080/apis/ccompat/v7)', false, url);
  }
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const cause = e?.cause;
  if (cause?.code || cause?.message) return [cause.code, cause.message].filter(Boolean).join(' ');
  return e?.message ?? String(error);
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}
