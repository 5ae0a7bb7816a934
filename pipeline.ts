import { join } from 'node:path';
import { catalog } from './shared/catalog';
import { definePipeline } from './shared/pipeline';

const handler = (name: string) => ({ entry: join(__dirname, 'functions', name, 'handler.ts') });

/**
 * The platform's pipeline: the single declaration of topics, tables and
 * consumers that `npm start` runs locally and the CDK stacks deploy. The
 * example domain (shared/catalog): merchants, flyers and items joined into the
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
  hotStreams: [
    { stream: catalog.prices, handler: handler('prices'), eventSource: { batchSize: 10_000, maximumBatchingWindowMs: 2_000 } },
    { stream: catalog.stocks, handler: handler('stocks'), eventSource: { batchSize: 10_000, maximumBatchingWindowMs: 2_000 } },
  ],
});
