import type { Schema } from 'avsc';
import { SchemaError } from './errors';

export interface SchemaIdCacheOptions {
  /** How long an answer that no retry changes (an unknown id, a schema that is not Avro) is kept. */
  readonly failureTtlMs: number;
  /** The most such answers kept; the oldest is forgotten first. */
  readonly maxFailures: number;
  /** The clock, in milliseconds. */
  readonly now: () => number;
}

/**
 * What a schema registry answered, per schema id, so a batch pays for an id
 * once instead of once per record:
 *
 * - a schema found is kept for good: a registry never changes the schema behind an id;
 * - a {@link SchemaError} (the id is unknown, or its schema is not one this
 *   platform reads) is kept for `failureTtlMs`, then the id is asked again, so
 *   an id registered late is seen. At most `maxFailures` are kept, so a stream
 *   of garbage ids cannot grow the cache without bound;
 * - while an id is being asked, everyone asking for it shares that one look-up.
 *
 * Anything else (the registry unreachable, a 5xx, a timeout) is not kept: the
 * next read asks again.
 */
export class SchemaIdCache {
  private readonly found = new Map<number, Schema>();
  /** In the order they were kept, which is the order they expire in: the first entry is the oldest. */
  private readonly failures = new Map<number, { readonly error: SchemaError; readonly expiresAt: number }>();
  private readonly inFlight = new Map<number, Promise<Schema>>();

  constructor(private readonly options: SchemaIdCacheOptions) {}

  /** The schema behind `id`, from what is kept, from the look-up already under way, or from `lookUp`. */
  get(id: number, lookUp: () => Promise<Schema>): Promise<Schema> {
    const schema = this.found.get(id);
    if (schema !== undefined) return Promise.resolve(schema);
    const failure = this.failures.get(id);
    if (failure !== undefined) {
      if (this.options.now() < failure.expiresAt) return Promise.reject(failure.error);
      this.failures.delete(id);
    }
    let pending = this.inFlight.get(id);
    if (pending === undefined) {
      pending = lookUp()
        .then(
          (answer) => {
            this.found.set(id, answer);
            return answer;
          },
          (error: unknown) => {
            if (error instanceof SchemaError) this.keepFailure(id, error);
            throw error;
          },
        )
        .finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    return pending;
  }

  private keepFailure(id: number, error: SchemaError): void {
    const now = this.options.now();
    // Expired entries sit at the front; beyond the bound, the oldest goes even if it has not expired.
    for (const [oldest, { expiresAt }] of this.failures) {
      if (expiresAt > now && this.failures.size < this.options.maxFailures) break;
      this.failures.delete(oldest);
    }
    if (this.options.maxFailures > 0) this.failures.set(id, { error, expiresAt: now + this.options.failureTtlMs });
  }
}
