import { Type, type Schema } from 'avsc';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { compatibilityProblems, type CompatibilityLevel } from './compatibility';
import { IncompatibleSchemaError, SchemaError, SchemaRegistryUnavailableError, UnknownSchemaError } from './errors';
import { SchemaIdCache } from './schema-id-cache';

/** The part of a schema registry the platform uses: Confluent Schema Registry's, for Avro. */
export interface SchemaRegistry {
  /** Registers a schema under a subject (or finds it registered) and returns its global id. */
  register(subject: string, schema: Schema): Promise<number>;
  schemaById(id: number): Promise<Schema>;
  /** Sets the subject's compatibility level, where the registry keeps one per subject (a real registry). */
  setCompatibility?(subject: string, level: CompatibilityLevel): Promise<void>;
}

interface RegistryFile {
  nextId: number;
  schemas: Array<{ id: number; subject: string; version: number; schema: string }>;
}

/** A lock older than this was left by a process that died while holding it. */
const STALE_LOCK_MS = 10_000;

/**
 * A file-backed stand-in for Confluent Schema Registry, for the local runtime
 * and tests: ids are global and stable per schema (the same schema under two
 * subjects has one id), and a registration that breaks the subject's
 * compatibility level is refused, as the real registry does. Registrations
 * take a lock file, so the runtime, the CLI and tests may register at once.
 */
export class FileSchemaRegistry implements SchemaRegistry {
  constructor(
    private readonly path: string,
    private readonly levelOf: (subject: string) => CompatibilityLevel = () => 'BACKWARD',
  ) {}

  async register(subject: string, schema: Schema): Promise<number> {
    return this.locked(() => this.registerUnlocked(subject, schema));
  }

  private registerUnlocked(subject: string, schema: Schema): number {
    // Kept as written (defaults, docs, logical types are what compatibility and readers need); compared canonically.
    const canonical = canonicalForm(schema);
    const file = this.read();
    const ofSubject = file.schemas.filter((entry) => entry.subject === subject).sort((a, b) => a.version - b.version);
    const existing = ofSubject.find((entry) => canonicalForm(JSON.parse(entry.schema) as Schema) === canonical);
    if (existing) return existing.id;
    const level = this.levelOf(subject);
    const problems = compatibilityProblems(
      level,
      ofSubject.map((entry) => Type.forSchema(JSON.parse(entry.schema) as Schema)),
      Type.forSchema(schema),
    );
    if (problems.length > 0) throw new IncompatibleSchemaError(subject, level, problems);
    const id = file.schemas.find((entry) => canonicalForm(JSON.parse(entry.schema) as Schema) === canonical)?.id ?? file.nextId++;
    file.schemas.push({ id, subject, version: (ofSubject.at(-1)?.version ?? 0) + 1, schema: JSON.stringify(schema) });
    this.write(file);
    return id;
  }

  async schemaById(id: number): Promise<Schema> {
    const entry = this.read().schemas.find((candidate) => candidate.id === id);
    if (!entry) throw new UnknownSchemaError(`no schema with id ${id} in ${this.path}`);
    return JSON.parse(entry.schema) as Schema;
  }

  /**
   * Runs `work` holding `<file>.lock`, created exclusively and holding this
   * holder's token, so only the holder removes it. A lock left by a process that
   * died holding it is broken after a while, by renaming it to a name of the
   * breaker's own first: of two processes breaking it at once, one wins.
   */
  private async locked<T>(work: () => T): Promise<T> {
    const lock = `${this.path}.lock`;
    const token = `${process.pid}-${randomUUID()}`;
    mkdirSync(dirname(this.path), { recursive: true });
    for (;;) {
      try {
        writeFileSync(lock, token, { flag: 'wx' });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
        if (age > STALE_LOCK_MS) {
          const claimed = `${lock}.stale-${token}`;
          try {
            renameSync(lock, claimed);
            rmSync(claimed, { force: true });
          } catch {
            // Another process broke it first, or its holder finished: try again.
          }
        } else {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }
    try {
      return work();
    } finally {
      // Gone or someone else's only if ours was broken as stale: theirs is left alone.
      if (existsSync(lock) && readFileSync(lock, { encoding: 'utf8', flag: 'r' }).toString() === token) rmSync(lock, { force: true });
    }
  }

  private read(): RegistryFile {
    return existsSync(this.path) ? (JSON.parse(readFileSync(this.path, 'utf8')) as RegistryFile) : { nextId: 1, schemas: [] };
  }

  private write(file: RegistryFile): void {
    mkdirSync(dirname(this.path), { recursive: true });
    // Written whole, then renamed: a reader never sees half a file.
    const temporary = `${this.path}.${process.pid}-${randomUUID()}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`);
    renameSync(temporary, this.path);
  }
}

const REQUEST_TIMEOUT_MS = 10_000;
/** Confluent's codes for an unknown subject (40401), version (40402) and schema (40403). */
const REGISTRY_NOT_FOUND_CODES = new Set([40401, 40402, 40403]);
/** Statuses that say nothing about the schema: a credential, a proxy or a timeout to fix, then retry. */
const TRANSIENT_STATUSES = new Set([401, 403, 407, 408, 429]);
/** Pauses before asking again for a schema id the registry did not know: a just-registered id may lag on a replica. */
const UNKNOWN_ID_RETRY_DELAYS_MS = [250, 1_000];
/**
 * How long an id the registry did not know (even after those retries) is called unknown without asking.
 * Longer than a function's default timeout (60 s), so an invocation retried after a timeout finds its
 * ids still known to be unknown; short enough that an id registered late is read within a minute.
 */
const UNKNOWN_ID_TTL_MS = 60_000;
/** The most unknown ids remembered (a few hundred kB): garbage in the id bytes cannot grow the cache without bound. */
const MAX_UNKNOWN_IDS = 10_000;
/**
 * How many ids per {@link UNKNOWN_ID_TTL_MS} get the retries for a lagging replica. A release brings one
 * or two new ids; many unknown ids at once are bad bytes or another environment's registry, which no
 * wait mends, and each would cost a record the whole wait, one record after another.
 */
const RETRIED_UNKNOWN_IDS_PER_TTL = 4;

/** Tuning for {@link HttpSchemaRegistry}'s look-ups by id; the defaults are the platform's. */
export interface HttpSchemaRegistryOptions {
  /** How long an unknown id (or an id whose schema is not Avro) is answered from memory. @default 60_000 */
  readonly unknownIdTtlMs?: number;
  /** The most such ids remembered; the oldest is forgotten first. @default 10_000 */
  readonly maxUnknownIds?: number;
  /** Pauses before asking again for an id the registry did not know, in case a replica lags. @default [250, 1_000] */
  readonly unknownIdRetryDelaysMs?: readonly number[];
  /** How many ids per `unknownIdTtlMs` get those retries; the others are unknown on the first answer. @default 4 */
  readonly retriedUnknownIdsPerTtl?: number;
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

function errorCodeOf(body: string): number {
  try {
    return Number((JSON.parse(body) as { error_code?: unknown }).error_code);
  } catch {
    return Number.NaN;
  }
}

/**
 * A real Confluent-compatible Schema Registry over its REST API (Confluent Platform, Confluent Cloud, Redpanda, Karapace).
 *
 * Look-ups by id are cached (see {@link SchemaIdCache}): a schema found is kept for good, an id the registry
 * does not know is answered from memory for a minute, and concurrent look-ups of one id share one request,
 * so a batch full of records with an unknown id costs one look-up, not one per record. A registry that
 * cannot be asked is never remembered: each read asks again and fails retriable.
 *
 * @example
 * const registry = new HttpSchemaRegistry('https://schema-registry.example.com', 'key:secret', false);
 * const schema = await registry.schemaById(100_042);
 */
export class HttpSchemaRegistry implements SchemaRegistry {
  private credentialsRead: Promise<string | undefined> | undefined;
  private readonly schemas: SchemaIdCache;
  private readonly retryDelaysMs: readonly number[];
  private readonly retriedPerTtl: number;
  private readonly unknownIdTtlMs: number;
  private readonly now: () => number;
  /** When each id that was given the retries for a lagging replica started them, oldest first. */
  private readonly retryStarts: number[] = [];

  constructor(
    private readonly baseUrl: string,
    /**
     * `user:password` for basic auth (Confluent Cloud API key and secret), or
     * where to read it on first use (a secret): read once, again only after a failure.
     */
    private readonly credentials?: string | (() => Promise<string>),
    /**
     * False: `register` only looks the schema up under its subject and fails if
     * it is not there, as Confluent advises for production (`auto.register.schemas=false`):
     * schemas are published by a release step (`platform schemas publish`), and
     * running code needs no write access to the registry. @default true
     */
    private readonly autoRegister = true,
    {
      unknownIdTtlMs = UNKNOWN_ID_TTL_MS,
      maxUnknownIds = MAX_UNKNOWN_IDS,
      unknownIdRetryDelaysMs = UNKNOWN_ID_RETRY_DELAYS_MS,
      retriedUnknownIdsPerTtl = RETRIED_UNKNOWN_IDS_PER_TTL,
      now = Date.now,
    }: HttpSchemaRegistryOptions = {},
  ) {
    this.schemas = new SchemaIdCache({ failureTtlMs: unknownIdTtlMs, maxFailures: maxUnknownIds, now });
    this.retryDelaysMs = unknownIdRetryDelaysMs;
    this.retriedPerTtl = retriedUnknownIdsPerTtl;
    this.unknownIdTtlMs = unknownIdTtlMs;
    this.now = now;
  }

  async register(subject: string, schema: Schema): Promise<number> {
    // Sent as written: the registry needs the defaults to judge compatibility.
    const body = JSON.stringify({ schema: JSON.stringify(schema) });
    const path = `/subjects/${encodeURIComponent(subject)}`;
    if (this.autoRegister) return ((await this.request(`${path}/versions`, { method: 'POST', body })) as { id: number }).id;
    try {
      return ((await this.request(path, { method: 'POST', body })) as { id: number }).id;
    } catch (error) {
      if (!(error instanceof UnknownSchemaError)) throw error;
      throw new UnknownSchemaError(
        `the schema is not registered under "${subject}", and this process may not register it: publish it first (platform schemas publish)`,
        false,
        { cause: error },
      );
    }
  }

  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    await this.request(`/config/${encodeURIComponent(subject)}`, { method: 'PUT', body: JSON.stringify({ compatibility: level }) });
  }

  /**
   * The schema registered under `id`, asked once per id (see the class notes on caching).
   * @throws UnknownSchemaError for an id the registry does not know (remembered for `unknownIdTtlMs`);
   *   SchemaError for a schema that is not Avro (JSON Schema, Protobuf), which no Avro reader can use;
   *   SchemaRegistryUnavailableError when the registry cannot be asked (never remembered)
   */
  schemaById(id: number): Promise<Schema> {
    return this.schemas.get(id, () => this.lookUp(id));
  }

  private async lookUp(id: number): Promise<Schema> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return avroSchemaOf(id, await this.request(`/schemas/ids/${id}`, { method: 'GET' }));
      } catch (error) {
        const delay = this.retryDelaysMs[attempt];
        if (!(error instanceof UnknownSchemaError) || delay === undefined) throw error;
        if (attempt === 0 && !this.mayWaitForReplica()) {
          const recent = this.retryStarts.length;
          throw new UnknownSchemaError(
            `${error.message} (not asked again: ${recent} other ids already waited for a lagging replica in the last ${this.unknownIdTtlMs / 1000} s)`,
            false,
            { cause: error },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Whether one more unknown id may wait for a lagging replica: {@link RETRIED_UNKNOWN_IDS_PER_TTL} may, per TTL. */
  private mayWaitForReplica(): boolean {
    const now = this.now();
    while (this.retryStarts.length > 0 && now - this.retryStarts[0]! >= this.unknownIdTtlMs) this.retryStarts.shift();
    if (this.retryStarts.length >= this.retriedPerTtl) return false;
    this.retryStarts.push(now);
    return true;
  }

  /** @throws SchemaRegistryUnavailableError when the credentials cannot be read (retried: the secret may be reachable later) */
  private readCredentials(): Promise<string | undefined> {
    const source = this.credentials;
    if (typeof source !== 'function') return Promise.resolve(source);
    this.credentialsRead ??= source().catch((error: unknown) => {
      this.credentialsRead = undefined;
      throw new SchemaRegistryUnavailableError(`the schema registry's credentials could not be read: ${String(error)}`, { cause: error });
    });
    return this.credentialsRead;
  }

  private async request(path: string, init: { method: string; body?: string }): Promise<unknown> {
    const url = `${this.baseUrl.replace(/\/$/, '')}${path}`;
    let response: Response;
    let text: string;
    const credentials = await this.readCredentials();
    try {
      response = await fetch(url, {
        ...init,
        headers: {
          'Content-Type': 'application/vnd.schemaregistry.v1+json',
          ...(credentials ? { Authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } : {}),
        },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      throw new SchemaRegistryUnavailableError(`${init.method} ${url} failed: ${String(error)}`, { cause: error });
    }
    if (response.status === 404) {
      // Only the registry's own "not found" codes mean the schema or subject is unknown. A bare 404 is a wrong
      // base URL: called unknown, every record would be dead-lettered, when it is the configuration to fix.
      if (REGISTRY_NOT_FOUND_CODES.has(errorCodeOf(text))) throw new UnknownSchemaError(`${init.method} ${path}: ${text}`);
      throw new SchemaRegistryUnavailableError(
        `${init.method} ${url} answered 404 without a Schema Registry error code: is ${url.slice(0, url.length - path.length)} the registry's API base URL? ${text.slice(0, 200)}`,
      );
    }
    if (response.status === 409) throw new IncompatibleSchemaError(path, 'the registry’s configured', [text]);
    // Credentials read from a secret may have been rotated: read them again next time.
    if ((response.status === 401 || response.status === 403) && typeof this.credentials === 'function') this.credentialsRead = undefined;
    // Credentials, proxies, throttling and server errors pass; anything else is a request the registry will never accept.
    if (TRANSIENT_STATUSES.has(response.status) || response.status >= 500) {
      throw new SchemaRegistryUnavailableError(`${init.method} ${url} answered ${response.status}: ${text.slice(0, 200)}`);
    }
    if (!response.ok) throw new SchemaError(`${init.method} ${path} answered ${response.status}: ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // A proxy's HTML page, say: not the registry answering.
      throw new SchemaRegistryUnavailableError(
        `${init.method} ${url} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
  }
}

/** The Avro schema in a `GET /schemas/ids/<id>` answer. @throws SchemaError when it holds another kind of schema, or none */
function avroSchemaOf(id: number, body: unknown): Schema {
  const { schema, schemaType } = body as { schema?: unknown; schemaType?: unknown };
  if (schemaType !== undefined && schemaType !== 'AVRO') throw new SchemaError(`schema ${id} is ${String(schemaType)}, not Avro`);
  if (typeof schema !== 'string') throw new SchemaError(`the registry's answer for schema ${id} holds no schema`);
  try {
    return JSON.parse(schema) as Schema;
  } catch (error) {
    throw new SchemaError(`schema ${id} is not an Avro schema (not JSON: ${(error as Error).message})`);
  }
}

/** One text per schema, so the same schema is recognised however its file was formatted (defaults and docs included). */
export function canonicalForm(schema: Schema): string {
  return JSON.stringify(Type.forSchema(schema).schema({ exportAttrs: true }));
}
