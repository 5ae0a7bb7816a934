import { createServer, type Server } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  findFreePort,
  findFreePortPair,
  PortInUseError,
  readLocalServicesConfig,
  startDynamoDbServer,
  startKafkaBroker,
  startLocalRuntime,
  LOCAL_STATE_DIR,
} from '../../shared/local';
import { uniqueName } from '../support/integration';

async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

async function isListening(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

describe('Function: startLocalRuntime (integration)', () => {
  it('fails with a clear error naming the variable to change when the Kafka port is busy', async () => {
    // Prepare
    const port = await findFreePort();
    const squatter = await occupy(port);
    try {
      // Act
      const starting = startKafkaBroker({ port, stateDir: LOCAL_STATE_DIR });

      // Assess
      await expect(starting).rejects.toBeInstanceOf(PortInUseError);
      await expect(starting).rejects.toThrow(`127.0.0.1:${port} is already in use`);
      await expect(starting).rejects.toThrow('LOCAL_KAFKA_PORT');
    } finally {
      squatter.close();
    }
  });

  it('fails with a clear error when the DynamoDB port is busy, and leaves no broker running', async () => {
    // Prepare
    const kafkaPort = await findFreePortPair();
    const dynamoDbPort = await findFreePort();
    const squatter = await occupy(dynamoDbPort);
    try {
      // Act
      const starting = startLocalRuntime({
        config: { externalKafkaBrokers: undefined, externalDynamoDbEndpoint: undefined, kafkaPort, dynamoDbPort, awsRegion: 'us-east-1', schemaRegistry: { file: undefined } },
      });

      // Assess
      await expect(starting).rejects.toThrow(/local DynamoDB server .* already in use.*LOCAL_DYNAMODB_PORT/s);
      expect(await isListening(kafkaPort)).toBe(false);
    } finally {
      squatter.close();
    }
  });

  it('uses the broker and DynamoDB endpoint named by KAFKA_BROKERS and DYNAMODB_ENDPOINT instead of starting its own', async () => {
    // Prepare: the suite's services stand in for ones the user already runs.
    const existingBrokers = process.env['KAFKA_BROKERS']!;
    const existingEndpoint = process.env['DYNAMODB_ENDPOINT']!;

    // Act
    const runtime = await startLocalRuntime({
      config: readLocalServicesConfig({ KAFKA_BROKERS: existingBrokers, DYNAMODB_ENDPOINT: existingEndpoint }),
    });

    // Assess
    try {
      expect(runtime.kafka).toMatchObject({ brokers: existingBrokers.split(','), managed: false });
      expect(runtime.dynamodb).toEqual({ endpoint: existingEndpoint, managed: false });
      const admin = runtime.kafkaClient('override-test').admin();
      await admin.connect();
      const topic = uniqueName('override');
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      expect(await admin.listTopics()).toContain(topic);
      await admin.disconnect();
      const dynamodb = runtime.dynamoDbClient();
      await expect(dynamodb.send(new ListTablesCommand({}))).resolves.toHaveProperty('TableNames');
      dynamodb.destroy();
      expect(runtime.handlerEnvironment()).toMatchObject({ AWS_ENDPOINT_URL_DYNAMODB: existingEndpoint, KAFKA_BROKERS: existingBrokers });
    } finally {
      await runtime.stop();
    }
    // Stopping the runtime leaves the user's own services alone.
    const admin = runtime.kafkaClient('after-stop').admin();
    await admin.connect();
    await expect(admin.listTopics()).resolves.toBeInstanceOf(Array);
    await admin.disconnect();
  });

  it('starts only DynamoDB when just KAFKA_BROKERS is set', async () => {
    // Prepare
    const dynamoDbPort = await findFreePort();

    // Act
    const runtime = await startLocalRuntime({
      config: { ...readLocalServicesConfig({ KAFKA_BROKERS: process.env['KAFKA_BROKERS']! }), dynamoDbPort },
    });

    // Assess
    try {
      expect(runtime.kafka.managed).toBe(false);
      expect(runtime.dynamodb).toEqual({ endpoint: `http://127.0.0.1:${dynamoDbPort}`, managed: true });
      expect(await isListening(dynamoDbPort)).toBe(true);
    } finally {
      await runtime.stop();
    }
    expect(await isListening(dynamoDbPort)).toBe(false);
  });
});

describe('Function: startDynamoDbServer (integration)', () => {
  it('refuses a busy port with a PortInUseError', async () => {
    const port = await findFreePort();
    const squatter = await occupy(port);
    try {
      await expect(startDynamoDbServer({ port })).rejects.toBeInstanceOf(PortInUseError);
    } finally {
      squatter.close();
    }
  });
});
