import { join } from 'node:path';
import { definePipeline } from './shared/pipeline';

/**
 * The platform's pipeline: the single declaration of topics, tables and consumers
 * that `npm start` runs locally and the CDK stacks deploy.
 */
export default definePipeline({
  name: 'catalog',
  topics: [
    { name: 'merchants', kind: 'entity', partitions: 3 },
    { name: 'merchants.dlq', kind: 'dead-letter', partitions: 1 },
  ],
  tables: [{ name: 'merchant-directory', partitionKey: { name: 'merchantId', type: 'S' } }],
  consumers: [
    {
      name: 'merchant-directory',
      handler: { entry: join(__dirname, 'functions/merchant-directory/handler.ts') },
      topic: 'merchants',
      tables: ['merchant-directory'],
      timeoutSeconds: 30,
      eventSource: {
        batchSize: 100,
        maximumBatchingWindowMs: 500,
        maximumRetryAttempts: 2,
        bisectBatchOnFunctionError: true,
        onFailure: { kind: 'kafka', topic: 'merchants.dlq' },
      },
    },
  ],
});
