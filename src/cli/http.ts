// The service's small HTTP face: /status (JSON, read by `hive-kafka status`) and /metrics (Prometheus).
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, register } from 'prom-client';
import type { Service } from '../service.ts';

export async function statusView(service: Service) {
  const tables = [];
  for (const s of service.ledger.listStreams({ includeDropped: true })) {
    const status = service.supervisor.status(s.tableId);
    tables.push({
      table: `${s.dbName}.${s.tableName}`,
      tableId: s.tableId,
      state: s.desiredState,
      tasks: status?.tasks ?? [],
      restarts: status?.attempts ?? 0,
      lastError: status?.lastError ?? service.ledger.recentErrors(s.tableId, 1)[0]?.message,
      partitions: s.desiredState === 'dropped' ? [] : await service.offsets(s.tableId),
    });
  }
  return { kafkaClient: service.kafkaClient, tables };
}

export function serveHttp(service: Service, host: string, port: number): Promise<Server> {
  collectDefaultMetrics();
  const server = createServer((req, res) => {
    const reply = (code: number, type: string, body: string) => { res.writeHead(code, { 'content-type': type }); res.end(body); };
    if (req.url === '/status') {
      statusView(service).then((v) => reply(200, 'application/json', JSON.stringify(v)), (e: Error) => reply(500, 'text/plain', e.message));
    } else if (req.url === '/metrics') {
      register.metrics().then((m) => reply(200, register.contentType, m), (e: Error) => reply(500, 'text/plain', e.message));
    } else {
      reply(404, 'text/plain', 'try /status or /metrics\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
