// The service's small HTTP face: /status (JSON, read by `hive-kafka status`) and /metrics (Prometheus).
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, register } from 'prom-client';
import type { Service } from '../service.ts';

export function serveHttp(service: Service, host: string, port: number): Promise<Server> {
  collectDefaultMetrics();
  const server = createServer((req, res) => {
    const reply = (code: number, type: string, body: string) => { res.writeHead(code, { 'content-type': type }); res.end(body); };
    if (req.url === '/status') {
      service.statusView().then((v) => reply(200, 'application/json', JSON.stringify(v)), (e: Error) => reply(500, 'text/plain', e.message));
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
