import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PlatformError } from '../../errors';
import { CliError, NotFoundError, UsageError } from '../errors';
import { explainFailure } from '../explain-failure';
import { deadLettersOf, letterAt, letterInFull, letterSummary, parseLetterPosition, redriveLetters } from '../operations/dead-letters';
import { explainableTopics, explainRecord } from '../operations/lineage';
import type { PlatformAccess } from '../operations/platform-access';
import { consumersWithDeadLetters } from '../operations/pipeline-parts';
import { storedStateOf, storeNames } from '../operations/stored-state';
import { ConsoleRequestError } from './errors';
import { LiveMetrics, type LiveSnapshot, type LiveSource } from './live-metrics';
import { pipelineGraph } from './pipeline-graph';

export interface ConsoleOptions {
  readonly access: PlatformAccess;
  readonly live: LiveSource;
  /** 0: any free port. */
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

/** The page's files, read once when the console starts and served as they are: no build step. */
const PAGE_FILES: ReadonlyArray<{ path: string; file: string; type: string }> = [
  { path: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/console.js', file: 'console.js', type: 'text/javascript; charset=utf-8' },
  { path: '/console.css', file: 'console.css', type: 'text/css; charset=utf-8' },
];
const PAGE_DIR = join(__dirname, 'page');

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const MAX_BODY_BYTES = 4096;

/**
 * The local web console: the pipeline's picture with live numbers, dead
 * letters (and their redrive), stored state and the lineage of join results,
 * over a small JSON API on 127.0.0.1 only. Read-only except for redrive, which
 * the page confirms first and the server accepts only from its own page.
 */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const { access } = options;
  const page = new Map(PAGE_FILES.map((entry) => [entry.path, { type: entry.type, body: readFileSync(join(PAGE_DIR, entry.file)) }]));
  const graph = pipelineGraph(access.pipeline);
  let handler: (request: IncomingMessage, response: ServerResponse) => Promise<void> = async (_request, response) =>
    answerError(response, new ConsoleRequestError(503, 'the console is starting'));
  const server = createServer((request, response) => {
    handler(request, response).catch((error: unknown) => answerError(response, error));
  });
  // Bound first: a port taken since it was checked fails here, before anything else is opened.
  const port = await listen(server, options.port);
  const admin = await (async () => {
    const client = (await access.kafka()).admin();
    await client.connect();
    return client;
  })().catch(async (error: unknown) => {
    await closeServer(server);
    throw error;
  });
  const live = liveNumbers(new LiveMetrics(access.pipeline, options.live, admin), options.sampleIntervalMs ?? 1_000);
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const redriving = new Set<string>();
  const explaining = oneAtATime();

  /** The API: each route takes an exact number of path segments (after /api/<route>). */
  const routes: Record<
    string,
    { method: 'GET' | 'POST'; segments: number[]; run(parts: string[], request: IncomingMessage): Promise<unknown> }
  > = {
    pipeline: {
      method: 'GET',
      segments: [0],
      run: async () => ({
        graph,
        deadLetters: consumersWithDeadLetters(access.pipeline),
        stores: storeNames(access),
        explainable: explainableTopics(access),
      }),
    },
    live: { method: 'GET', segments: [0], run: () => live.current() },
    'dead-letters': {
      method: 'GET',
      segments: [1, 3],
      async run([consumerName, partition, offset]) {
        const position = partition === undefined ? undefined : parseLetterPosition(`${partition}:${offset}`, 'the letter');
        const { consumer, topic, letters } = await deadLettersOf(access, consumerName!);
        if (!position) return { consumer: consumer.name, topic, letters: letters.map(letterSummary) };
        return letterInFull(access, topic, letterAt(letters, consumer, topic, position));
      },
    },
    redrive: {
      method: 'POST',
      segments: [1],
      async run([consumerName], request) {
        checkOwnPage(request);
        const { offset } = await jsonBody(request);
        if (offset !== undefined && typeof offset !== 'string')
          throw new UsageError(`offset must be "<partition>:<offset>", got ${JSON.stringify(offset)}`);
        // Checked before anything is read: a wrong offset costs nothing.
        const position = offset === undefined ? undefined : parseLetterPosition(offset, 'offset');
        if (redriving.has(consumerName!))
          throw new ConsoleRequestError(409, `a redrive of ${consumerName}'s letters is running: wait for it, then list them again`);
        redriving.add(consumerName!);
        try {
          const { consumer, topic, letters } = await deadLettersOf(access, consumerName!);
          const only = position === undefined ? undefined : letterAt(letters, consumer, topic, position);
          return await redriveLetters(access, consumer, topic, letters, only);
        } finally {
          redriving.delete(consumerName!);
        }
      },
    },
    state: { method: 'GET', segments: [2], run: ([name, key]) => storedStateOf(access, name!, key!) },
    // One at a time: each explanation reads several records back through throwaway consumer groups.
    explain: { method: 'GET', segments: [2], run: ([topic, key]) => explaining(() => explainRecord(access, topic!, key!)) },
  };

  handler = async (request, response) => {
    // Only names of this machine: a page elsewhere that points a DNS name at 127.0.0.1 gets nothing.
    if (!hosts.has(request.headers.host ?? '')) throw new ConsoleRequestError(421, 'the console answers on 127.0.0.1 only');
    const path = (request.url ?? '/').split('?')[0]!;
    const file = page.get(path);
    if (file) {
      if (request.method !== 'GET' && request.method !== 'HEAD') throw new ConsoleRequestError(405, `${path} is read with GET`);
      response.writeHead(200, { 'content-type': file.type, ...SECURITY_HEADERS });
      response.end(request.method === 'HEAD' ? undefined : file.body);
      return;
    }
    // What a page of another site asks for gets nothing, read or write (browsers name it in Sec-Fetch-Site).
    if (request.headers['sec-fetch-site'] === 'cross-site')
      throw new ConsoleRequestError(403, "the console's API answers its own page only");
    const parts = segments(path);
    if (parts[0] !== 'api' || parts.length < 2) throw new ConsoleRequestError(404, `nothing at ${path}`);
    if (parts[1] === 'live' && parts[2] === 'stream' && parts.length === 3 && request.method === 'GET') {
      live.watch(request, response);
      return;
    }
    // POST /api/dead-letters/<consumer>/redrive is the redrive route.
    const name = parts[1] === 'dead-letters' && request.method === 'POST' && parts.at(-1) === 'redrive' ? 'redrive' : parts[1]!;
    const args = name === 'redrive' ? parts.slice(2, -1) : parts.slice(2);
    const route = routes[name];
    if (!route?.segments.includes(args.length)) throw new ConsoleRequestError(404, `nothing at ${path}`);
    if (request.method !== route.method) throw new ConsoleRequestError(405, `${path} takes ${route.method}`);
    answer(response, 200, await route.run(args, request));
  };

  /** A redrive comes from this console's own page: JSON, the confirmation header, and this origin if the browser names one. */
  function checkOwnPage(request: IncomingMessage): void {
    const origin = request.headers.origin;
    if (origin !== undefined && !hosts.has(origin.replace(/^http:\/\//, '')))
      throw new ConsoleRequestError(403, `a redrive is accepted from the console's own page only, not from ${origin}`);
    if (!(request.headers['content-type'] ?? '').startsWith('application/json') || request.headers[CONFIRM_HEADER] !== 'redrive')
      throw new ConsoleRequestError(
        403,
        `a redrive needs a JSON body and the ${CONFIRM_HEADER}: redrive header the console's page sends once you confirm`,
      );
  }

  return {
    url: `http://127.0.0.1:${port}/`,
    async stop() {
      live.stop();
      await closeServer(server);
      await admin.disconnect().catch(() => undefined);
    },
  };
}

/**
 * The live numbers: sampled every interval while a page watches (server-sent
 * events), and on demand otherwise; one sample at a time, so two never overlap.
 */
function liveNumbers(metrics: LiveMetrics, intervalMs: number) {
  const watchers = new Set<ServerResponse>();
  let latest: { snapshot: LiveSnapshot; at: number } | undefined;
  let inFlight: Promise<LiveSnapshot> | undefined;
  const sample = () => {
    inFlight ??= metrics
      .sample()
      .then((snapshot) => {
        latest = { snapshot, at: Date.now() };
        const event = `data: ${JSON.stringify(snapshot)}\n\n`;
        for (const watcher of watchers) watcher.write(event);
        return snapshot;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  const timer = setInterval(() => {
    // Each part of a sample reports its own problem inside the snapshot; a failure of the whole is retried next time.
    if (watchers.size > 0) sample().catch(() => undefined);
  }, intervalMs);
  return {
    /** The latest sample when it is fresh, else a new one. */
    current: () => (latest && Date.now() - latest.at < intervalMs ? Promise.resolve(latest.snapshot) : sample()),
    watch(request: IncomingMessage, response: ServerResponse) {
      response.writeHead(200, { 'content-type': 'text/event-stream', ...SECURITY_HEADERS, connection: 'keep-alive' });
      response.write(': the pipeline, live\n\n');
      if (latest) response.write(`data: ${JSON.stringify(latest.snapshot)}\n\n`);
      watchers.add(response);
      request.on('close', () => watchers.delete(response));
      sample().catch(() => undefined);
    },
    stop() {
      clearInterval(timer);
      for (const watcher of watchers) watcher.end();
      watchers.clear();
    },
  };
}

/** Runs one piece of work at a time, in the order asked. */
function oneAtATime() {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The path's segments, decoded; a malformed escape is the request's fault. */
function segments(path: string): string[] {
  try {
    return path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new ConsoleRequestError(400, `the path ${path} is not valid percent-encoding`);
  }
}

async function jsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ConsoleRequestError(413, `a request body of more than ${MAX_BODY_BYTES} bytes`);
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

function answer(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS });
  response.end(JSON.stringify(value));
}

/**
 * The status a failure is answered with: the request's own (4xx), something
 * not there (404), a command refused as things stand (409), a service that
 * did not answer or failed (502), and anything else, a defect here (500).
 */
function statusOf(error: unknown): number {
  if (error instanceof ConsoleRequestError) return error.status;
  if (error instanceof UsageError) return 400;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof CliError) return 409;
  const name = (error as { name?: unknown }).name;
  const fromService =
    error instanceof PlatformError ||
    (typeof name === 'string' && name.startsWith('KafkaJS')) ||
    (error as { $metadata?: unknown }).$metadata !== undefined;
  return fromService ? 502 : 500;
}

/** Every failure reaches the page as JSON it shows: what went wrong, in the CLI's words. */
function answerError(response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const status = statusOf(error);
  answer(response, status, { error: explainFailure(error), status });
}
