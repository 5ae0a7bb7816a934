import { join } from 'node:path';
import { catalog } from './example';
import { definePipeline } from './shared/pipeline';

const handler = (name: string) => ({ entry: join(__dirname, 'functions', name, 'handler.ts') });

/**
 * The platform's pipeline: the single declaration of topics, tables and
 * consumers that `npm start` runs locally and the CDK stacks deploy. The
 * example domain (example/): merchants, flyers and items joined into the
 * `offers` Core Event, price and stock updates into rate-limited deltas, and a
 * merchant directory table.
 */
export default definePipeline({
  name: 'catalog',
  topics: catalog.topics,
  tables: [{ name: 'merchant-directory', partitionKey: { name: 'merchantId', type: 'S' } }],
  consumers: [
    {
      name: 'merchant-directory',
      handler: handler('merchant-directory'),
      topic: catalog.offers.rightTopic,
      tables: ['merchant-directory'],
      // As the joins: the handler dead-letters what no retry can fix itself, and reports the first record that
      // failed otherwise (DynamoDB or the registry away), which is retried until it succeeds.
      deadLetterTopic: 'merchants.dlq',
      timeoutSeconds: 30,
      eventSource: {
        batchSize: 100,
        maximumBatchingWindowMs: 500,
        maximumRetryAttempts: -1,
        reportBatchItemFailures: true,
      },
    },
  ],
  joins: [
    { join: catalog.itemsWithFlyer, handler: handler('items-with-flyer'), eventSource: { batchSize: 500, maximumBatchingWindowMs: 1_000 } },
    { join: catalog.offers, handler: handler('offers'), eventSource: { batchSize: 500, maximumBatchingWindowMs: 1_000 } },
  ],
  cdcMappings: [
    // Merchants are liberated by change data capture: the monolith's table, mapped to the public entity.
    {
      mapping: catalog.merchantsFromMonolith,
      handler: handler('merchants-from-monolith'),
      eventSource: { batchSize: 500, maximumBatchingWindowMs: 500 },
    },
  ],
  hotStreams: [
    // 1,000 records (about 0.2–0.6 MB of event, far below the 6 MB cap) are at most 1,000 keys, about 2,000 requests at
    // 8 at a time: a few seconds, well inside the 50 s a 60 s timeout leaves; a failed batch repeats its work on retry.
    // The streams coalesce across batches (10 s window), so larger batches would not save writes. 1 s: AWS takes whole
    // seconds, and an urgent change waits for the window. See shared/hot-path/README.md.
    { stream: catalog.prices, handler: handler('prices'), eventSource: { batchSize: 1_000, maximumBatchingWindowMs: 1_000 } },
    { stream: catalog.stocks, handler: handler('stocks'), eventSource: { batchSize: 1_000, maximumBatchingWindowMs: 1_000 } },
  ],
});
