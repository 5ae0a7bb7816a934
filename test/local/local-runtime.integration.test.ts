import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DynamoDbServerError,
  findFreePort,
  findFreePortPair,
  PortInUseError,
  readLocalServicesConfig,
  startDynamoDbServer,
  startKafkaBroker,
  startLocalRuntime,
  LOCAL_STATE_DIR,
} from '../../shared/local';
import { eventually, uniqueName } from '../support/integration';
import { dynaliteProcessesOn, isRunning } from '../support/local-processes';
import { ownServicesConfig } from '../support/own-services';

const DYNAMODB_SERVER_MODULE = join(__dirname, '..', '..', 'shared', 'local', 'dynamodb', 'dynalite-server.ts');

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

function dynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
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
      const starting = startLocalRuntime({ config: ownServicesConfig({ kafkaPort, dynamoDbPort }) });

      // Assess
      await expect(starting).rejects.toThrow(/local DynamoDB server .* already in use.*LOCAL_DYNAMODB_PORT/s);
      expect(await isListening(kafkaPort)).toBe(false);
    } finally {
      squatter.close();
    }
  });

  it('uses the broker and DynamoDB endpoint named by KAFKA_BROKERS and DYNAMODB_ENDPOINT instead of starting its own', async () => {
    // Prepare: the suite's services stand in for ones the user already runs.
    const existingBrokers = process.env.KAFKA_BROKERS!;
    const existingEndpoint = process.env.DYNAMODB_ENDPOINT!;

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
      config: { ...readLocalServicesConfig({ KAFKA_BROKERS: process.env.KAFKA_BROKERS! }), dynamoDbPort },
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
  it('runs dynalite in a process of its own, which stop() ends', async () => {
    // Prepare
    const port = await findFreePort();

    // Act
    const server = await startDynamoDbServer({ port });

    // Assess
    let stopped = false;
    try {
      expect(server.endpoint).toBe(`http://127.0.0.1:${port}`);
      expect(server.pid).not.toBe(process.pid);
      expect(dynaliteProcessesOn(port)).toEqual([server.pid]);
      const client = dynamoDbClient(server.endpoint);
      await expect(client.send(new ListTablesCommand({}))).resolves.toHaveProperty('TableNames', []);
      client.destroy();

      await server.stop();
      stopped = true;
      expect(isRunning(server.pid)).toBe(false);
      expect(await isListening(port)).toBe(false);
    } finally {
      if (!stopped) await server.stop();
    }
  });

  it('refuses a busy port with a clear error and no child left behind', async () => {
    // Prepare
    const port = await findFreePort();
    const squatter = await occupy(port);
    try {
      // Act
      const starting = startDynamoDbServer({ port });

      // Assess
      await expect(starting).rejects.toBeInstanceOf(PortInUseError);
      await expect(starting).rejects.toThrow(`127.0.0.1:${port} is already in use`);
      await expect(starting).rejects.toThrow('LOCAL_DYNAMODB_PORT');
      expect(dynaliteProcessesOn(port)).toEqual([]);
    } finally {
      squatter.close();
    }
  });

  it('stops with its parent when the parent is killed with SIGKILL', async () => {
    // Prepare: a parent process that starts the server and prints its pid.
    const port = await findFreePort();
    const script = `require(${JSON.stringify(DYNAMODB_SERVER_MODULE)})
      .startDynamoDbServer({ port: ${port} })
      .then((server) => console.log('dynalite pid', server.pid), (error) => { console.error(error); process.exit(1); });`;
    const parent = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], {
      cwd: join(__dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    parent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    parent.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const parentExited = new Promise<void>((resolve) => parent.once('exit', () => resolve()));
    let childPid: number | undefined;
    try {
      await eventually('the parent started dynalite', () => /dynalite pid \d+/.test(output), 30_000).catch((error: unknown) => {
        throw new Error(`${String(error)}; the parent printed:\n${output}`);
      });
      childPid = Number(/dynalite pid (\d+)/.exec(output)![1]);
      expect(isRunning(childPid)).toBe(true);
      expect(await isListening(port)).toBe(true);

      // Act
      parent.kill('SIGKILL');
      await parentExited;

      // Assess
      await eventually('the dynalite process is gone', () => !isRunning(childPid!), 5_000);
      expect(await isListening(port)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
      if (childPid !== undefined && isRunning(childPid)) process.kill(childPid, 'SIGKILL');
    }
  });

  it('keeps tables across a restart with a data directory', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'dynalite-data-'));
    const tableName = uniqueName('persisted');
    const first = await startDynamoDbServer({ port: await findFreePort(), dataDir });
    try {
      const client = dynamoDbClient(first.endpoint);
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await client.send(new PutItemCommand({ TableName: tableName, Item: { id: { S: 'a' }, price: { N: '12' } } }));
      client.destroy();

      // Act
      await first.stop();
      const second = await startDynamoDbServer({ port: await findFreePort(), dataDir });

      // Assess
      try {
        const again = dynamoDbClient(second.endpoint);
        await expect(again.send(new ListTablesCommand({}))).resolves.toHaveProperty('TableNames', [tableName]);
        const { Item } = await again.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: 'a' } } }));
        expect(Item).toEqual({ id: { S: 'a' }, price: { N: '12' } });
        again.destroy();
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('fails with a DynamoDbServerError naming the port and quoting its log when dynalite cannot start, and leaves no child behind', async () => {
    // Prepare: LevelDB lets one process at a time open a directory.
    const dataDir = mkdtempSync(join(tmpdir(), 'dynalite-data-'));
    const holder = await startDynamoDbServer({ port: await findFreePort(), dataDir });
    const port = await findFreePort();
    try {
      // Act
      const starting = startDynamoDbServer({ port, dataDir });

      // Assess
      await expect(starting).rejects.toBeInstanceOf(DynamoDbServerError);
      await expect(starting).rejects.toThrow(`127.0.0.1:${port} exited with code 1 before it was listening`);
      await expect(starting).rejects.toThrow(
        `Its log (${join(LOCAL_STATE_DIR, `dynalite-${port}.log`)}) ends:\ndynalite could not open its LevelDB store in ${dataDir}: `,
      );
      await expect(starting).rejects.toThrow(`IO error: lock ${join(dataDir, 'LOCK')}`);
      expect(dynaliteProcessesOn(port)).toEqual([]);
      expect(await isListening(port)).toBe(false);
    } finally {
      await holder.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
