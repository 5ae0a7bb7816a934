import type { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { projectEntityRecords } from '../../shared/entity-projection';
import type { MskRecord } from '../../shared/msk';
import type { InvalidRecordError } from '../../shared/msk';
import {
  avroValueFormat,
  encodeWireFormat,
  HttpSchemaRegistry,
  repositorySchemas,
  SchemaRegistryUnavailableError,
} from '../../shared/schemas';
import { startSlowSchemaRegistry, type SlowSchemaRegistry } from '../schemas/slow-schema-registry';

const merchants = repositorySchemas().get('merchants-value')!;
const KNOWN_ID = 1;

/** A `merchants` record on `partition` whose value a producer wrote with schema `schemaId`. */
function merchantRecord(partition: number, offset: number, schemaId: number): MskRecord {
  const value = encodeWireFormat(
    schemaId,
    merchants.latest.type.toBuffer({ merchantId: `m-${offset}`, name: 'Shop', country: 'DE', website: null }),
  );
  return {
    topic: 'merchants',
    partition,
    offset,
    timestamp: 0,
    timestampType: 'CREATE_TIME',
    key: Buffer.from(`m-${offset}`).toString('base64'),
    value: value.toString('base64'),
    headers: [],
  };
}

/** A document client that keeps what it is asked to put (the records with unknown ids never get that far). */
function recordingDocuments() {
  const items: Array<Record<string, unknown>> = [];
  const documents = { send: async (command: PutCommand) => void items.push(command.input.Item!) } as unknown as DynamoDBDocumentClient;
  return { documents, items };
}

describe('Function: projectEntityRecords › a batch read with a schema registry that answers in 300 ms', () => {
  let server: SlowSchemaRegistry;

  beforeEach(async () => {
    server = await startSlowSchemaRegistry({ delayMs: 300 });
    server.add(KNOWN_ID, merchants.latest.schema);
  });
  afterEach(() => server.close());

  it('dead-letters 500 records carrying 3 unknown schema ids as SCHEMA_NOT_FOUND within seconds, asking once per id, and projects the records around them', async () => {
    // Prepare
    const { documents, items } = recordingDocuments();
    const registry = new HttpSchemaRegistry(server.url, undefined, false);
    const format = avroValueFormat({ topic: 'merchants', schemas: merchants, registry: () => registry });
    const unknownIds = [901, 902, 903];
    const records = [
      merchantRecord(0, 0, KNOWN_ID),
      ...Array.from({ length: 500 }, (_, index) => merchantRecord(index % 3, index + 1, unknownIds[index % 3]!)),
      merchantRecord(1, 501, KNOWN_ID),
    ];
    const letters: InvalidRecordError[] = [];
    const started = Date.now();

    // Act
    const result = await projectEntityRecords(records, {
      documents,
      tableName: 'merchant-directory',
      keyAttribute: 'merchantId',
      format,
      deadLetter: async (_record, error) => void letters.push(error),
      partialBatch: true,
    });

    // Assess
    expect(result).toEqual({ upserted: 2, deleted: 0, stale: 0, deadLettered: 500, failed: [] });
    expect(items.map((item) => item.merchantId)).toEqual(['m-0', 'm-501']);
    expect(letters.every((letter) => letter.reason.startsWith('SCHEMA_NOT_FOUND: '))).toBe(true);
    expect(server.requests()).toBe(1 + unknownIds.length * 3);
    expect(Date.now() - started).toBeLessThan(20_000); // the 3 ids are looked up together: ≈ 2.2 s
  });

  it('stops each partition at its first record when the registry answers 5xx, retriable, and dead-letters nothing', async () => {
    // Prepare
    server.failWith(503);
    const { documents, items } = recordingDocuments();
    const registry = new HttpSchemaRegistry(server.url, undefined, false);
    const format = avroValueFormat({ topic: 'merchants', schemas: merchants, registry: () => registry });
    const records = Array.from({ length: 30 }, (_, index) => merchantRecord(index % 3, index, 901));
    const letters: InvalidRecordError[] = [];

    // Act
    const result = await projectEntityRecords(records, {
      documents,
      tableName: 'merchant-directory',
      keyAttribute: 'merchantId',
      format,
      deadLetter: async (_record, error) => void letters.push(error),
      partialBatch: true,
    });

    // Assess
    expect(result.failed.map(({ record }) => [record.partition, record.offset])).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    expect(result.failed.every(({ error }) => error instanceof SchemaRegistryUnavailableError && error.retriable)).toBe(true);
    expect([result.deadLettered, letters.length, items.length]).toEqual([0, 0, 0]);
  });
});
