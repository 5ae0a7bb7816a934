import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Kafka } from 'kafkajs';
import { findFreePort, findFreePortPair, startLocalRuntime, type LocalRuntime } from '../../shared/local';
import { sendChunked } from '../../shared/kafka';
import { uniqueName } from '../support/integration';

/** Local services of its own for one benchmark, on free ports, so a running `npm start` is never measured. */
export async function startBenchRuntime(): Promise<LocalRuntime> {
  return startLocalRuntime({
    config: {
      externalKafkaBrokers: undefined,
      externalDynamoDbEndpoint: undefined,
      kafkaPort: await findFreePortPair(),
      dynamoDbPort: await findFreePort(),
      awsRegion: 'us-east-1',
      schemaRegistry: { file: undefined },
    },
  });
}

/** Requests/s the local DynamoDB server sustains for the join's mix (about half reads, half conditional writes). */
/** `keyOf` builds a key of the measured table (its key schema differs per benchmark). */
export async function dynamoDbCeiling(
  documents: DynamoDBDocumentClient,
  tableName: string,
  durationMs: number,
  keyOf: (worker: number, n: number) => Record<string, string>,
): Promise<number> {
  let requests = 0;
  const deadline = Date.now() + durationMs;
  const worker = async (id: number) => {
    for (let n = 0; Date.now() < deadline; n += 1) {
      const key = keyOf(id, n);
      await documents.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
      await documents.send(
        new PutCommand({ TableName: tableName, Item: { ...key, version: n }, ConditionExpression: 'attribute_not_exists(pk) OR version < :n', ExpressionAttributeValues: { ':n': n } }),
      );
      requests += 2;
    }
  };
  await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(worker));
  return requests / (durationMs / 1000);
}

/** Records/s of a plain kafkajs consume → produce of the same input records. */
export async function kafkaPassThrough(kafka: Kafka, from: string, to: string, count: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: uniqueName('passthrough'), maxWaitTimeInMs: 100 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: from, fromBeginning: true });
  const started = process.hrtime.bigint();
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
    void consumer.run({
      eachBatch: async ({ batch }) => {
        // A fetched batch can reach 1 MB, the broker's limit for one produce request: sent in chunks.
        await sendChunked(producer, to, batch.messages.map((message) => ({ key: message.key, value: message.value })));
        seen += batch.messages.length;
        if (seen >= count) resolve();
      },
    });
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await Promise.all([consumer.disconnect(), producer.disconnect()]);
  return seen / seconds;
}
