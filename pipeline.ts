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
      // The handler dead-letters what it cannot read itself; what fails the batch (DynamoDB or the registry
      // away) is retried, as long as AWS allows with a destination, before the event source gives up on it.
      environment: { MERCHANT_DIRECTORY_DEAD_LETTER_TOPIC: 'merchants.dlq' },
      produces: ['merchants.dlq'],
      timeoutSeconds: 30,
      eventSource: {
        batchSize: 100,
        maximumBatchingWindowMs: 500,
        maximumRetryAttempts: 10,
        onFailure: { kind: 'kafka', topic: 'merchants.dlq' },
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
