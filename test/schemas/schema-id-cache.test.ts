import { findFreePort } from '../../shared/local/ports';
import {
  avroValueFormat,
  encodeWireFormat,
  HttpSchemaRegistry,
  repositorySchemas,
  SchemaRegistryUnavailableError,
  UnknownSchemaError,
  UnreadableValueError,
  type HttpSchemaRegistryOptions,
  type ValueFormat,
} from '../../shared/schemas';
import { startSlowSchemaRegistry, type SlowSchemaRegistry } from './slow-schema-registry';

const merchants = repositorySchemas().get('merchants-value')!;
const merchant = { merchantId: 'm-1', name: 'Corner Shop', country: 'DE', website: null };
/** A merchant value as a producer with schema `id` writes it. */
const framed = (id: number) => encodeWireFormat(id, merchants.latest.type.toBuffer(merchant));
/** A batch of `size` values whose schema ids take turns among `ids`. */
const batchOf = (size: number, ids: readonly number[]) => Array.from({ length: size }, (_, index) => framed(ids[index % ids.length]!));
/** The retries each unknown id gets by default, besides its first request (250 ms, then 1 s). */
const RETRIES = 2;

/** Reads values one after another, as the hot streams, the joins and the projection do; each outcome is the value or the error. */
async function readInTurn(format: ValueFormat, values: readonly Buffer[]): Promise<unknown[]> {
  const outcomes: unknown[] = [];
  for (const bytes of values) outcomes.push(await format.decode(bytes).catch((error: unknown) => error));
  return outcomes;
}

/** A clock the test moves by hand. */
function manualClock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('Class: HttpSchemaRegistry › look-ups by schema id, against a registry that answers in 300 ms', () => {
  let server: SlowSchemaRegistry;
  const formatOn = (options: HttpSchemaRegistryOptions = {}) => {
    const registry = new HttpSchemaRegistry(server.url, undefined, false, options);
    return avroValueFormat({ topic: 'merchants', schemas: merchants, registry: () => registry });
  };

  beforeEach(async () => {
    server = await startSlowSchemaRegistry({ delayMs: 300 });
  });
  afterEach(() => server.close());

  it('reads a batch of 500 records carrying 3 unknown ids with one look-up per id (and its retries), rejecting every record as SCHEMA_NOT_FOUND', async () => {
    // Prepare
    const format = formatOn();
    const values = batchOf(500, [901, 902, 903]);
    const started = Date.now();

    // Act
    const outcomes = await readInTurn(format, values);

    // Assess
    expect(outcomes.every((outcome) => outcome instanceof UnreadableValueError && outcome.reason === 'SCHEMA_NOT_FOUND')).toBe(true);
    expect(server.requests()).toBe(3 * (1 + RETRIES));
    expect(Date.now() - started).toBeLessThan(30_000); // 3 × (3 × 300 ms + 1.25 s) ≈ 6.5 s; before, 500 × 2.15 s
  });

  it('shares one look-up among concurrent reads of the same unknown id', async () => {
    const format = formatOn();

    const outcomes = await Promise.all(batchOf(100, [77]).map((bytes) => format.decode(bytes).catch((error: unknown) => error)));

    expect(outcomes.every((outcome) => outcome instanceof UnreadableValueError && outcome.reason === 'SCHEMA_NOT_FOUND')).toBe(true);
    expect(server.requests('/schemas/ids/77')).toBe(1 + RETRIES);
  });

  it('remembers that an id is unknown for 60 s: a second batch within that time asks the registry nothing', async () => {
    // Prepare
    const clock = manualClock();
    const format = formatOn({ now: clock.now });
    await readInTurn(format, batchOf(10, [901]));
    const asked = server.requests();

    // Act
    clock.advance(59_999);
    const outcomes = await readInTurn(format, batchOf(500, [901]));

    // Assess
    expect(outcomes.every((outcome) => outcome instanceof UnreadableValueError && outcome.cause instanceof UnknownSchemaError)).toBe(true);
    expect(server.requests() - asked).toBe(0);
  });

  it('asks again for an unknown id after 60 s, and reads the records of an id registered in the meantime', async () => {
    // Prepare
    const clock = manualClock();
    const format = formatOn({ now: clock.now });
    await expect(format.decode(framed(42))).rejects.toThrow(/^SCHEMA_NOT_FOUND/);
    server.add(42, merchants.latest.schema);

    // Act
    const stillRemembered = await format.decode(framed(42)).catch((error: unknown) => error);
    clock.advance(60_000);
    const afterTtl = await readInTurn(format, batchOf(50, [42]));

    // Assess
    expect(stillRemembered).toBeInstanceOf(UnreadableValueError);
    expect(afterTtl).toEqual(Array.from({ length: 50 }, () => merchant));
    expect(server.requests('/schemas/ids/42')).toBe(1 + RETRIES + 1);
  });

  it('keeps a schema once found: 500 records of a known id cost one request', async () => {
    server.add(5, merchants.latest.schema);
    const format = formatOn();

    const outcomes = await readInTurn(format, batchOf(500, [5]));

    expect(outcomes.every((outcome) => JSON.stringify(outcome) === JSON.stringify(merchant))).toBe(true);
    expect(server.requests()).toBe(1);
  });

  it('never remembers a registry answering 5xx as an unknown id: each read fails retriable and asks again, and reads once it recovers', async () => {
    // Prepare
    server.failWith(503);
    const format = formatOn();

    // Act
    const whileDown = [
      await format.decode(framed(8)).catch((error: unknown) => error),
      await format.decode(framed(8)).catch((error: unknown) => error),
    ];
    server.recover();
    server.add(8, merchants.latest.schema);
    const recovered = await format.decode(framed(8));

    // Assess
    for (const failure of whileDown) {
      expect(failure).toBeInstanceOf(SchemaRegistryUnavailableError);
      expect(failure).toMatchObject({ retriable: true });
    }
    expect(recovered).toEqual(merchant);
    expect(server.requests('/schemas/ids/8')).toBe(3);
  });

  it('never remembers an unreachable registry as an unknown id: every read fails retriable', async () => {
    const nowhere = new HttpSchemaRegistry(`http://127.0.0.1:${await findFreePort()}`);

    const failures = [
      await nowhere.schemaById(9).catch((error: unknown) => error),
      await nowhere.schemaById(9).catch((error: unknown) => error),
    ];

    for (const failure of failures) expect(failure).toMatchObject({ name: 'SchemaRegistryUnavailableError', retriable: true });
  });

  it('forgets the oldest unknown id once it remembers as many as it may', async () => {
    const registry = new HttpSchemaRegistry(server.url, undefined, false, { maxUnknownIds: 2, unknownIdRetryDelaysMs: [] });
    const ask = (id: number) => registry.schemaById(id).catch((error: unknown) => error);

    for (const id of [1, 2, 3, 2, 3]) await ask(id);
    const beforeAskingForTheFirstAgain = server.requests();
    await ask(1);

    expect(beforeAskingForTheFirstAgain).toBe(3);
    expect(server.requests()).toBe(4);
  });
});

describe('Class: HttpSchemaRegistry › many different unknown ids (bad bytes, another registry’s ids)', () => {
  let server: SlowSchemaRegistry;

  afterEach(() => server.close());

  it('gives the wait for a lagging replica to at most 4 ids a minute, so records each with an id of its own cost one request each after that', async () => {
    // Prepare
    server = await startSlowSchemaRegistry({ delayMs: 50 });
    const registry = new HttpSchemaRegistry(server.url, undefined, false);
    const format = avroValueFormat({ topic: 'merchants', schemas: merchants, registry: () => registry });
    const ids = Array.from({ length: 20 }, (_, index) => 1_000 + index);
    const started = Date.now();

    // Act
    const outcomes = await readInTurn(format, batchOf(20, ids));

    // Assess
    expect(outcomes.every((outcome) => outcome instanceof UnreadableValueError && outcome.reason === 'SCHEMA_NOT_FOUND')).toBe(true);
    expect(server.requests()).toBe(4 * (1 + RETRIES) + 16);
    expect((outcomes.at(-1) as Error).message).toMatch(
      /not asked again: 4 other ids already waited for a lagging replica in the last 60 s/,
    );
    expect(Date.now() - started).toBeLessThan(20_000); // 4 × (3 × 50 ms + 1.25 s) + 16 × 50 ms ≈ 6.4 s; before, 20 × 1.4 s
  });

  it('looks a batch’s distinct ids up ahead, a few at a time, so reading the batch afterwards asks nothing', async () => {
    // Prepare
    server = await startSlowSchemaRegistry({ delayMs: 300 });
    server.add(5, merchants.latest.schema);
    const registry = new HttpSchemaRegistry(server.url, undefined, false);
    const format = avroValueFormat({ topic: 'merchants', schemas: merchants, registry: () => registry });
    const values = batchOf(200, [5, ...Array.from({ length: 19 }, (_, index) => 2_000 + index)]);
    const started = Date.now();

    // Act
    await format.prefetch!(values);
    const askedAhead = server.requests();
    const outcomes = await readInTurn(format, values);

    // Assess
    expect(askedAhead).toBe(1 + 4 * (1 + RETRIES) + 15);
    expect(server.requests()).toBe(askedAhead);
    expect(outcomes.filter((outcome) => outcome instanceof UnreadableValueError)).toHaveLength(190);
    expect(Date.now() - started).toBeLessThan(20_000); // ≈ 2.2 s + 16 / 4 × 300 ms ≈ 3.5 s; one after another, ≈ 13 s
  });

  it('stops looking ahead once the registry cannot be asked, leaving each read to fail retriable', async () => {
    server = await startSlowSchemaRegistry({ delayMs: 10 });
    server.failWith(503);
    const registry = new HttpSchemaRegistry(server.url, undefined, false);
    const format = avroValueFormat({ topic: 'merchants', schemas: merchants, registry: () => registry });

    await format.prefetch!(
      batchOf(
        100,
        Array.from({ length: 100 }, (_, index) => 3_000 + index),
      ),
    );

    expect(server.requests()).toBeLessThanOrEqual(4);
    await expect(format.decode(framed(3_000))).rejects.toThrow(SchemaRegistryUnavailableError);
  });
});
