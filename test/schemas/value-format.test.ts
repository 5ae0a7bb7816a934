import { Type, type Schema } from 'avsc';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  avroValueFormat,
  encodeWireFormat,
  FileSchemaRegistry,
  JSON_VALUE_FORMAT,
  readValue,
  SchemaValidationError,
  UnreadableValueError,
  writeValue,
  type SubjectSchemas,
} from '../../shared/schemas';

const merchantV1: Schema = {
  type: 'record',
  name: 'Merchant',
  fields: [
    { name: 'merchantId', type: 'string' },
    { name: 'name', type: 'string' },
  ],
};
const merchantV2: Schema = {
  type: 'record',
  name: 'Merchant',
  fields: [
    { name: 'merchantId', type: 'string' },
    { name: 'name', type: 'string' },
    { name: 'website', type: ['null', 'string'], default: null },
  ],
};
/** The repository's versions of a subject, newest last, as `loadSubjectSchemas` reads them. */
function subject(name: string, ...schemas: Schema[]): SubjectSchemas {
  const versions = schemas.map((schema, index) => ({ version: index + 1, schema, type: Type.forSchema(schema) }));
  return { subject: name, compatibility: 'BACKWARD', versions, latest: versions.at(-1)! };
}
const newRegistry = () => new FileSchemaRegistry(join(mkdtempSync(join(tmpdir(), 'registry-')), 'registry.json'));

describe('avroValueFormat', () => {
  it('writes a JSON value as Avro in the wire format with the registered id of the newest version, and reads it back', async () => {
    const registry = newRegistry();
    const format = avroValueFormat({
      topic: 'merchants',
      schemas: subject('merchants-value', merchantV1, merchantV2),
      registry: () => registry,
    });

    const bytes = await writeValue(format, { merchantId: 'm-1', name: 'Corner Shop', website: 'https://corner.example' });

    const id = await registry.register('merchants-value', merchantV2);
    expect([...bytes!.subarray(0, 5)]).toEqual([0, 0, 0, 0, id]);
    expect(await readValue(format, bytes)).toEqual({ merchantId: 'm-1', name: 'Corner Shop', website: 'https://corner.example' });
  });

  it('reads values as plain data, nested records too, as the joins’ reference comparisons and the DynamoDB client need', async () => {
    const registry = newRegistry();
    const nested: Schema = {
      type: 'record',
      name: 'Outer',
      fields: [{ name: 'inner', type: { type: 'record', name: 'Inner', fields: [{ name: 'a', type: 'string' }] } }],
    };
    const format = avroValueFormat({ topic: 'outer', schemas: subject('outer-value', nested), registry: () => registry });

    const value = (await readValue(format, await writeValue(format, { inner: { a: 'x' } }))) as { inner: object };

    expect([Object.getPrototypeOf(value), Object.getPrototypeOf(value.inner)]).toEqual([Object.prototype, Object.prototype]);
    expect(value).toStrictEqual({ inner: { a: 'x' } });
  });

  it('fills fields left out with their schema defaults before writing', async () => {
    const registry = newRegistry();
    const format = avroValueFormat({ topic: 'merchants', schemas: subject('merchants-value', merchantV2), registry: () => registry });

    expect(await readValue(format, await writeValue(format, { merchantId: 'm-1', name: 'Corner Shop' }))).toEqual({
      merchantId: 'm-1',
      name: 'Corner Shop',
      website: null,
    });
  });

  it('reads a value written with an older version into the newest one, defaults filling the new fields', async () => {
    const registry = newRegistry();
    const oldId = await registry.register('merchants-value', merchantV1);
    const written = encodeWireFormat(oldId, Type.forSchema(merchantV1).toBuffer({ merchantId: 'm-1', name: 'Old Producer' }));
    const format = avroValueFormat({
      topic: 'merchants',
      schemas: subject('merchants-value', merchantV1, merchantV2),
      registry: () => registry,
    });

    expect(await readValue(format, written)).toEqual({ merchantId: 'm-1', name: 'Old Producer', website: null });
  });

  it('refuses to write a value that does not match the schema, naming each field at fault', async () => {
    const format = avroValueFormat({ topic: 'merchants', schemas: subject('merchants-value', merchantV2), registry: newRegistry });

    const writing = writeValue(format, { merchantId: 7, website: 3 });

    await expect(writing).rejects.toThrow(SchemaValidationError);
    await expect(writing).rejects.toThrow(
      /merchantId: 7 is not a valid string; name: undefined is not a valid string; website: 3 is not a valid union/,
    );
  });

  it.each([
    ['bytes without the magic byte', async () => Buffer.from('{"merchantId":"m-1"}'), /^NOT_WIRE_FORMAT: first byte is 123/],
    [
      'an id the registry does not know',
      async () => encodeWireFormat(4242, Buffer.from([2, 0x61])),
      /^SCHEMA_NOT_FOUND: no schema with id 4242/,
    ],
    [
      'a payload that does not decode with its schema',
      async (registry: FileSchemaRegistry) => encodeWireFormat(await registry.register('merchants-value', merchantV1), Buffer.from([0x99])),
      /^DESERIALIZATION_ERROR: payload does not decode with schema \d+/,
    ],
    [
      'a writer schema the current one cannot read',
      async (registry: FileSchemaRegistry) => {
        const rogue: Schema = { type: 'record', name: 'Merchant', fields: [{ name: 'merchantId', type: 'int' }] };
        return encodeWireFormat(await registry.register('rogue-value', rogue), Type.forSchema(rogue).toBuffer({ merchantId: 1 }));
      },
      /^DESERIALIZATION_ERROR: schema \d+ cannot be read as the current "merchants-value" schema/,
    ],
  ])('calls %s unreadable, with the reason code of Lambda’s schema-registry integration', async (_case, bytesFor, reason) => {
    const registry = newRegistry();
    const format = avroValueFormat({
      topic: 'merchants',
      schemas: subject('merchants-value', merchantV1, merchantV2),
      registry: () => registry,
    });

    const reading = format.decode(await bytesFor(registry));

    await expect(reading).rejects.toThrow(UnreadableValueError);
    await expect(reading).rejects.toThrow(reason);
  });
});

describe('JSON_VALUE_FORMAT', () => {
  it('passes JSON text through both ways, tombstones staying null', async () => {
    expect(await writeValue(JSON_VALUE_FORMAT, { a: 1 })).toEqual(Buffer.from('{"a":1}'));
    expect(await readValue(JSON_VALUE_FORMAT, Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    expect(await writeValue(JSON_VALUE_FORMAT, null)).toBeNull();
  });
});

describe('FileSchemaRegistry under concurrent registrations', () => {
  it('loses none when several processes register in one file at once: every id stays in the file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'registry-')), 'registry.json');
    const script = join(__dirname, '..', 'fixtures', 'register-schemas.ts');
    const run = (prefix: string) =>
      new Promise<number[]>((resolve, reject) =>
        execFile(process.execPath, ['-r', '@swc-node/register', script, path, prefix, '25'], (error, stdout) =>
          error ? reject(error) : resolve(JSON.parse(stdout) as number[]),
        ),
      );

    const ids = (await Promise.all(['a', 'b', 'c', 'd'].map(run))).flat();

    expect(new Set(ids).size).toBe(100);
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { schemas: Array<{ id: number }> };
    expect(stored.schemas.map((entry) => entry.id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
  }, 60_000);
});

describe('FileSchemaRegistry lock', () => {
  it('waits for a lock another process holds, and breaks one left behind by a process that died', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'registry-')), 'registry.json');
    const schema: Schema = { type: 'record', name: 'R', fields: [{ name: 'f', type: 'string' }] };
    // Held by someone alive: the registration waits until it is released.
    writeFileSync(`${path}.lock`, 'someone-else');
    let registered = false;
    const waiting = new FileSchemaRegistry(path).register('held-value', schema).then(() => (registered = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(registered).toBe(false);
    rmSync(`${path}.lock`);
    await waiting;
    // Left by a process that died a minute ago: broken, and the registration goes on.
    writeFileSync(`${path}.lock`, 'a-dead-process');
    utimesSync(`${path}.lock`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));

    const id = await new FileSchemaRegistry(path).register('stale-value', schema);

    expect(id).toBeGreaterThan(0);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});
