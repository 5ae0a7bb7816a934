import { buildMskEvent, toMskRecord, toSignedBytes, type SourceRecord } from '../../shared/msk';
import { InvalidBatchResponseError, parseBatchItemFailures } from '../../shared/local/event-source';

const identity = {
  eventSourceArn: 'arn:aws:kafka:us-east-1:123456789012:cluster/demo/abcd-1234',
  bootstrapServers: ['b-1.demo:9098', 'b-2.demo:9098'],
};

function sourceRecord(overrides: Partial<SourceRecord> = {}): SourceRecord {
  return {
    topic: 'items',
    partition: 0,
    offset: 15,
    timestamp: 1545084650987,
    timestampType: 'CREATE_TIME',
    key: Buffer.from('item-1'),
    value: Buffer.from('{"id":"item-1"}'),
    headers: [],
    ...overrides,
  };
}

describe('Function: toSignedBytes', () => {
  it('returns bytes below 0x80 unchanged and bytes from 0x80 up as negative Java bytes', () => {
    // Act
    const signed = toSignedBytes(Uint8Array.from([0x00, 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff]));

    // Assess
    expect(signed).toEqual([0, 1, 127, -128, -127, -2, -1]);
  });

  it('reads only the bytes of a view that starts inside a larger buffer', () => {
    // Prepare
    const whole = Buffer.from([0x11, 0x22, 0x90, 0x33, 0x44]);
    const view = whole.subarray(2, 4);

    // Act
    const signed = toSignedBytes(view);

    // Assess
    expect(signed).toEqual([-112, 51]);
  });

  it('returns an empty array for no bytes', () => {
    // Act & Assess
    expect(toSignedBytes(new Uint8Array(0))).toEqual([]);
  });
});

describe('Function: toMskRecord', () => {
  it('encodes key and value as base64 and keeps the position fields as numbers', () => {
    // Act
    const record = toMskRecord(sourceRecord());

    // Assess
    expect(record).toEqual({
      topic: 'items',
      partition: 0,
      offset: 15,
      timestamp: 1545084650987,
      timestampType: 'CREATE_TIME',
      key: 'aXRlbS0x',
      value: 'eyJpZCI6Iml0ZW0tMSJ9',
      headers: [],
    });
  });

  it('omits the key when the record has no key and the value when the record is a tombstone', () => {
    // Act
    const withoutKey = toMskRecord(sourceRecord({ key: null }));
    const tombstone = toMskRecord(sourceRecord({ value: null }));

    // Assess
    expect(withoutKey).not.toHaveProperty('key');
    expect(withoutKey.value).toBe('eyJpZCI6Iml0ZW0tMSJ9');
    expect(tombstone).not.toHaveProperty('value');
    expect(tombstone.key).toBe('aXRlbS0x');
  });

  it('keeps an empty key and an empty value as empty strings, distinct from absent ones', () => {
    // Act
    const record = toMskRecord(sourceRecord({ key: Buffer.alloc(0), value: Buffer.alloc(0) }));

    // Assess
    expect(record.key).toBe('');
    expect(record.value).toBe('');
  });

  it('turns headers into one-entry objects of signed bytes, in wire order, repeats included', () => {
    // Prepare
    const headers = [
      ['source', Buffer.from('monolith')],
      ['raw', Buffer.from([0x00, 0x7f, 0x80, 0xff])],
      ['source', Buffer.from('retry')],
    ] as const;

    // Act
    const record = toMskRecord(sourceRecord({ headers }));

    // Assess
    expect(record.headers).toEqual([
      { source: [109, 111, 110, 111, 108, 105, 116, 104] },
      { raw: [0, 127, -128, -1] },
      { source: [114, 101, 116, 114, 121] },
    ]);
  });

  it('keeps a LOG_APPEND_TIME timestamp type', () => {
    // Act
    const record = toMskRecord(sourceRecord({ timestampType: 'LOG_APPEND_TIME' }));

    // Assess
    expect(record.timestampType).toBe('LOG_APPEND_TIME');
  });
});

describe('Function: buildMskEvent', () => {
  it('names the source as aws:kafka with the ARN and a comma-separated broker list', () => {
    // Act
    const event = buildMskEvent([toMskRecord(sourceRecord())], identity);

    // Assess
    expect(Object.keys(event).sort()).toEqual(['bootstrapServers', 'eventSource', 'eventSourceArn', 'records']);
    expect(event.eventSource).toBe('aws:kafka');
    expect(event.eventSourceArn).toBe(identity.eventSourceArn);
    expect(event.bootstrapServers).toBe('b-1.demo:9098,b-2.demo:9098');
  });

  it('groups records from several partitions and topics under "<topic>-<partition>" keys, keeping their order', () => {
    // Prepare
    const records = [
      sourceRecord({ partition: 0, offset: 3 }),
      sourceRecord({ partition: 1, offset: 7 }),
      sourceRecord({ partition: 0, offset: 4 }),
      sourceRecord({ topic: 'items.v2', partition: 0, offset: 1 }),
      sourceRecord({ partition: 1, offset: 8 }),
    ].map(toMskRecord);

    // Act
    const event = buildMskEvent(records, identity);

    // Assess
    expect(Object.keys(event.records).sort()).toEqual(['items-0', 'items-1', 'items.v2-0']);
    expect(event.records['items-0']?.map((record) => record.offset)).toEqual([3, 4]);
    expect(event.records['items-1']?.map((record) => record.offset)).toEqual([7, 8]);
    expect(event.records['items.v2-0']?.map((record) => record.offset)).toEqual([1]);
    expect(event.records['items-1']?.every((record) => record.partition === 1)).toBe(true);
  });

  it('returns an empty records object when there are no records', () => {
    // Act & Assess
    expect(buildMskEvent([], identity).records).toEqual({});
  });
});

describe('Function: parseBatchItemFailures', () => {
  const failure = (partition: unknown, offset: unknown) => ({ itemIdentifier: { partition, offset } });

  it('returns the failed offsets of a valid response, in the order given', () => {
    // Prepare
    const response = { batchItemFailures: [failure('items-0', 17), failure('items-0', 15)] };

    // Act & Assess
    expect(parseBatchItemFailures(response, 'items-0')).toEqual([17, 15]);
  });

  it('treats an empty list, a missing list, null, undefined and a null list as success', () => {
    // Act & Assess
    expect(parseBatchItemFailures({ batchItemFailures: [] }, 'items-0')).toEqual([]);
    expect(parseBatchItemFailures({}, 'items-0')).toEqual([]);
    expect(parseBatchItemFailures({ batchItemFailures: null }, 'items-0')).toEqual([]);
    expect(parseBatchItemFailures(null, 'items-0')).toEqual([]);
    expect(parseBatchItemFailures(undefined, 'items-0')).toEqual([]);
  });

  it('rejects an identifier that names another partition', () => {
    // Prepare
    const response = { batchItemFailures: [failure('items-1', 15)] };

    // Act & Assess
    expect(() => parseBatchItemFailures(response, 'items-0')).toThrow(InvalidBatchResponseError);
    expect(() => parseBatchItemFailures(response, 'items-0')).toThrow(/items-1/);
  });

  it('rejects an offset that is not an integer', () => {
    // Act & Assess
    for (const offset of [15.5, Number.NaN, null, undefined, true, { value: 15 }]) {
      expect(() => parseBatchItemFailures({ batchItemFailures: [failure('items-0', offset)] }, 'items-0')).toThrow(
        InvalidBatchResponseError,
      );
    }
  });

  it('rejects a negative offset', () => {
    // Act & Assess
    expect(() => parseBatchItemFailures({ batchItemFailures: [failure('items-0', -1)] }, 'items-0')).toThrow(InvalidBatchResponseError);
  });

  it('accepts an offset written as a string of digits and rejects any other string', () => {
    // Act & Assess
    expect(parseBatchItemFailures({ batchItemFailures: [failure('items-0', '15')] }, 'items-0')).toEqual([15]);
    for (const offset of ['fifteen', '15.5', '', ' 7 ', '0x10', '1e2', '-1']) {
      expect(() => parseBatchItemFailures({ batchItemFailures: [failure('items-0', offset)] }, 'items-0')).toThrow(
        InvalidBatchResponseError,
      );
    }
  });

  it('rejects a batchItemFailures value that is not an array', () => {
    // Act & Assess
    for (const batchItemFailures of ['items-0:15', { itemIdentifier: { partition: 'items-0', offset: 15 } }, 15]) {
      expect(() => parseBatchItemFailures({ batchItemFailures }, 'items-0')).toThrow(InvalidBatchResponseError);
    }
  });

  it('rejects an entry without an itemIdentifier object, such as the string identifier other sources use', () => {
    // Act & Assess
    for (const entry of [{ itemIdentifier: 'items-0:15' }, {}, null, 'items-0:15']) {
      expect(() => parseBatchItemFailures({ batchItemFailures: [entry] }, 'items-0')).toThrow(InvalidBatchResponseError);
    }
  });

  it('rejects a response that is not an object', () => {
    // Act & Assess
    expect(() => parseBatchItemFailures('ok', 'items-0')).toThrow(InvalidBatchResponseError);
    expect(() => parseBatchItemFailures(42, 'items-0')).toThrow(InvalidBatchResponseError);
  });
});
