import { ConfigError } from '../../shared/config';
import { kafkaClientConfig, kafkaConnectionFromEnvironment } from '../../shared/kafka';
import { signedToken, withStaticAwsCredentials } from './msk-iam-token';

const CLUSTER_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/platform/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2';

describe('Function: kafkaClientConfig', () => {
  withStaticAwsCredentials();

  it('gives listed brokers in plaintext with no SASL when the connection has neither TLS nor authentication', () => {
    const config = kafkaClientConfig({ brokers: ['127.0.0.1:19092'], tls: false, auth: 'none' });

    expect(config).toEqual({ brokers: ['127.0.0.1:19092'] });
  });

  it('turns TLS on, trusting the system’s certificate authorities or the ones given', () => {
    const system = kafkaClientConfig({ brokers: ['kafka.internal:9093'], tls: true, auth: 'none' });
    const given = kafkaClientConfig({ brokers: ['kafka.internal:9093'], tls: { ca: ['-----BEGIN CERTIFICATE-----\n…'] }, auth: 'none' });

    expect(system).toEqual({ brokers: ['kafka.internal:9093'], ssl: true });
    expect(given).toEqual({ brokers: ['kafka.internal:9093'], ssl: { ca: ['-----BEGIN CERTIFICATE-----\n…'] } });
  });

  it('authenticates aws-iam clients with SASL/OAUTHBEARER, over TLS, with a token the MSK IAM signer makes for the connection’s region', async () => {
    const config = kafkaClientConfig({
      brokers: ['b-1.platform.kafka.eu-west-1.amazonaws.com:9098'],
      tls: true,
      auth: 'aws-iam',
      region: 'eu-west-1',
    });
    const token = await signedToken(config.sasl);

    expect(config.ssl).toBe(true);
    expect(config.sasl?.mechanism).toBe('oauthbearer');
    expect(token.host).toBe('kafka.eu-west-1.amazonaws.com');
    expect(token.searchParams.get('Action')).toBe('kafka-cluster:Connect');
    expect(token.searchParams.get('X-Amz-Credential')).toMatch(/^AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/);
  });

  it('looks an MSK cluster’s bootstrap brokers up on first connect instead of listing them', () => {
    const config = kafkaClientConfig({ brokers: { mskClusterArn: CLUSTER_ARN }, tls: true, auth: 'aws-iam', region: 'eu-west-1' });

    expect(typeof config.brokers).toBe('function');
  });

  it('refuses a connection that cannot work, saying why', () => {
    expect(() => kafkaClientConfig({ brokers: ['b:9098'], tls: false, auth: 'aws-iam', region: 'eu-west-1' })).toThrow(
      new ConfigError('MSK IAM authentication (aws-iam) needs TLS: the brokers only accept it on their TLS listener'),
    );
    expect(() => kafkaClientConfig({ brokers: ['b:9098'], tls: true, auth: 'aws-iam' })).toThrow(/signs for a region: none was given/);
    expect(() => kafkaClientConfig({ brokers: { mskClusterArn: CLUSTER_ARN }, tls: true, auth: 'none' })).toThrow(
      /bootstrap brokers of MSK cluster .* are looked up in a region/,
    );
    expect(() => kafkaClientConfig({ brokers: [], tls: false, auth: 'none' })).toThrow(/no Kafka brokers/);
  });
});

describe('Function: kafkaConnectionFromEnvironment', () => {
  it('reads KAFKA_BROKERS as plaintext brokers with no authentication, as the local runtime sets it', () => {
    expect(kafkaConnectionFromEnvironment({ KAFKA_BROKERS: '127.0.0.1:19092,127.0.0.1:19094' })).toEqual({
      brokers: ['127.0.0.1:19092', '127.0.0.1:19094'],
      tls: false,
      auth: 'none',
      region: undefined,
    });
  });

  it('reads a deployed function’s cluster ARN, IAM authentication and region, over TLS', () => {
    const connection = kafkaConnectionFromEnvironment({ KAFKA_CLUSTER_ARN: CLUSTER_ARN, KAFKA_AUTH: 'aws-iam', AWS_REGION: 'eu-west-1' });

    expect(connection).toEqual({ brokers: { mskClusterArn: CLUSTER_ARN }, tls: true, auth: 'aws-iam', region: 'eu-west-1' });
  });

  it('names the variable that is wrong or missing', () => {
    expect(() => kafkaConnectionFromEnvironment({ KAFKA_BROKERS: 'b:9092', KAFKA_AUTH: 'kerberos' })).toThrow(
      'KAFKA_AUTH must be "none" or "aws-iam", got "kerberos"',
    );
    expect(() => kafkaConnectionFromEnvironment({ KAFKA_CLUSTER_ARN: CLUSTER_ARN, KAFKA_AUTH: 'aws-iam' })).toThrow(
      /AWS_REGION is required/,
    );
    expect(() => kafkaConnectionFromEnvironment({})).toThrow(/KAFKA_BROKERS is required/);
  });
});
