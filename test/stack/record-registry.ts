// Records real Confluent-compatible Schema Registry responses (Apicurio Registry, started by
// npm run stack:up) into fixtures/registry/, for the offline unit tests.
// Needs a freshly started, empty registry (ids must start at 1):
//   bash test/stack/down.sh registry; bash test/stack/up.sh registry; npx tsx test/stack/record-registry.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const base = process.env.HIVE_KAFKA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
const api = '/apis/ccompat/v7';
const outputDir = join(import.meta.dirname, '../../fixtures/registry');
const contentType = 'application/vnd.schemaregistry.v1+json';

const v1 = { type: 'record', name: 'T', namespace: 'hk', fields: [{ name: 'id', type: 'long' }] };
const v2 = { ...v1, fields: [...v1.fields, { name: 'note', type: 'string', default: '' }] };
// A new field without a default: a BACKWARD-incompatible change.
const incompatible = { ...v1, fields: [...v1.fields, { name: 'required_note', type: 'string' }] };

async function call(file: string | null, method: string, path: string, requestBody?: unknown) {
  const res = await fetch(base + api + path, {
    method,
    headers: requestBody === undefined ? {} : { 'Content-Type': contentType },
    body: requestBody === undefined ? undefined : JSON.stringify(requestBody),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the raw text
  }
  const record = {
    request: `${method} ${api}${path}`,
    ...(requestBody === undefined ? {} : { requestBody }),
    status: res.status,
    contentType: res.headers.get('content-type'),
    body,
  };
  if (file) writeFileSync(join(outputDir, file), JSON.stringify(record, null, 2) + '\n');
  return record;
}

const subjects = await call(null, 'GET', '/subjects');
if (subjects.status !== 200 || !Array.isArray(subjects.body) || subjects.body.length !== 0) {
  throw new Error(`registry at ${base} is not fresh (GET /subjects -> ${JSON.stringify(subjects)}); restart it`);
}
mkdirSync(outputDir, { recursive: true });

const expect = (r: { status: number }, status: number) => {
  if (r.status !== status) throw new Error(`expected ${status}: ${JSON.stringify(r)}`);
};
expect(await call('config-put-backward.json', 'PUT', '/config/t-value', { compatibility: 'BACKWARD' }), 200);
expect(await call('config-get.json', 'GET', '/config/t-value'), 200);
expect(await call('register-v1.json', 'POST', '/subjects/t-value/versions', { schema: JSON.stringify(v1) }), 200);
expect(await call('register-v1-again.json', 'POST', '/subjects/t-value/versions', { schema: JSON.stringify(v1) }), 200);
expect(await call('register-v2.json', 'POST', '/subjects/t-value/versions', { schema: JSON.stringify(v2) }), 200);
expect(
  await call('register-incompatible.json', 'POST', '/subjects/t-value/versions', { schema: JSON.stringify(incompatible) }),
  409,
);
expect(await call('schemas-ids-1.json', 'GET', '/schemas/ids/1'), 200);
expect(await call('schemas-ids-2.json', 'GET', '/schemas/ids/2'), 200);
expect(await call('schemas-ids-missing.json', 'GET', '/schemas/ids/999'), 404);
expect(await call('subject-versions.json', 'GET', '/subjects/t-value/versions'), 200);
expect(await call('subject-version-latest.json', 'GET', '/subjects/t-value/versions/latest'), 200);
expect(await call('subject-lookup-v1.json', 'POST', '/subjects/t-value', { schema: JSON.stringify(v1) }), 200);
expect(await call('subject-missing-versions.json', 'GET', '/subjects/no-such-subject/versions'), 404);
console.log(`recorded fixtures into ${outputDir}`);
