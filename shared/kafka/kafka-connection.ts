import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import type { KafkaConfig } from 'kafkajs';
import { ConfigError, requireEnv } from '../config';

/** How a client proves who it is: not at all, or SASL/OAUTHBEARER signed with AWS credentials (MSK IAM access control). */
export type KafkaAuth = 'none' | 'aws-iam';

export const KAFKA_AUTHS: readonly KafkaAuth[] = ['none', 'aws-iam'];

/**
 * Where a Kafka cluster is and how to reach it: what a function gets from its
 * environment ({@link kafkaConnectionFromEnvironment}) and what the `platform`
 * CLI builds from its flags and a deployed environment. {@link kafkaClientConfig}
 * turns it into kafkajs settings, the one place that does.
 */
export interface KafkaConnection {
  /** `host:port` addresses, or an MSK cluster whose bootstrap brokers are looked up on first connect. */
  readonly brokers: readonly string[] | { readonly mskClusterArn: string };
  /** Off; on, trusting the system's certificate authorities; or on, trusting these (PEM certificates). */
  readonly tls: boolean | { readonly ca: readonly string[] };
  readonly auth: KafkaAuth;
  /** The AWS region to sign in and look brokers up in: required with `aws-iam` and with an MSK cluster ARN. */
  readonly region?: string | undefined;
}

/**
 * The kafkajs settings for a connection: brokers (a lookup of the cluster's
 * bootstrap brokers on first connect when it names an MSK cluster), TLS, and
 * for `aws-iam` SASL/OAUTHBEARER with a token the MSK IAM signer
 * (`aws-msk-iam-sasl-signer-js`) makes from the default AWS credentials, fresh
 * on every authentication.
 *
 * @example
 * new Kafka({ clientId: 'ops', ...kafkaClientConfig({ brokers: { mskClusterArn }, tls: true, auth: 'aws-iam', region: 'eu-west-1' }) });
 * @throws ConfigError when the connection cannot work: IAM without TLS or a region, no brokers
 */
export function kafkaClientConfig(connection: KafkaConnection): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  const { auth, tls, region } = connection;
  if (!KAFKA_AUTHS.includes(auth)) throw new ConfigError(`Kafka authentication must be "none" or "aws-iam", got "${String(auth)}"`);
  if (auth === 'aws-iam' && tls === false)
    throw new ConfigError('MSK IAM authentication (aws-iam) needs TLS: the brokers only accept it on their TLS listener');
  if (auth === 'aws-iam' && !region) throw new ConfigError('MSK IAM authentication (aws-iam) signs for a region: none was given');
  let brokers: KafkaConfig['brokers'];
  if (Array.isArray(connection.brokers)) {
    if (connection.brokers.length === 0) throw new ConfigError('no Kafka brokers were given');
    brokers = [...connection.brokers];
  } else {
    const { mskClusterArn } = connection.brokers as { readonly mskClusterArn: string };
    if (!region) throw new ConfigError(`the bootstrap brokers of MSK cluster ${mskClusterArn} are looked up in a region: none was given`);
    const listener: BootstrapListener = auth === 'aws-iam' ? 'iam' : tls === false ? 'plaintext' : 'tls';
    brokers = () => bootstrapBrokers(mskClusterArn, region, listener);
  }
  const ssl: KafkaConfig['ssl'] = tls === false ? false : tls === true ? true : { ca: [...tls.ca] };
  if (auth === 'none') return tls === false ? { brokers } : { brokers, ssl };
  const signingRegion = region!;
  return {
    brokers,
    ssl,
    sasl: {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: (await generateAuthToken({ region: signingRegion })).token }),
    },
  };
}

/**
 * A function's connection, from its environment:
 *
 * - `KAFKA_BROKERS`: comma-separated brokers (the local runtime sets it), or
 * - `KAFKA_CLUSTER_ARN`: an MSK cluster whose bootstrap brokers are looked up
 *   on first connect (what the CDK stacks set), over TLS;
 * - `KAFKA_AUTH`: `none` (default) or `aws-iam` (TLS and SASL/OAUTHBEARER
 *   signed with the function's role, as MSK IAM access control expects);
 * - `AWS_REGION`: where to sign and look up (Lambda sets it).
 *
 * @throws ConfigError naming the variable that is missing or wrong
 */
export function kafkaConnectionFromEnvironment(env: NodeJS.ProcessEnv): KafkaConnection {
  const auth = env.KAFKA_AUTH || 'none';
  if (auth !== 'none' && auth !== 'aws-iam') throw new ConfigError(`KAFKA_AUTH must be "none" or "aws-iam", got "${auth}"`);
  const clusterArn = env.KAFKA_CLUSTER_ARN;
  const listed = env.KAFKA_BROKERS || !clusterArn;
  const brokers = listed ? requireEnv('KAFKA_BROKERS', env).split(',') : { mskClusterArn: clusterArn };
  // An MSK cluster's looked-up brokers are its TLS (or IAM, also TLS) listeners.
  const tls = auth === 'aws-iam' || !listed;
  const region = auth === 'aws-iam' || !listed ? requireEnv('AWS_REGION', env) : env.AWS_REGION;
  return { brokers, tls, auth, region };
}

type BootstrapListener = 'iam' | 'tls' | 'plaintext';

const BOOTSTRAP_FIELDS = {
  iam: ['BootstrapBrokerStringSaslIam', 'IAM'],
  tls: ['BootstrapBrokerStringTls', 'TLS'],
  plaintext: ['BootstrapBrokerString', 'plaintext'],
} as const;

/** One look-up per cluster, listener and region for the life of the process (a warm Lambda reuses it); a failed one is forgotten. */
const bootstraps = new Map<string, Promise<string[]>>();

function bootstrapBrokers(clusterArn: string, region: string, listener: BootstrapListener): Promise<string[]> {
  const key = `${region} ${clusterArn} ${listener}`;
  let lookup = bootstraps.get(key);
  if (!lookup) {
    const [field, what] = BOOTSTRAP_FIELDS[listener];
    lookup = new KafkaClient({ region }).send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn })).then((output) => {
      const brokers = output[field];
      if (!brokers)
        throw new ConfigError(`MSK cluster ${clusterArn} reports no ${what} bootstrap brokers (is ${what} client access turned on?)`);
      return brokers.split(',');
    });
    lookup.catch(() => bootstraps.delete(key));
    bootstraps.set(key, lookup);
  }
  return lookup;
}
