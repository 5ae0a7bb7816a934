import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { existsSync, readFileSync } from 'node:fs';
import { parseDeploymentConfig, type DeploymentConfig } from '../../cdk/config';
import { DEPLOYED_OUTPUTS, deployedStackName } from '../../cdk/deployed-outputs';
import { KAFKA_AUTHS, type KafkaAuth, type KafkaConnection } from '../kafka';
import { readLocalServicesConfig } from '../local/config';
import { LOCAL_SCHEMA_REGISTRY_FILE } from '../local/paths';
import { SCHEMA_REGISTRY_VARIABLES } from '../schemas';
import { CliError, UsageError } from './errors';
import type { StackOutputsReader } from './stack-outputs';

/** The flags that say what the CLI runs against; all optional, the local runtime by default. */
export interface TargetFlags {
  /** A deployed environment, as cdk.json's `platform.environments` names it. */
  readonly env?: string | undefined;
  /** `host:port[,…]`: these brokers instead of the local runtime's or the environment's cluster. */
  readonly brokers?: string | undefined;
  readonly tls?: boolean | undefined;
  /** A PEM file of the certificate authorities to trust; implies TLS. */
  readonly ca?: string | undefined;
  /** `none` or `aws-iam`. */
  readonly auth?: string | undefined;
  readonly region?: string | undefined;
}

/** Where the target's settings come from; tests give their own. */
export interface TargetSources {
  readonly env: NodeJS.ProcessEnv;
  /** cdk.json's `context.platform`: read only with --env. */
  readonly platformContext: () => unknown;
  /** Reads deployed stacks' outputs in a region: called only when an output is needed. */
  readonly stackOutputs: (region: string, environment: string) => StackOutputsReader;
}

/** What the CLI's commands run against: the services, how to reach them, and what things are called there. */
export interface CliTarget {
  /** For messages: `the local runtime` or `environment "prod" (eu-west-1)`. */
  readonly description: string;
  /** For messages: which brokers, over what, e.g. `127.0.0.1:9093 over TLS (trusting ca.pem)`. */
  readonly kafkaDescription: string;
  /** The deployed environment, with --env. */
  readonly deployment: DeploymentConfig | undefined;
  /** The AWS region of the deployed environment (or --region); the SDK's own default otherwise. */
  readonly awsRegion: string | undefined;
  /** Brokers, TLS and authentication; with --env the cluster's ARN comes from the streaming stack, read on first call. */
  kafkaConnection(): Promise<KafkaConnection>;
  /** How to reach DynamoDB: the local endpoint, or with --env AWS's, in the environment's region, with the default AWS credentials. */
  readonly dynamodb: DynamoDBClientConfig;
  /** A declared table's name where it is deployed: as declared locally; with --env from the state stack's outputs. */
  tableName(declared: string): Promise<string>;
  /** The variables the schema registry is built from; in a deployed environment it only looks schemas up, as the functions do. */
  readonly schemaRegistryEnvironment: NodeJS.ProcessEnv;
  /** The same registry, allowed to register (`schemas publish`). */
  readonly schemaPublishingEnvironment: NodeJS.ProcessEnv;
  /** The local stand-in's file when the variables name no registry; none in a deployed environment. */
  readonly schemaRegistryFallbackFile: string | undefined;
  /**
   * The addresses of the services `npm start` runs, where the CLI uses them (the local defaults, no --env,
   * --brokers, KAFKA_BROKERS or DYNAMODB_ENDPOINT): when nothing answers there, the platform is not running.
   */
  readonly localServices: { readonly kafka?: string | undefined; readonly dynamodb?: string | undefined } | undefined;
}

/**
 * Resolves the flags against the environment: with no flags, exactly the
 * services `npm start` runs (KAFKA_BROKERS / DYNAMODB_ENDPOINT or the local
 * ports, plaintext, no authentication). With `--env <name>`, the deployed
 * environment of that name: MSK IAM over TLS in its region, the brokers from
 * `--brokers`, `KAFKA_BROKERS` or its cluster (`kafka:GetBootstrapBrokers`
 * on the ARN cdk.json or the streaming stack names), its tables by the names
 * the state stack reports, its schema registry. Explicit flags override.
 *
 * @throws UsageError for flags that contradict each other or cannot work
 * @throws CliError for a --ca file that is missing or holds no certificate
 */
export function resolveTarget(flags: TargetFlags, pipelineName: string, sources: TargetSources): CliTarget {
  const { env } = sources;
  const auth = flags.auth === undefined ? undefined : parseAuth(flags.auth);
  const region = flags.region === undefined ? undefined : parseRegion(flags.region);
  const ca = flags.ca === undefined ? undefined : readCertificates(flags.ca);
  const local = readLocalServicesConfig(env);
  const brokers = flags.brokers === undefined ? local.externalKafkaBrokers : parseBrokers(flags.brokers);
  const tls: KafkaConnection['tls'] = ca ? { ca } : flags.tls === true || auth === 'aws-iam' || flags.env !== undefined;
  const envRegion = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;

  if (flags.env === undefined) {
    const resolvedAuth = auth ?? 'none';
    if (!brokers && (tls !== false || resolvedAuth !== 'none')) {
      throw new UsageError(
        `${flags.ca !== undefined ? '--ca' : flags.tls ? '--tls' : '--auth aws-iam'} needs brokers that take it: the local runtime's broker (127.0.0.1:${local.kafkaPort}) is plaintext. Name them with --brokers or KAFKA_BROKERS, or a deployed environment with --env <name>`,
      );
    }
    const signingRegion = region ?? envRegion;
    if (resolvedAuth === 'aws-iam' && !signingRegion)
      throw new UsageError('--auth aws-iam signs for an AWS region: give --region <region> or set AWS_REGION');
    const listed = brokers ?? [`127.0.0.1:${local.kafkaPort}`];
    const connection: KafkaConnection = { brokers: listed, tls, auth: resolvedAuth, region: signingRegion };
    return {
      description: 'the local runtime',
      kafkaDescription: describeKafka(listed.join(','), connection, flags.ca),
      deployment: undefined,
      awsRegion: region,
      kafkaConnection: async () => connection,
      dynamodb: {
        endpoint: local.externalDynamoDbEndpoint ?? `http://127.0.0.1:${local.dynamoDbPort}`,
        region: region ?? local.awsRegion,
        credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'local' },
      },
      tableName: async (declared) => declared,
      schemaRegistryEnvironment: env,
      schemaPublishingEnvironment: env,
      schemaRegistryFallbackFile: LOCAL_SCHEMA_REGISTRY_FILE,
      localServices: {
        kafka: brokers === undefined ? listed.join(',') : undefined,
        dynamodb: local.externalDynamoDbEndpoint === undefined ? `http://127.0.0.1:${local.dynamoDbPort}` : undefined,
      },
    };
  }

  const name = flags.env;
  const platformContext = sources.platformContext();
  const environments = field(platformContext, 'environments');
  if (field(environments, name) === undefined) {
    const known = environments !== null && typeof environments === 'object' ? Object.keys(environments) : [];
    throw new UsageError(
      `--env ${name}: cdk.json's context.platform.environments has no such environment (it has: ${known.join(', ') || 'none'})`,
    );
  }
  const deployment = parseDeploymentConfig(platformContext, name);
  const awsRegion = region ?? deployment.region ?? envRegion;
  if (!awsRegion) throw new UsageError(`environment "${name}" names no region in cdk.json: give --region <region> or set AWS_REGION`);
  const resolvedAuth = auth ?? 'aws-iam';
  if (resolvedAuth === 'none' && !brokers) {
    throw new UsageError(
      `--auth none: the cluster of environment "${name}" takes MSK IAM clients only; name brokers that take unauthenticated clients with --brokers`,
    );
  }
  let outputs: StackOutputsReader | undefined;
  // The outputs the stacks emit for this (cdk/deployed-outputs.ts: one contract, written there, read here).
  const output = async (part: 'streaming' | 'state', key: string): Promise<string> => {
    const stack = deployedStackName(pipelineName, name, part);
    outputs ??= sources.stackOutputs(awsRegion, name);
    const value = (await outputs(stack))[key];
    if (!value)
      throw new CliError(
        `stack ${stack} has no output ${key} (deployed by a version of the platform that did not emit it): deploy environment "${name}" again`,
      );
    return value;
  };
  const clusterArn = async () =>
    deployment.kafka.mode === 'existing' ? deployment.kafka.clusterArn : output('streaming', DEPLOYED_OUTPUTS.clusterArn);
  // A registry of this environment only: never the local stand-in's file, and never registering while reading or producing.
  const registry: NodeJS.ProcessEnv = {
    ...env,
    [SCHEMA_REGISTRY_VARIABLES.url]: env[SCHEMA_REGISTRY_VARIABLES.url] || deployment.schemaRegistryUrl || '',
    [SCHEMA_REGISTRY_VARIABLES.file]: '',
    ...(env[SCHEMA_REGISTRY_VARIABLES.credentials]
      ? {}
      : { [SCHEMA_REGISTRY_VARIABLES.credentialsSecretArn]: deployment.schemaRegistryCredentialsSecretArn ?? '' }),
  };
  return {
    description: `environment "${name}" (${awsRegion})`,
    kafkaDescription: describeKafka(
      brokers?.join(',') ?? `the IAM bootstrap brokers of environment "${name}"'s MSK cluster`,
      { tls, auth: resolvedAuth, region: awsRegion },
      flags.ca,
    ),
    deployment,
    awsRegion,
    kafkaConnection: async () => ({
      brokers: brokers ?? { mskClusterArn: await clusterArn() },
      tls,
      auth: resolvedAuth,
      region: awsRegion,
    }),
    // AWS's DynamoDB, never a DYNAMODB_ENDPOINT left over from local work (the SDK's AWS_ENDPOINT_URL_DYNAMODB still applies).
    dynamodb: { region: awsRegion },
    tableName: (declared) => output('state', DEPLOYED_OUTPUTS.tableName(declared)),
    schemaRegistryEnvironment: { ...registry, [SCHEMA_REGISTRY_VARIABLES.autoRegister]: 'false' },
    schemaPublishingEnvironment: { ...registry, [SCHEMA_REGISTRY_VARIABLES.autoRegister]: 'true' },
    schemaRegistryFallbackFile: undefined,
    localServices: undefined,
  };
}

function describeKafka(where: string, connection: Omit<KafkaConnection, 'brokers'>, caFile: string | undefined): string {
  const security =
    connection.tls === false
      ? 'plaintext'
      : `over TLS${caFile === undefined ? '' : ` (trusting the certificate authorities in ${caFile})`}`;
  return `${where}, ${security}${connection.auth === 'aws-iam' ? `, with MSK IAM authentication in ${connection.region}` : ''}`;
}

function parseAuth(raw: string): KafkaAuth {
  if (!(KAFKA_AUTHS as readonly string[]).includes(raw)) throw new UsageError(`--auth must be ${KAFKA_AUTHS.join(' or ')}, got "${raw}"`);
  return raw as KafkaAuth;
}

function parseRegion(raw: string): string {
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(raw)) throw new UsageError(`--region must be an AWS region such as eu-west-1, got "${raw}"`);
  return raw;
}

function parseBrokers(raw: string): string[] {
  const brokers = raw
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  if (brokers.length === 0 || brokers.some((broker) => !/^[^:\s]+:\d{1,5}$/.test(broker)))
    throw new UsageError(`--brokers must be host:port[,host:port…], got "${raw}"`);
  return brokers;
}

function readCertificates(file: string): string[] {
  if (!existsSync(file)) throw new CliError(`--ca ${file}: no such file`);
  const pem = readFileSync(file, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new CliError(`--ca ${file} holds no PEM certificate (a "-----BEGIN CERTIFICATE-----" block)`);
  return [pem];
}

function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
}
