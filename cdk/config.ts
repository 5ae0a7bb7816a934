import { PlatformError } from '../shared/errors';

/**
 * One deployment environment (dev, prod, …), read from `cdk.json` context
 * (`platform.environments.<name>`) or passed as props, and validated once at
 * synth time. Nothing here needs AWS credentials: existing resources are named
 * by id or ARN, never looked up.
 */
export interface DeploymentConfig {
  readonly name: string;
  /** 12 digits; omitted: an environment-agnostic template. */
  readonly account: string | undefined;
  readonly region: string | undefined;
  /** Production keeps state on stack deletion and turns on deletion protection. */
  readonly production: boolean;
  readonly network: NetworkConfig;
  readonly kafka: KafkaClusterConfig;
  /** How often the hot-path flush ticker runs in AWS (EventBridge Scheduler's finest rate is a minute). */
  readonly flushTickMinutes: number;
  /** Provisioned pollers per consumer name (high-frequency consumers need them for their retry controls). */
  readonly provisionedPollers: Readonly<Record<string, { readonly minimum: number; readonly maximum: number }>>;
  /** Email address or none: where alarms notify (an SNS topic is created either way). */
  readonly alarmEmail: string | undefined;
  /**
   * The Confluent-compatible schema registry the functions read and register
   * Avro schemas with (reachable from the VPC's private subnets). Required
   * when the pipeline's topics carry Avro.
   */
  readonly schemaRegistryUrl: string | undefined;
  /** A Secrets Manager secret with the registry's basic-auth credentials (`user:password`, or JSON username and password). */
  readonly schemaRegistryCredentialsSecretArn: string | undefined;
  /** The database of each change-data-capture source the pipeline declares, by source name (see cdk/README.md). */
  readonly cdcSources: Readonly<Record<string, CdcSourceConfig>>;
}

/** MSK Connect's worker sizes: 1 MCU is 1 vCPU and 4 GiB. */
export const MCU_COUNTS = [1, 2, 4, 8] as const;
export type McuCount = (typeof MCU_COUNTS)[number];

/** Where a CDC source's PostgreSQL database is, and how the connector logs in. */
export interface CdcSourceConfig {
  readonly hostname: string;
  readonly port: number;
  /** A Secrets Manager secret (complete ARN) holding JSON `username` and `password`, as RDS writes them. */
  readonly secretArn: string;
  /** The database's security group: the connector's group is admitted to it on `port`. */
  readonly securityGroupId: string;
  /** Whether synth adds that ingress rule; off when the database's owners add it (CloudFormation refuses a duplicate rule). */
  readonly addSecurityGroupRules: boolean;
  /** The connector's one worker (Debezium's PostgreSQL connector runs one task). */
  readonly mcuCount: McuCount;
}

export type NetworkConfig =
  /** `availabilityZones` names the zones (no lookup); without them an environment-agnostic stack gets 2. */
  | {
      readonly mode: 'new';
      readonly zoneCount: number;
      readonly availabilityZones: readonly string[] | undefined;
      readonly awsApiAccess: AwsApiAccess;
    }
  | {
      readonly mode: 'existing';
      readonly vpcId: string;
      readonly availabilityZones: readonly string[];
      readonly privateSubnetIds: readonly string[];
      readonly awsApiAccess: AwsApiAccess;
    };

/**
 * How the event source pollers (which Lambda runs in the cluster's subnets with the cluster's security group) and
 * the functions reach STS, Lambda, MSK's API and Secrets Manager.
 * - `endpoints`: interface endpoints the new VPC gets, admitting the cluster's and the functions' groups on 443.
 * - `nat`: a NAT gateway per zone (the new VPC gets public subnets); the cluster's group may leave on 443.
 * - `existing-endpoints`: an existing VPC's endpoints, by security group: those groups get ingress on 443.
 */
export type AwsApiAccess =
  | { readonly kind: 'endpoints' }
  | { readonly kind: 'nat' }
  | { readonly kind: 'existing-endpoints'; readonly endpointSecurityGroupIds: readonly string[] };

export type KafkaClusterConfig =
  | {
      readonly mode: 'provisioned';
      readonly brokerNodes: number;
      readonly instanceType: string;
      readonly volumeSizeGiB: number;
      readonly kafkaVersion: string;
    }
  | {
      readonly mode: 'existing';
      readonly clusterArn: string;
      readonly securityGroupId: string;
      /**
       * Whether synth adds the rules the platform needs to the cluster's group (see cdk/README.md). Off when
       * another team owns that group and has added them already: CloudFormation refuses a duplicate rule.
       */
      readonly addSecurityGroupRules: boolean;
    };

/** The environment configuration is invalid; lists every problem. */
export class DeploymentConfigError extends PlatformError {
  override readonly name = 'DeploymentConfigError';
  constructor(
    environment: string,
    readonly problems: readonly string[],
  ) {
    super(`deployment environment "${environment}" is not valid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

const KAFKA_VERSIONS = ['3.9.x.kraft', '4.0.x.kraft', '4.1.x.kraft'];
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
const CLUSTER_ARN = /^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9-]+\/[A-Za-z0-9-]+$/;
/** The full ARN, with the 6 characters Secrets Manager appends: IAM and dynamic references match against it. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const SECRET_ARN_HINT = 'a complete Secrets Manager secret ARN (ending in the 6 characters Secrets Manager adds)';
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/**
 * Reads environment `name` from the `platform` context value:
 * `{ "environments": { "<name>": { account?, region?, production?, network?, kafka?, flushTickMinutes?, provisionedPollers?, alarmEmail?, schemaRegistryUrl?, schemaRegistryCredentialsSecretArn?, cdcSources? } } }`.
 * @throws DeploymentConfigError naming every problem
 */
export function parseDeploymentConfig(platformContext: unknown, name: string): DeploymentConfig {
  const problems: string[] = [];
  const environments = field(platformContext, 'environments');
  const raw = field(environments, name);
  if (raw === undefined) {
    const known = environments && typeof environments === 'object' ? Object.keys(environments) : [];
    throw new DeploymentConfigError(name, [
      `no such environment in cdk.json context "platform.environments" (known: ${known.join(', ') || 'none'})`,
    ]);
  }
  const text = (key: string, value: unknown, pattern: RegExp, hint: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !pattern.test(value)) problems.push(`${key} must be ${hint}, got ${JSON.stringify(value)}`);
    return value as string;
  };
  const integer = (key: string, value: unknown, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
      problems.push(`${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return value as number;
  };

  const account = text('account', field(raw, 'account'), /^\d{12}$/, 'a 12-digit AWS account id');
  const region = text('region', field(raw, 'region'), /^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as "eu-west-1"');
  const production = field(raw, 'production') ?? false;
  if (typeof production !== 'boolean') problems.push('production must be true or false');

  const networkRaw = field(raw, 'network') ?? { mode: 'new' };
  let network: NetworkConfig = { mode: 'new', zoneCount: 2, availabilityZones: undefined, awsApiAccess: { kind: 'endpoints' } };
  const networkMode = field(networkRaw, 'mode') ?? 'new';
  if (networkMode === 'existing') {
    const vpcId = text('network.vpcId', field(networkRaw, 'vpcId'), /^vpc-[0-9a-f]{8,17}$/, 'a VPC id such as "vpc-0123456789abcdef0"');
    const zones = stringList(field(networkRaw, 'availabilityZones'));
    const subnets = stringList(field(networkRaw, 'privateSubnetIds'));
    if (vpcId === undefined) problems.push('network.vpcId is required with network.mode "existing"');
    if (!zones || zones.length < 2) problems.push('network.availabilityZones must list at least 2 zones');
    if (!subnets || subnets.some((subnet) => !/^subnet-[0-9a-f]{8,17}$/.test(subnet)))
      problems.push('network.privateSubnetIds must list subnet ids such as "subnet-0123…"');
    else if (zones && subnets.length !== zones.length)
      problems.push('network.privateSubnetIds must list one private subnet per availability zone, in the same order');
    const access = field(networkRaw, 'awsApiAccess');
    let awsApiAccess: AwsApiAccess = { kind: 'nat' };
    const endpointGroups = stringList(field(access, 'endpointSecurityGroupIds'));
    if (access === 'nat') awsApiAccess = { kind: 'nat' };
    else if (endpointGroups && endpointGroups.length > 0 && endpointGroups.every((id) => SECURITY_GROUP_ID.test(id)))
      awsApiAccess = { kind: 'existing-endpoints', endpointSecurityGroupIds: endpointGroups };
    else {
      // Not guessed: pollers that cannot reach STS and Lambda never connect, and nothing at synth could tell.
      problems.push(
        'network.awsApiAccess is required with network.mode "existing": "nat" when the private subnets route to a NAT gateway, or ' +
          '{ "endpointSecurityGroupIds": ["sg-…"] } naming the security groups of the VPC\'s STS, Lambda, MSK and (with registry credentials) Secrets Manager interface endpoints',
      );
    }
    network = { mode: 'existing', vpcId: vpcId ?? '', availabilityZones: zones ?? [], privateSubnetIds: subnets ?? [], awsApiAccess };
  } else if (networkMode === 'new') {
    const zones = field(networkRaw, 'availabilityZones') === undefined ? undefined : stringList(field(networkRaw, 'availabilityZones'));
    if (field(networkRaw, 'availabilityZones') !== undefined && (!zones || zones.length < 2))
      problems.push('network.availabilityZones must list at least 2 zones');
    if (field(networkRaw, 'maxAzs') !== undefined)
      problems.push('network.maxAzs is not read: list network.availabilityZones (2 or more), or leave both out for 2 zones');
    // Zones are named, never looked up, so synth needs no credentials; an account-bound stack would look them up.
    if (!zones && account !== undefined && region !== undefined)
      problems.push(
        'network.availabilityZones is required when account and region are set (e.g. ["eu-west-1a", "eu-west-1b", "eu-west-1c"])',
      );
    if (zones && region !== undefined && zones.some((zone) => !zone.startsWith(region)))
      problems.push(`network.availabilityZones must be zones of ${region}`);
    const access = field(networkRaw, 'awsApiAccess') ?? 'endpoints';
    if (access !== 'endpoints' && access !== 'nat')
      problems.push(`network.awsApiAccess must be "endpoints" or "nat" with network.mode "new", got ${JSON.stringify(access)}`);
    network = {
      mode: 'new',
      zoneCount: zones?.length ?? 2,
      availabilityZones: zones,
      awsApiAccess: { kind: access === 'nat' ? 'nat' : 'endpoints' },
    };
  } else {
    problems.push(`network.mode must be "new" or "existing", got ${JSON.stringify(field(networkRaw, 'mode'))}`);
  }

  const kafkaRaw = field(raw, 'kafka') ?? { mode: 'provisioned' };
  let kafka: KafkaClusterConfig;
  const kafkaMode = field(kafkaRaw, 'mode') ?? 'provisioned';
  if (kafkaMode === 'existing') {
    const clusterArn = text(
      'kafka.clusterArn',
      field(kafkaRaw, 'clusterArn'),
      CLUSTER_ARN,
      'an MSK cluster ARN (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>)',
    );
    const securityGroupId = text(
      'kafka.securityGroupId',
      field(kafkaRaw, 'securityGroupId'),
      SECURITY_GROUP_ID,
      'the cluster security group id',
    );
    if (clusterArn === undefined) problems.push('kafka.clusterArn is required with kafka.mode "existing"');
    if (securityGroupId === undefined)
      problems.push('kafka.securityGroupId is required with kafka.mode "existing" (consumers are allowed in through it)');
    if (networkMode !== 'existing')
      problems.push(
        'kafka.mode "existing" needs network.mode "existing": the cluster lives in a VPC of its own, which the functions must join',
      );
    const addSecurityGroupRules = field(kafkaRaw, 'addSecurityGroupRules') ?? true;
    if (typeof addSecurityGroupRules !== 'boolean') problems.push('kafka.addSecurityGroupRules must be true or false');
    kafka = {
      mode: 'existing',
      clusterArn: clusterArn ?? '',
      securityGroupId: securityGroupId ?? '',
      addSecurityGroupRules: addSecurityGroupRules === true,
    };
  } else {
    if (kafkaMode !== 'provisioned') problems.push(`kafka.mode must be "provisioned" or "existing", got ${JSON.stringify(kafkaMode)}`);
    const zones = network.mode === 'new' ? network.zoneCount : network.availabilityZones.length;
    const brokerNodes = integer('kafka.brokerNodes', field(kafkaRaw, 'brokerNodes'), zones, 2, 30);
    if (zones > 0 && brokerNodes % zones !== 0)
      problems.push(`kafka.brokerNodes (${brokerNodes}) must be a multiple of the number of availability zones (${zones})`);
    const kafkaVersion = (field(kafkaRaw, 'kafkaVersion') as string | undefined) ?? '3.9.x.kraft';
    if (!KAFKA_VERSIONS.includes(kafkaVersion))
      problems.push(
        `kafka.kafkaVersion must be one of ${KAFKA_VERSIONS.join(', ')} (KRaft, Kafka ≥ 3.9), got ${JSON.stringify(kafkaVersion)}`,
      );
    kafka = {
      mode: 'provisioned',
      brokerNodes,
      instanceType:
        text(
          'kafka.instanceType',
          field(kafkaRaw, 'instanceType'),
          /^kafka\.[a-z0-9]+\.[a-z0-9]+$/,
          'an MSK instance type such as "kafka.m7g.large"',
        ) ?? 'kafka.m7g.large',
      volumeSizeGiB: integer('kafka.volumeSizeGiB', field(kafkaRaw, 'volumeSizeGiB'), 100, 1, 16_384),
      kafkaVersion,
    };
  }

  const flushTickMinutes = integer('flushTickMinutes', field(raw, 'flushTickMinutes'), 1, 1, 60);
  const provisionedPollers: Record<string, { minimum: number; maximum: number }> = {};
  const pollersRaw = field(raw, 'provisionedPollers') ?? {};
  for (const [consumer, pollers] of Object.entries(pollersRaw as Record<string, unknown>)) {
    const minimum = integer(`provisionedPollers.${consumer}.minimum`, field(pollers, 'minimum'), 1, 1, 200);
    const maximum = integer(`provisionedPollers.${consumer}.maximum`, field(pollers, 'maximum'), 200, 1, 2_000);
    if (minimum > maximum) problems.push(`provisionedPollers.${consumer}: minimum (${minimum}) must not exceed maximum (${maximum})`);
    provisionedPollers[consumer] = { minimum, maximum };
  }
  const alarmEmail = text('alarmEmail', field(raw, 'alarmEmail'), /^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an email address');
  const schemaRegistryCredentialsSecretArn = text(
    'schemaRegistryCredentialsSecretArn',
    field(raw, 'schemaRegistryCredentialsSecretArn'),
    SECRET_ARN,
    SECRET_ARN_HINT,
  );
  const schemaRegistryUrl = text('schemaRegistryUrl', field(raw, 'schemaRegistryUrl'), /^https?:\/\/[^\s/]+(\/\S*)?$/, 'an http(s) URL');
  if (schemaRegistryCredentialsSecretArn !== undefined && schemaRegistryUrl?.startsWith('http://')) {
    problems.push(
      'schemaRegistryUrl must use https:// when schemaRegistryCredentialsSecretArn is set: basic-auth credentials would cross the network in clear text',
    );
  }
  const cdcSources: Record<string, CdcSourceConfig> = {};
  const cdcRaw = field(raw, 'cdcSources') ?? {};
  if (typeof cdcRaw !== 'object' || cdcRaw === null || Array.isArray(cdcRaw))
    problems.push('cdcSources must map source names to databases');
  else {
    for (const [source, database] of Object.entries(cdcRaw as Record<string, unknown>)) {
      const where = `cdcSources.${source}`;
      const hostname = text(`${where}.hostname`, field(database, 'hostname'), HOSTNAME, 'a DNS name or IP address');
      if (hostname === undefined) problems.push(`${where}.hostname is required (the database's endpoint)`);
      const secretArn = text(`${where}.secretArn`, field(database, 'secretArn'), SECRET_ARN, SECRET_ARN_HINT);
      if (secretArn === undefined) problems.push(`${where}.secretArn is required (a secret with JSON "username" and "password")`);
      const securityGroupId = text(
        `${where}.securityGroupId`,
        field(database, 'securityGroupId'),
        SECURITY_GROUP_ID,
        'a security group id',
      );
      if (securityGroupId === undefined) problems.push(`${where}.securityGroupId is required (the database's security group)`);
      const addSecurityGroupRules = field(database, 'addSecurityGroupRules') ?? true;
      if (typeof addSecurityGroupRules !== 'boolean') problems.push(`${where}.addSecurityGroupRules must be true or false`);
      const mcuCount = field(database, 'mcuCount') ?? 1;
      if (!MCU_COUNTS.includes(mcuCount as McuCount))
        problems.push(`${where}.mcuCount must be one of ${MCU_COUNTS.join(', ')}, got ${JSON.stringify(mcuCount)}`);
      cdcSources[source] = {
        hostname: hostname ?? '',
        port: integer(`${where}.port`, field(database, 'port'), 5432, 1, 65_535),
        secretArn: secretArn ?? '',
        securityGroupId: securityGroupId ?? '',
        addSecurityGroupRules: addSecurityGroupRules === true,
        mcuCount: mcuCount as McuCount,
      };
    }
  }

  if (problems.length > 0) throw new DeploymentConfigError(name, problems);
  return {
    name,
    account,
    region,
    production: production as boolean,
    network,
    kafka,
    flushTickMinutes,
    provisionedPollers,
    alarmEmail,
    schemaRegistryUrl,
    schemaRegistryCredentialsSecretArn,
    cdcSources,
  };
}

function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'string') ? (value as string[]) : undefined;
}
