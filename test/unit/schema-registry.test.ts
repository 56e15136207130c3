// The Schema Registry client against a registry twin: a tiny in-process HTTP server that replays the
// answers of Confluent's REST API (Apicurio's ccompat API answers the same under its path prefix).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SchemaRegistryClient, SchemaRegistryError } from '../../src/format/schema-registry.ts';

interface Answer { status: number; body: string; contentType?: string }
interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: string }

const userSchema = '{"type":"record","name":"User","fields":[{"name":"id","type":"long"}]}';
const registryJson = 'application/vnd.schemaregistry.v1+json';
const json = (status: number, value: unknown): Answer => ({ status, body: JSON.stringify(value), contentType: registryJson });
const notFound = (id: number) => json(404, { error_code: 40403, message: `Schema ${id} not found` });

/** A registry twin: answers by "METHOD path" (a function answers differently each time), records what it was asked. */
async function twin(routes: Record<string, Answer | ((seen: Seen) => Answer | undefined)>): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(s);
      const route = routes[`${req.method} ${req.url}`];
      const answer = typeof route === 'function' ? route(s) : route;
      if (answer === undefined) return; // never answers
      res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/html' });
      res.end(answer.body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const servers: Server[] = [];
after(() => { for (const s of servers) { s.closeAllConnections(); s.close(); } });

async function rejectsWith(promise: Promise<unknown>, check: { retriable: boolean; message: RegExp; status?: number; errorCode?: number }): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof SchemaRegistryError, String(error));
    assert.equal(error.retriable, check.retriable);
    assert.match(error.message, check.message);
    if (check.status !== undefined) assert.equal(error.status, check.status);
    if (check.errorCode !== undefined) assert.equal(error.errorCode, check.errorCode);
    return true;
  });
}

test('schemaById: the schema text, under a path prefix; cached by id, concurrent lookups share one request', async () => {
  const { url, seen } = await twin({ 'GET /apis/ccompat/v7/schemas/ids/1': json(200, { schema: userSchema }) });
  const client = new SchemaRegistryClient({ url: `${url}/apis/ccompat/v7/` });
  const [a, b] = await Promise.all([client.schemaById(1), client.schemaById(1)]);
  assert.equal(a, userSchema);
  assert.equal(b, userSchema);
  assert.equal(await client.schemaById(1), userSchema);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.method, 'GET');
  assert.match(seen[0]!.headers.accept!, /application\/vnd\.schemaregistry\.v1\+json/);
  assert.equal(seen[0]!.headers.authorization, undefined);
});

test('schemaById: schemaType AVRO is accepted; another schema type, or references, say what is wrong', async () => {
  const { url } = await twin({
    'GET /schemas/ids/1': json(200, { schema: userSchema, schemaType: 'AVRO', references: [] }),
    'GET /schemas/ids/2': json(200, { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }),
    'GET /schemas/ids/3': json(200, { schema: userSchema, references: [{ name: 'com.acme.Address', subject: 'address', version: 1 }] }),
  });
  const client = new SchemaRegistryClient({ url });
  assert.equal(await client.schemaById(1), userSchema);
  await rejectsWith(client.schemaById(2), { retriable: false, message: /schema id 2 at .*\/schemas\/ids\/2 is a PROTOBUF schema, not Avro/ });
  await rejectsWith(client.schemaById(3), { retriable: false, message: /schema id 3 .*references other schemas \(com\.acme\.Address\)/ });
});

test('schemaById: basic authentication', async () => {
  const { url, seen } = await twin({
    'GET /schemas/ids/5': (s) => (s.headers.authorization === `Basic ${Buffer.from('svc:s3cr:t').toString('base64')}`
      ? json(200, { schema: userSchema }) : json(401, { error_code: 401, message: 'Unauthorized' })),
  });
  assert.equal(await new SchemaRegistryClient({ url, auth: { username: 'svc', password: 's3cr:t' } }).schemaById(5), userSchema);
  await rejectsWith(new SchemaRegistryClient({ url, auth: { username: 'svc', password: 'wrong' } }).schemaById(5),
    { retriable: false, status: 401, message: /refused schema id 5 .*HTTP 401.*check the username and password/ });
  await rejectsWith(new SchemaRegistryClient({ url }).schemaById(5),
    { retriable: false, status: 401, message: /it needs credentials: use a kafka\.schema\.registry\.profile/ });
  assert.equal(seen.length, 3);
});

test('schemaById: an unknown id (404, 40403) names the id and the registry, is not retriable and not cached', async () => {
  let known = false;
  const { url, seen } = await twin({
    'GET /apis/ccompat/v7/schemas/ids/404': () => (known ? json(200, { schema: userSchema }) : notFound(404)),
  });
  const client = new SchemaRegistryClient({ url: `${url}/apis/ccompat/v7` });
  await rejectsWith(client.schemaById(404), {
    retriable: false, status: 404, errorCode: 40403,
    message: new RegExp(`schema id 404 is unknown to the schema registry at ${url}/apis/ccompat/v7 \\(GET ${url}/apis/ccompat/v7/schemas/ids/404: ` +
      'HTTP 404, error_code 40403: Schema 404 not found\\)\\. .*check kafka\\.schema\\.registry\\.url'),
  });
  known = true;
  assert.equal(await client.schemaById(404), userSchema, 'asked again, not the cached failure');
  assert.equal(seen.length, 2);
});

test('a wrong path prefix (a 404 page that is not the registry\'s) says to check the base URL', async () => {
  const { url } = await twin({ 'GET /schemas/ids/1': { status: 404, body: '<html>Not Found</html>' } });
  await rejectsWith(new SchemaRegistryClient({ url }).schemaById(1), {
    retriable: false, status: 404, message: /has no GET .*\/schemas\/ids\/1 .*Confluent-compatible API base\? .*Apicurio: http:\/\/host:8080\/apis\/ccompat\/v7/,
  });
  const { url: html } = await twin({ 'GET /schemas/ids/1': { status: 200, body: '<html>welcome</html>' } });
  await rejectsWith(new SchemaRegistryClient({ url: html }).schemaById(1), { retriable: false, message: /did not answer as a Confluent-compatible schema registry \(the answer is not JSON/ });
  const { url: other } = await twin({ 'GET /schemas/ids/1': json(200, { id: 1 }) });
  await rejectsWith(new SchemaRegistryClient({ url: other }).schemaById(1), { retriable: false, message: /expected \{"schema": "<Avro schema JSON>"\}, got \{"id":1\}/ });
});

test('5xx and 429 are retriable, and the next call asks again; other 4xx are not', async () => {
  let failures = 1;
  const { url, seen } = await twin({
    'GET /schemas/ids/1': () => (failures-- > 0 ? json(500, { error_code: 50001, message: 'Error in the backend data store' }) : json(200, { schema: userSchema })),
    'GET /schemas/ids/2': json(429, { error_code: 429, message: 'slow down' }),
    'GET /schemas/ids/3': json(422, { error_code: 42201, message: 'Invalid schema' }),
  });
  const client = new SchemaRegistryClient({ url });
  await rejectsWith(client.schemaById(1), { retriable: true, status: 500, errorCode: 50001, message: /failed schema id 1 .*HTTP 500, error_code 50001: Error in the backend data store\); this is retried/ });
  assert.equal(await client.schemaById(1), userSchema);
  assert.equal(seen.length, 2);
  await rejectsWith(client.schemaById(2), { retriable: true, status: 429, message: /HTTP 429/ });
  await rejectsWith(client.schemaById(3), { retriable: false, status: 422, message: /HTTP 422, error_code 42201: Invalid schema/ });
});

test('a registry that cannot be reached, or does not answer in time, is retriable and says where', async () => {
  const { url, server } = await twin({});
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rejectsWith(new SchemaRegistryClient({ url }).schemaById(1), {
    retriable: true, message: new RegExp(`schema registry ${url} could not be reached for schema id 1 \\(GET ${url}/schemas/ids/1: ECONNREFUSED.*check that the registry is up`),
  });
  const { url: silent } = await twin({ 'GET /schemas/ids/1': () => undefined });
  await rejectsWith(new SchemaRegistryClient({ url: silent, timeoutMs: 100 }).schemaById(1), { retriable: true, message: /no answer within 100 ms/ });
});

test('register: POST /subjects/{subject}/versions with the schema, returns its id', async () => {
  const { url, seen } = await twin({ 'POST /apis/ccompat/v7/subjects/orders%2Fv-value/versions': json(200, { id: 17 }) });
  const client = new SchemaRegistryClient({ url: `${url}/apis/ccompat/v7` });
  assert.equal(await client.register('orders/v-value', userSchema), 17);
  assert.equal(seen[0]!.headers['content-type'], registryJson);
  assert.deepEqual(JSON.parse(seen[0]!.body), { schema: userSchema });
  const { url: incompatible } = await twin({ 'POST /subjects/s/versions': json(409, { error_code: 409, message: 'Schema being registered is incompatible with an earlier schema' }) });
  await rejectsWith(new SchemaRegistryClient({ url: incompatible }).register('s', userSchema),
    { retriable: false, status: 409, message: /registering a schema under subject "s" .*HTTP 409.*incompatible/ });
});

test('subjectsOf: the subjects and versions of an id', async () => {
  const { url } = await twin({ 'GET /schemas/ids/3/versions': json(200, [{ subject: 'users-value', version: 2 }]) });
  assert.deepEqual(await new SchemaRegistryClient({ url }).subjectsOf(3), [{ subject: 'users-value', version: 2 }]);
});

test('ids and URLs are checked before anything is asked', async () => {
  assert.throws(() => new SchemaRegistryClient({ url: 'registry:8081' }), /must be http:\/\/ or https:\/\//);
  assert.throws(() => new SchemaRegistryClient({ url: 'not a url' }), /is not a URL/);
  await rejectsWith(new SchemaRegistryClient({ url: 'http://127.0.0.1:1' }).schemaById(-1), { retriable: false, message: /schema id -1 is not a schema id/ });
});
