import { GetCommand } from '@aws-sdk/lib-dynamodb';
import pipeline from '../../pipeline';
import { catalog, type Merchant } from '../../example';
import { DEAD_LETTER_HEADERS } from '../../shared/dead-letter';
import { runPipeline, type RunningPipeline } from '../../shared/local';
import { writeValue } from '../../shared/schemas';
import { eventually, produce, readTopic, useTestServices } from '../support/integration';

describe('Function: merchant-directory handler, run by the local runtime (integration)', () => {
  const services = useTestServices('merchant-directory-test');
  let running: RunningPipeline;

  beforeAll(async () => {
    running = await runPipeline(services.runtime, pipeline, { retryDelayMs: () => 20 });
  });
  afterAll(() => running.stop());

  const stored = async (merchantId: string) =>
    (await services.documents.send(new GetCommand({ TableName: 'merchant-directory', Key: { merchantId } }))).Item;

  it('keeps the table equal to the latest merchant states, and dead-letters a malformed record with the reason while the partition moves on', async () => {
    // Prepare: one partition so the malformed record sits between good ones; the good ones in the topic's wire format (Avro).
    const merchant = (merchantId: string, name: string, country: string): Merchant => ({ merchantId, name, country, website: null });
    const avro = (value: Merchant) => writeValue(catalog.formats.get('merchants')!, value);
    const messages = [
      { key: 'm-1', value: await avro(merchant('m-1', 'Corner Shop', 'GB')), partition: 0 },
      { key: 'm-broken', value: '{"name": "unterminated', partition: 0 },
      { key: 'm-2', value: await avro(merchant('m-2', 'Bakery', 'FR')), partition: 0 },
      { key: 'm-1', value: await avro(merchant('m-1', 'Corner Shop', 'IE')), partition: 0 },
      { key: 'm-2', value: null, partition: 0 },
    ];

    // Act
    await produce(services.kafka, 'merchants', messages);

    // Assess
    await eventually('the table holds m-1 in Ireland', async () => (await stored('m-1'))?.country === 'IE');
    await eventually('m-2 is deleted', async () => (await stored('m-2'))?._deleted === true);
    const [deadLetter] = await readTopic(services.kafka, 'merchants.dlq', 1);
    expect(deadLetter).toMatchObject({ key: 'm-broken', value: '{"name": "unterminated' });
    // Dead-lettered by the handler at once (no retry can read it), not after the event source's retries.
    expect(deadLetter?.headers[DEAD_LETTER_HEADERS.reason]).toBe('InvalidRecord');
    expect(deadLetter?.headers[DEAD_LETTER_HEADERS.error]).toMatch(
      /InvalidRecordError: merchants-0@\d+: NOT_WIRE_FORMAT: first byte is 123/,
    );
    expect(deadLetter?.headers[DEAD_LETTER_HEADERS.attempts]).toBe('1');
    expect(deadLetter?.headers[DEAD_LETTER_HEADERS.consumerGroupId]).toBe('merchant-directory');
    expect(running.mappings[0]?.stats.failedInvocations).toBe(0);
    await eventually('the consumer has no lag', async () => (await running.lag()).get('merchant-directory') === 0);
  });
});
