import { Type, type Schema } from 'avsc';
import { join } from 'node:path';
import { CodecError } from '../../shared/fk-join';
import { loadSchemaCatalog, validatedJsonCodec } from '../../shared/schemas';

const merchants = loadSchemaCatalog(join(__dirname, '..', '..', 'schemas')).get('merchants-value')!;

describe('validatedJsonCodec', () => {
  const codec = validatedJsonCodec<Record<string, unknown>>(merchants);

  it('reads a JSON value that matches the schema, with left-out defaulted fields set to their default', () => {
    expect(codec.decode(Buffer.from('{"merchantId":"m-1","name":"Shop","country":"DE"}'))).toEqual({
      merchantId: 'm-1',
      name: 'Shop',
      country: 'DE',
      website: null,
    });
  });

  it('fills defaults in nested records too, also inside a union with null', () => {
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
    const offers = validatedJsonCodec<Record<string, unknown>>({
      subject: 'offers-value',
      compatibility: 'FULL',
      versions: [version],
      latest: version,
    });

    expect(offers.decode(Buffer.from('{"itemId":"i-1","merchant":{"name":"Shop"}}'))).toEqual({
      itemId: 'i-1',
      merchant: { name: 'Shop', country: 'ZZ' },
    });
    expect(offers.decode(Buffer.from('{"itemId":"i-2"}'))).toEqual({ itemId: 'i-2', merchant: null });
  });

  it('refuses a value that does not match, naming every field at fault and the schema version', () => {
    const decoding = () => codec.decode(Buffer.from('{"merchantId":7,"country":"DE"}'));

    expect(decoding).toThrow(CodecError);
    expect(decoding).toThrow('value does not match schema merchants-value v1: merchantId: 7; name: missing');
  });

  it('refuses to write a value that breaks the contract, so an invalid output never reaches the topic', () => {
    expect(() => codec.encode({ merchantId: 'm-1' })).toThrow(/name: missing; country: missing/);
  });
});
