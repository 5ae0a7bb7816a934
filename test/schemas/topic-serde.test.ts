import type { Schema } from 'avsc';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeWireFormat,
  encodeWireFormat,
  FileSchemaRegistry,
  IncompatibleSchemaError,
  SchemaError,
  SchemaValidationError,
  TopicSerde,
  WireFormatError,
  type SchemaRegistry,
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
    { name: 'country', type: 'string', default: 'ZZ' },
  ],
};
const registryFile = () => join(mkdtempSync(join(tmpdir(), 'registry-')), 'registry.json');

describe('The Confluent wire format', () => {
  it('frames a payload with magic byte 0 and the schema id, big-endian', () => {
    const framed = encodeWireFormat(258, Buffer.from('abc'));

    expect([...framed.subarray(0, 5)]).toEqual([0, 0, 0, 1, 2]);
    expect(decodeWireFormat(framed)).toEqual({ schemaId: 258, payload: Buffer.from('abc') });
  });

  it('refuses bytes without the magic byte or too short for a header', () => {
    expect(() => decodeWireFormat(Buffer.from('{"json":true}'))).toThrow(WireFormatError);
    expect(() => decodeWireFormat(Buffer.from([0, 0, 1]))).toThrow(/too short/);
  });
});

describe('FileSchemaRegistry', () => {
  it('gives a schema one stable id, also under another subject and after a restart', async () => {
    const path = registryFile();
    const registry = new FileSchemaRegistry(path);

    const id = await registry.register('merchants-value', merchantV1);

    expect(await registry.register('merchants-value', JSON.parse(JSON.stringify(merchantV1)) as Schema)).toBe(id);
    expect(await registry.register('merchants-archive-value', merchantV1)).toBe(id);
    expect(await new FileSchemaRegistry(path).schemaById(id)).toMatchObject({ name: 'Merchant' });
    expect(await registry.register('merchants-value', merchantV2)).not.toBe(id);
  });

  it('refuses a registration that breaks the subject’s compatibility level, like the real registry', async () => {
    const registry = new FileSchemaRegistry(registryFile());
    await registry.register('merchants-value', merchantV1);
    const breaking: Schema = { type: 'record', name: 'Merchant', fields: [{ name: 'merchantId', type: 'long' }] };

    await expect(registry.register('merchants-value', breaking)).rejects.toBeInstanceOf(IncompatibleSchemaError);
  });
});

describe('TopicSerde', () => {
  it('round-trips a valid value through the registry and the wire format', async () => {
    const serde = new TopicSerde('merchants-value', merchantV2, new FileSchemaRegistry(registryFile()));

    const bytes = await serde.encode({ merchantId: 'm-1', name: 'Corner Shop', country: 'DE' });

    expect(bytes[0]).toBe(0);
    expect(await serde.decode(bytes)).toEqual({ merchantId: 'm-1', name: 'Corner Shop', country: 'DE' });
  });

  it('reads data written with an older version into the current one, filling defaults', async () => {
    const registry = new FileSchemaRegistry(registryFile());
    const oldProducer = new TopicSerde('merchants-value', merchantV1, registry);
    const currentConsumer = new TopicSerde('merchants-value', merchantV2, registry);

    const decoded = await currentConsumer.decode(await oldProducer.encode({ merchantId: 'm-1', name: 'Corner Shop' }));

    expect(decoded).toEqual({ merchantId: 'm-1', name: 'Corner Shop', country: 'ZZ' });
  });

  it('registers a compatible new version when a producer on it starts after one on the old version', async () => {
    const registry = new FileSchemaRegistry(registryFile());
    const v1Id = await new TopicSerde('merchants-value', merchantV1, registry).id();

    const bytes = await new TopicSerde('merchants-value', merchantV2, registry).encode({ merchantId: 'm-1', name: 'Shop', country: 'DE' });

    expect(decodeWireFormat(bytes).schemaId).not.toBe(v1Id);
    expect(await registry.schemaById(decodeWireFormat(bytes).schemaId)).toMatchObject({
      fields: expect.arrayContaining([expect.objectContaining({ name: 'country', default: 'ZZ' })]),
    });
  });

  it('refuses an invalid value before anything is written, naming every bad field', async () => {
    const serde = new TopicSerde('merchants-value', merchantV2, new FileSchemaRegistry(registryFile()));

    const encoding = serde.encode({ merchantId: 7, country: 'DE' });

    await expect(encoding).rejects.toBeInstanceOf(SchemaValidationError);
    await expect(encoding).rejects.toThrow(
      'value does not match schema "merchants-value": merchantId: 7 is not a valid string; name: undefined is not a valid string',
    );
  });

  it('asks the registry once for a writer schema it cannot read as the current one, and refuses every value written with it', async () => {
    const changedType: Schema = { type: 'record', name: 'Merchant', fields: [{ name: 'merchantId', type: 'long' }] };
    let asked = 0;
    const registry: SchemaRegistry = {
      register: async () => 1,
      schemaById: async () => {
        asked += 1;
        return changedType;
      },
    };
    const serde = new TopicSerde('merchants-value', merchantV2, registry);
    const bytes = encodeWireFormat(6, Buffer.from([2]));

    const outcomes = await Promise.all(Array.from({ length: 10 }, () => serde.decode(bytes).catch((error: unknown) => error)));
    outcomes.push(await serde.decode(bytes).catch((error: unknown) => error));

    expect(
      outcomes.every(
        (outcome) => outcome instanceof SchemaError && /cannot be read as the current "merchants-value" schema/.test(outcome.message),
      ),
    ).toBe(true);
    expect(asked).toBe(1);
  });

  it('refuses bytes that are not in the wire format, such as plain JSON', async () => {
    const serde = new TopicSerde('merchants-value', merchantV2, new FileSchemaRegistry(registryFile()));

    await expect(serde.decode(Buffer.from('{"merchantId":"m-1"}'))).rejects.toBeInstanceOf(WireFormatError);
  });
});
