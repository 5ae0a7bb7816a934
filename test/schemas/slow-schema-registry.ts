import type { Schema } from 'avsc';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Confluent Schema Registry stand-in on a real local HTTP server, answering
 * every request after `delayMs`, as a registry across a network does (the
 * file-backed one answers at once, which hides what a look-up costs). It keeps
 * the endpoints `HttpSchemaRegistry` uses — `GET /schemas/ids/{id}`,
 * `POST /subjects/{subject}[/versions]`, `PUT /config/{subject}` — answers an
 * unknown id `404 {"error_code":40403}`, and counts every request.
 */
export interface SlowSchemaRegistry {
  readonly url: string;
  /** Requests received so far; with `path`, only those for that path (e.g. `/schemas/ids/7`). */
  requests(path?: string): number;
  /** Holds `schema` under `id` from now on, as a registration elsewhere would. */
  add(id: number, schema: Schema): void;
  /** Answers every request with `status` (a 5xx, say) until {@link SlowSchemaRegistry.recover}. */
  failWith(status: number): void;
  recover(): void;
  close(): Promise<void>;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify(body));
}

export async function startSlowSchemaRegistry({ delayMs = 300 }: { readonly delayMs?: number } = {}): Promise<SlowSchemaRegistry> {
  const schemas = new Map<number, { subject: string | undefined; schema: string }>();
  const paths: string[] = [];
  let failing: number | undefined;
  let nextId = 1;

  const answer = (request: IncomingMessage, body: string, response: ServerResponse): void => {
    const path = request.url ?? '/';
    if (failing !== undefined) {
      send(response, failing, { error_code: failing * 100 + 1, message: 'unavailable' });
      return;
    }
    const byId = /^\/schemas\/ids\/(\d+)$/.exec(path);
    if (request.method === 'GET' && byId) {
      const entry = schemas.get(Number(byId[1]));
      if (entry) send(response, 200, { schema: entry.schema });
      else send(response, 404, { error_code: 40403, message: `Schema ${byId[1]} not found` });
      return;
    }
    const subject = /^\/subjects\/([^/]+)(\/versions)?$/.exec(path);
    if (request.method === 'POST' && subject) {
      const name = decodeURIComponent(subject[1]!);
      const { schema } = JSON.parse(body) as { schema: string };
      const canonical = JSON.stringify(JSON.parse(schema));
      let id = [...schemas].find(([, entry]) => JSON.stringify(JSON.parse(entry.schema)) === canonical)?.[0];
      if (id === undefined && subject[2] === undefined) {
        send(response, 404, { error_code: 40403, message: 'Schema not found' });
        return;
      }
      if (id === undefined) {
        id = nextId++;
        schemas.set(id, { subject: name, schema });
      }
      send(response, 200, { id, subject: name, version: 1, schema });
      return;
    }
    if (request.method === 'PUT' && path.startsWith('/config/')) {
      send(response, 200, JSON.parse(body) as unknown);
      return;
    }
    send(response, 404, { error_code: 404, message: `no ${request.method} ${path}` });
  };

  const server = createServer((request, response) => {
    paths.push(request.url ?? '/');
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => setTimeout(() => answer(request, body, response), delayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: (path) => (path === undefined ? paths.length : paths.filter((seen) => seen === path).length),
    add(id, schema) {
      schemas.set(id, { subject: undefined, schema: JSON.stringify(schema) });
      nextId = Math.max(nextId, id + 1);
    },
    failWith: (status) => (failing = status),
    recover: () => (failing = undefined),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
