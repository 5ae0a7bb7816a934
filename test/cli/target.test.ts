import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDeploymentConfig } from '../../cdk/config';
import { DEPLOYED_OUTPUTS } from '../../cdk/deployed-outputs';
import { CliError, UsageError } from '../../shared/cli/errors';
import type { StackOutputs } from '../../shared/cli/stack-outputs';
import { resolveTarget, type TargetFlags } from '../../shared/cli/target';
import { kafkaClientConfig } from '../../shared/kafka';
import { signedToken, withStaticAwsCredentials } from '../kafka/msk-iam-token';

const CLUSTER_ARN = 'arn:aws:kafka:eu-central-1:123456789012:cluster/catalog-staging/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2';

/** cdk.json's `context.platform`: what `--env` reads. */
const PLATFORM_CONTEXT = {
  environments: {
    staging: {
      region: 'eu-central-1',
      network: { mode: 'new', availabilityZones: ['eu-central-1a', 'eu-central-1b'] },
      schemaRegistryUrl: 'https://schema-registry.staging.internal.example.com',
      schemaRegistryCredentialsSecretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:schema-registry-AbCdEf',
    },
    anywhere: {},
  },
};

/** What the deployed stacks of pipeline "catalog" in "staging" report, as CloudFormation would. */
const STACK_OUTPUTS: Record<string, StackOutputs> = {
  'catalog-staging-streaming': { [DEPLOYED_OUTPUTS.clusterArn]: CLUSTER_ARN },
  'catalog-staging-state': { [DEPLOYED_OUTPUTS.tableName('offers.join-state')]: 'catalog-staging-state-TableoffersjoinstateA1B2C3-XYZ' },
};

/** Resolves flags for pipeline "catalog" with this process environment, recording which stacks were read. */
function resolve(flags: TargetFlags, env: NodeJS.ProcessEnv = {}) {
  const reads: string[] = [];
  const target = resolveTarget(flags, 'catalog', {
    env,
    platformContext: () => PLATFORM_CONTEXT,
    stackOutputs: (region, environment) => async (stackName) => {
      reads.push(`${region} ${environment} ${stackName}`);
      const outputs = STACK_OUTPUTS[stackName];
      if (!outputs) throw new CliError(`stack ${stackName} does not exist in ${region}`);
      return outputs;
    },
  });
  return { target, reads };
}

describe('Function: resolveTarget', () => {
  withStaticAwsCredentials();

  describe('without --env', () => {
    it('runs against the local runtime as before: its broker in plaintext with no authentication, its DynamoDB, declared table names, the local registry', async () => {
      const target = resolveTarget({}, 'catalog', {
        env: {},
        platformContext: () => {
          throw new Error('cdk.json is read only with --env');
        },
        stackOutputs: () => {
          throw new Error('no stack is read locally');
        },
      });

      const connection = await target.kafkaConnection();
      expect(connection).toEqual({ brokers: ['127.0.0.1:19092'], tls: false, auth: 'none', region: undefined });
      expect(kafkaClientConfig(connection)).toEqual({ brokers: ['127.0.0.1:19092'] });
      expect(target.dynamodb).toEqual({
        endpoint: 'http://127.0.0.1:18000',
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      expect(await target.tableName('offers.join-state')).toBe('offers.join-state');
      expect(target.schemaRegistryFallbackFile).toMatch(/\.local\/schema-registry\.json$/);
      expect(target.deployment).toBeUndefined();
      expect(target.kafkaDescription).toBe('127.0.0.1:19092, plaintext');
    });

    it('takes KAFKA_BROKERS and DYNAMODB_ENDPOINT from the environment, and --brokers over them', async () => {
      const env = { KAFKA_BROKERS: 'kafka.test:9092', DYNAMODB_ENDPOINT: 'http://dynamodb.test:8000' };

      const fromEnvironment = await resolve({}, env).target.kafkaConnection();
      const fromFlag = await resolve({ brokers: 'a.test:9092, b.test:9092' }, env).target.kafkaConnection();

      expect(fromEnvironment.brokers).toEqual(['kafka.test:9092']);
      expect(resolve({}, env).target.dynamodb.endpoint).toBe('http://dynamodb.test:8000');
      expect(fromFlag.brokers).toEqual(['a.test:9092', 'b.test:9092']);
    });

    it('speaks TLS trusting the certificate authorities in --ca, and MSK IAM with --auth aws-iam in --region', async () => {
      const directory = mkdtempSync(join(tmpdir(), 'target-test-'));
      const caFile = join(directory, 'ca.pem');
      writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n');

      const { target } = resolve({ brokers: 'kafka.test:9094', ca: caFile, auth: 'aws-iam', region: 'ap-southeast-2' });
      const config = kafkaClientConfig(await target.kafkaConnection());

      expect(config.ssl).toEqual({ ca: ['-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n'] });
      expect((await signedToken(config.sasl)).host).toBe('kafka.ap-southeast-2.amazonaws.com');
      expect(target.kafkaDescription).toBe(
        `kafka.test:9094, over TLS (trusting the certificate authorities in ${caFile}), with MSK IAM authentication in ap-southeast-2`,
      );
    });
  });

  describe('with --env', () => {
    it('uses MSK IAM over TLS in the environment’s region, with the brokers in KAFKA_BROKERS, reading no stack for them', async () => {
      const { target, reads } = resolve(
        { env: 'staging' },
        { KAFKA_BROKERS: 'b-1.staging.kafka.eu-central-1.amazonaws.com:9098', AWS_REGION: 'us-east-1' },
      );

      const connection = await target.kafkaConnection();
      const config = kafkaClientConfig(connection);
      const token = await signedToken(config.sasl);

      expect(connection).toEqual({
        brokers: ['b-1.staging.kafka.eu-central-1.amazonaws.com:9098'],
        tls: true,
        auth: 'aws-iam',
        region: 'eu-central-1',
      });
      expect(config.brokers).toEqual(['b-1.staging.kafka.eu-central-1.amazonaws.com:9098']);
      expect(config.ssl).toBe(true);
      expect(config.sasl?.mechanism).toBe('oauthbearer');
      // Signed by the signer the functions use, for the environment's region (not AWS_REGION's).
      expect(token.host).toBe('kafka.eu-central-1.amazonaws.com');
      expect(token.searchParams.get('X-Amz-Credential')).toMatch(/\/eu-central-1\/kafka-cluster\/aws4_request$/);
      expect(reads).toEqual([]);
      expect(target.description).toBe('environment "staging" (eu-central-1)');
    });

    it('finds the cluster through the streaming stack’s ClusterArn output when no brokers are named, and looks its IAM brokers up on connect', async () => {
      const { target, reads } = resolve({ env: 'staging' });

      const connection = await target.kafkaConnection();

      expect(connection).toEqual({ brokers: { mskClusterArn: CLUSTER_ARN }, tls: true, auth: 'aws-iam', region: 'eu-central-1' });
      expect(typeof kafkaClientConfig(connection).brokers).toBe('function');
      expect(reads).toEqual(['eu-central-1 staging catalog-staging-streaming']);
      expect(target.kafkaDescription).toBe(
        'the IAM bootstrap brokers of environment "staging"\'s MSK cluster, over TLS, with MSK IAM authentication in eu-central-1',
      );
    });

    it('takes an existing cluster’s ARN from cdk.json, reading no stack', async () => {
      // The repository's own cdk.json, whose environment "existing" uses a cluster deployed elsewhere.
      const platformContext = (
        JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: { platform: unknown } }
      ).context.platform;
      const existing = parseDeploymentConfig(platformContext, 'existing');
      const target = resolveTarget({ env: 'existing' }, 'catalog', {
        env: {},
        platformContext: () => platformContext,
        stackOutputs: () => {
          throw new Error('no stack is read for an existing cluster');
        },
      });

      expect(existing.kafka.mode).toBe('existing');
      expect((await target.kafkaConnection()).brokers).toEqual({
        mskClusterArn: existing.kafka.mode === 'existing' ? existing.kafka.clusterArn : '',
      });
    });

    it('names tables as the state stack reports them, and says what to do when a stack lacks the output', async () => {
      const { target } = resolve({ env: 'staging' });

      expect(await target.tableName('offers.join-state')).toBe('catalog-staging-state-TableoffersjoinstateA1B2C3-XYZ');
      await expect(target.tableName('prices.hot-state')).rejects.toThrow(
        new CliError(
          `stack catalog-staging-state has no output ${DEPLOYED_OUTPUTS.tableName('prices.hot-state')} (deployed by a version of the platform that did not emit it): deploy environment "staging" again`,
        ),
      );
    });

    it('reaches AWS’s DynamoDB in the environment’s region with the default AWS credentials, never a local DYNAMODB_ENDPOINT', () => {
      expect(resolve({ env: 'staging' }, { DYNAMODB_ENDPOINT: 'http://127.0.0.1:18000' }).target.dynamodb).toEqual({
        region: 'eu-central-1',
      });
    });

    it('uses the environment’s schema registry and secret, looking schemas up only, and never the local stand-in; publishing registers', () => {
      const { target } = resolve({ env: 'staging' }, { SCHEMA_REGISTRY_FILE: '/tmp/local-registry.json' });

      expect(target.schemaRegistryEnvironment).toMatchObject({
        SCHEMA_REGISTRY_URL: 'https://schema-registry.staging.internal.example.com',
        SCHEMA_REGISTRY_CREDENTIALS_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:schema-registry-AbCdEf',
        SCHEMA_REGISTRY_FILE: '',
        SCHEMA_REGISTRY_AUTO_REGISTER: 'false',
      });
      expect(target.schemaPublishingEnvironment).toMatchObject({
        SCHEMA_REGISTRY_URL: 'https://schema-registry.staging.internal.example.com',
        SCHEMA_REGISTRY_AUTO_REGISTER: 'true',
      });
      expect(target.schemaRegistryFallbackFile).toBeUndefined();
    });

    it('lets --region override the environment’s, and the environment or AWS_REGION supply one when cdk.json has none', async () => {
      expect((await resolve({ env: 'staging', region: 'eu-west-3' }).target.kafkaConnection()).region).toBe('eu-west-3');
      expect(resolve({ env: 'anywhere', brokers: 'b:9098' }, { AWS_REGION: 'sa-east-1' }).target.awsRegion).toBe('sa-east-1');
    });
  });

  describe('wrong usage', () => {
    it.each<[string, TargetFlags, NodeJS.ProcessEnv, string]>([
      [
        'an unknown environment, naming the known ones',
        { env: 'prdo' },
        {},
        `--env prdo: cdk.json's context.platform.environments has no such environment (it has: staging, anywhere)`,
      ],
      [
        'an environment with no region anywhere',
        { env: 'anywhere' },
        {},
        'environment "anywhere" names no region in cdk.json: give --region <region> or set AWS_REGION',
      ],
      [
        '--auth none against an environment’s IAM-only cluster',
        { env: 'staging', auth: 'none' },
        {},
        '--auth none: the cluster of environment "staging" takes MSK IAM clients only; name brokers that take unauthenticated clients with --brokers',
      ],
      ['an unknown --auth', { auth: 'scram' }, {}, '--auth must be none or aws-iam, got "scram"'],
      [
        'a malformed --region',
        { env: 'staging', region: 'Frankfurt' },
        {},
        '--region must be an AWS region such as eu-west-1, got "Frankfurt"',
      ],
      ['malformed --brokers', { brokers: 'kafka.test' }, {}, '--brokers must be host:port[,host:port…], got "kafka.test"'],
      [
        '--auth aws-iam with no region',
        { brokers: 'b:9098', auth: 'aws-iam' },
        {},
        '--auth aws-iam signs for an AWS region: give --region <region> or set AWS_REGION',
      ],
      [
        '--tls against the plaintext local broker',
        { tls: true },
        {},
        "--tls needs brokers that take it: the local runtime's broker (127.0.0.1:19092) is plaintext. Name them with --brokers or KAFKA_BROKERS, or a deployed environment with --env <name>",
      ],
    ])('refuses %s', (_, flags, env, message) => {
      expect(() => resolve(flags, env)).toThrow(new UsageError(message));
      expect(() => resolve(flags, env)).toThrow(UsageError);
    });

    it('fails (not wrong usage) on a --ca file that does not exist', () => {
      const attempt = () => resolve({ brokers: 'b:9093', ca: '/nonexistent/ca.pem' });

      expect(attempt).toThrow(new CliError('--ca /nonexistent/ca.pem: no such file'));
      expect(attempt).not.toThrow(UsageError);
    });
  });
});
