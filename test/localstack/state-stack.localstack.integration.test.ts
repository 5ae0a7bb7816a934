import { DescribeContinuousBackupsCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pipeline from '../../pipeline';

/**
 * Runs only where LocalStack is reachable (AWS_ENDPOINT_URL, default
 * http://localhost:4566); elsewhere the suite is reported as skipped, by name.
 * It deploys the state stack, the part LocalStack's free edition emulates
 * (MSK and Kafka event sources need its paid edition and Docker), with
 * LocalStack's CDK wrapper, and checks the tables through the DynamoDB API.
 */
const endpoint = process.env.AWS_ENDPOINT_URL ?? 'http://localhost:4566';
const reachable =
  spawnSync(
    process.execPath,
    ['-e', `fetch(${JSON.stringify(`${endpoint}/_localstack/health`)}).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
    { timeout: 5_000 },
  ).status === 0;
const describeWhenReachable = reachable ? describe : describe.skip;
const ROOT = join(__dirname, '..', '..');
const stateStack = `${pipeline.name}-localstack-state`;

describeWhenReachable(`LocalStack deployment${reachable ? '' : ` (skipped: no LocalStack reachable at ${endpoint})`}`, () => {
  const cdklocal = (...args: string[]) =>
    execFileSync(join(ROOT, 'node_modules', '.bin', 'cdklocal'), [...args, '-c', 'environment=localstack', '--require-approval', 'never'], {
      cwd: ROOT,
      stdio: 'pipe',
      env: { ...process.env, AWS_ENDPOINT_URL: endpoint },
    });

  beforeAll(() => {
    cdklocal('bootstrap');
    cdklocal('deploy', stateStack, '--exclusively');
  }, 600_000);
  afterAll(() => cdklocal('destroy', stateStack, '--force', '--exclusively'), 600_000);

  it('deploys every table of the pipeline with its key schema and point-in-time recovery', async () => {
    const dynamodb = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const { TableNames = [] } = await dynamodb.send(new ListTablesCommand({}));
    for (const table of pipeline.tables) {
      // CloudFormation names a table `<stack>-Table<declared name, letters and digits>…-<suffix>`.
      const physical = TableNames.find((name) => name.startsWith(`${stateStack}-Table${table.name.replace(/[^A-Za-z0-9]/g, '')}`));
      expect(physical).toBeDefined();
      const described = await dynamodb.send(new DescribeTableCommand({ TableName: physical }));
      expect(described.Table?.KeySchema?.[0]).toEqual({ AttributeName: table.partitionKey.name, KeyType: 'HASH' });
      const backups = await dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: described.Table!.TableName! }));
      expect(backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus).toBe('ENABLED');
    }
    dynamodb.destroy();
  });
});
