import { Type, type Schema } from 'avsc';
import { join } from 'node:path';
import { loadSubjectSchemas, SchemaValidationError, UnreadableValueError, validatedJsonValueFormat } from '../../shared/schemas';

const merchants = loadSubjectSchemas(join(__dirname, '..', '..', 'schemas')).get('merchants-value')!;

describe('validatedJsonValueFormat', () => {
  const codec = validatedJsonValueFormat<Record<string, unknown>>(merchants);

  it('reads a JSON value that matches the schema, with left-out defaulted fields set to their default', async () => {
    expect(await codec.decode(Buffer.from('{"merchantId":"m-1","name":"Shop","country":"DE"}'))).toEqual({
      merchantId: 'm-1',
      name: 'Shop',
      country: 'DE',
      website: null,
    });
  });

  it('fills defaults in nested records too, also inside a union with null', async () => {
    const schema = {
      type: 'record',
      name: 'Offer',
      fields: [
        { name: 'itemId', type: 'string' },
        {
          name: 'merchant',
          type: [
            'null',
            {
              type: 'record',
              name: 'Merchant',
              fields: [
                { name: 'name', type: 'string' },
                { name: 'country', type: 'string', default: 'ZZ' },
              ],
            },
          ],
          default: null,
        },
      ],
    } as Schema;
    const version = { version: 1, schema, type: Type.forSchema(schema) };
    const offers = validatedJsonValueFormat<Record<string, unknown>>({
      subject: 'offers-value',
      compatibility: 'FULL',
      versions: [version],
      latest: version,
    });

    expect(await offers.decode(Buffer.from('{"itemId":"i-1","merchant":{"name":"Shop"}}'))).toEqual({
      itemId: 'i-1',
      merchant: { name: 'Shop', country: 'ZZ' },
    });
    expect(await offers.decode(Buffer.from('{"itemId":"i-2"}'))).toEqual({ itemId: 'i-2', merchant: null });
  });

  it('calls a value that does not match unreadable, naming every field at fault and the schema version, so it is dead-lettered', async () => {
    const decoding = codec.decode(Buffer.from('{"merchantId":7,"country":"DE"}'));

    await expect(decoding).rejects.toThrow(UnreadableValueError);
    await expect(decoding).rejects.toThrow('value does not match schema merchants-value v1: merchantId: 7; name: missing');
  });

  it('calls a value that is not JSON unreadable, quoting its start', async () => {
    await expect(codec.decode(Buffer.from('{"broken'))).rejects.toThrow(/DESERIALIZATION_ERROR: value is not valid JSON .*: \{"broken/);
  });

  it('refuses to write a value that breaks the contract, so an invalid output never reaches the topic', async () => {
    const writing = codec.encode({ merchantId: 'm-1' });

    await expect(writing).rejects.toThrow(SchemaValidationError);
    await expect(writing).rejects.toThrow(/name: missing; country: missing/);
  });
});
