import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CliError, UsageError } from '../errors';
import { explainFailure } from '../explain-failure';
import { deadLettersOf, letterAt, letterInFull, letterSummary, redriveLetters } from '../operations/dead-letters';
import { explainableTopics, explainRecord } from '../operations/lineage';
import type { PlatformAccess } from '../operations/platform-access';
import { storedStateOf, storeNames } from '../operations/stored-state';
import { LiveMetrics, type LiveSnapshot, type LiveSource } from './live-metrics';
import { consumersWithDeadLetters, pipelineGraph } from './pipeline-graph';

export interface ConsoleOptions {
  readonly access: PlatformAccess;
  readonly live: LiveSource;
  /** 0: any free port (tests). */
  readonly port: number;
  /** How often the live numbers are sampled while a page watches. @default 1000 */
  readonly sampleIntervalMs?: number;
}

export interface RunningConsole {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  stop(): Promise<void>;
}

/** The header a page sends with a redrive, which a page of another origin cannot send without a preflight this server refuses. */
export const CONFIRM_HEADER = 'x-console-confirmed';

/** The page's files, served as they are: no build step. */
const PAGE_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};
const PAGE_DIR = join(__dirname, 'page');

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** A request the console refuses, with the status it answers. */
class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The local web console: the pipeline's picture with live numbers, dead
 * letters (and their redrive), stored state and the lineage of join results,
 * over a small JSON API on 127.0.0.1 only. Read-only except for redrive, which
 * the page confirms first and the server accepts only from its own page.
 */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const { access, live } = options;
  const admin = (await access.kafka()).admin();
  await admin.connect();
  const metrics = new LiveMetrics(access.pipeline, live, admin);
  const graph = pipelineGraph(access.pipeline);
  const watchers = new Set<ServerResponse>();
  let latest: LiveSnapshot | undefined;
  let sampling = false;
  const sample = async () => {
    if (sampling || watchers.size === 0) return;
    sampling = true;
    try {
      latest = await metrics.sample();
      const event = `data: ${JSON.stringify(latest)}\n\n`;
      for (const watcher of watchers) watcher.write(event);
    } catch {
      // Each part of a sample reports its own problem inside the snapshot; nothing else is expected to throw.
    } finally {
      sampling = false;
    }
  };
  const timer = setInterval(() => void sample(), options.sampleIntervalMs ?? 1_000);

  let port = options.port;
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => answerError(response, error));
  });
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // Only names of this machine: a page elsewhere that points a DNS name at 127.0.0.1 gets nothing.
    if (!allowedHosts().has(request.headers.host ?? '')) throw new RequestError(421, 'the console answers on 127.0.0.1 only');
    const url = new URL(request.url ?? '/', `http://${request.headers.host}`);
    const page = PAGE_FILES[url.pathname];
    if (request.method === 'GET' && page) {
      response.writeHead(200, { 'content-type': page.type, ...SECURITY_HEADERS });
      response.end(readFileSync(join(PAGE_DIR, page.file)));
      return;
    }
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'api') throw new RequestError(404, `nothing at ${url.pathname}`);
    const route = `${request.method} ${parts.slice(1, 2).join('/')}`;
    const [, , first, second, third] = parts;
    switch (route) {
      case 'GET pipeline':
        return answer(response, {
          graph,
          deadLetters: consumersWithDeadLetters(access.pipeline),
          stores: storeNames(access),
          explainable: explainableTopics(access),
        });
      case 'GET live':
        if (first === 'stream') {
          response.writeHead(200, { 'content-type': 'text/event-stream', ...SECURITY_HEADERS, connection: 'keep-alive' });
          response.write(': the pipeline, live\n\n');
          if (latest) response.write(`data: ${JSON.stringify(latest)}\n\n`);
          watchers.add(response);
          request.on('close', () => watchers.delete(response));
          void sample();
          return;
        }
        return answer(response, latest ?? (await metrics.sample()));
      case 'GET dead-letters': {
        const { consumer, topic, letters } = await deadLettersOf(access, required(first, 'a consumer'));
        if (second === undefined) return answer(response, { consumer: consumer.name, topic, letters: letters.map(letterSummary) });
        const letter = letterAt(letters, consumer, topic, { partition: whole(second, 'partition'), offset: whole(third, 'offset') });
        return answer(response, await letterInFull(access, topic, letter));
      }
      case 'POST dead-letters': {
        if (second !== 'redrive') throw new RequestError(404, `nothing at ${url.pathname}`);
        checkOwnPage(request);
        const body = await jsonBody(request);
        const { consumer, topic, letters } = await deadLettersOf(access, required(first, 'a consumer'));
        const offset = body.offset;
        if (offset !== undefined && (typeof offset !== 'string' || !/^\d+:\d+$/.test(offset)))
          throw new UsageError(`offset must be "<partition>:<offset>", got ${JSON.stringify(offset)}`);
        const only =
          offset === undefined
            ? undefined
            : letterAt(letters, consumer, topic, { partition: Number(offset.split(':')[0]), offset: Number(offset.split(':')[1]) });
        return answer(response, await redriveLetters(access, consumer, topic, letters, only));
      }
      case 'GET state':
        return answer(response, await storedStateOf(access, required(first, 'a join or hot stream'), required(second, 'a key')));
      case 'GET explain':
        return answer(response, await explainRecord(access, required(first, 'a topic'), required(second, 'a key')));
      default:
        throw new RequestError(404, `nothing at ${request.method} ${url.pathname}`);
    }
  }

  /** A redrive comes from this console's own page: JSON, the confirmation header, and this origin if the browser names one. */
  function checkOwnPage(request: IncomingMessage): void {
    const origin = request.headers.origin;
    if (origin !== undefined && !allowedHosts().has(origin.replace(/^http:\/\//, '')))
      throw new RequestError(403, `a redrive is accepted from the console's own page only, not from ${origin}`);
    if (!(request.headers['content-type'] ?? '').startsWith('application/json') || request.headers[CONFIRM_HEADER] !== 'redrive')
      throw new RequestError(
        403,
        `a redrive needs a JSON body and the ${CONFIRM_HEADER}: redrive header the console's page sends once you confirm`,
      );
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    async stop() {
      clearInterval(timer);
      for (const watcher of watchers) watcher.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await admin.disconnect().catch(() => undefined);
    },
  };
}

function required(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new UsageError(`the request needs ${what}`);
  return value;
}

function whole(value: string | undefined, what: string): number {
  if (value === undefined || !/^\d+$/.test(value)) throw new UsageError(`${what} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

const MAX_BODY_BYTES = 4096;

async function jsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new RequestError(413, `a request body of more than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Answered below.
  }
  throw new UsageError('the request body must be a JSON object');
}

function answer(response: ServerResponse, value: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS });
  response.end(JSON.stringify(value));
}

/** Every failure reaches the page as JSON it shows: what went wrong, in the CLI's words. */
function answerError(response: ServerResponse, error: unknown): void {
  const status = error instanceof RequestError ? error.status : error instanceof UsageError ? 400 : error instanceof CliError ? 404 : 502;
  const message = error instanceof RequestError ? error.message : explainFailure(error);
  if (response.headersSent) {
    response.end();
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS });
  response.end(JSON.stringify({ error: message, status }));
}
