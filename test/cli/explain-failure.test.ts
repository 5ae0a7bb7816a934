import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } from 'kafkajs';
import { CliError } from '../../shared/cli/errors';
import { explainFailure } from '../../shared/cli/explain-failure';

/** kafkajs's typings declare this one without the message it takes. */
const SaslAuthenticationError = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;

/** A connection failure as kafkajs reports it once its retries are spent. */
const afterRetries = (error: Error) => new KafkaJSNumberOfRetriesExceeded(error, { retryCount: 2, retryTime: 600 });

describe('Function: explainFailure', () => {
  const scene = { kafka: 'b-1.example:9098, over TLS, with MSK IAM authentication in eu-west-1', deployed: true };

  it('prints the platform’s own errors as they are', () => {
    expect(explainFailure(new CliError('no consumer "x" in pipeline "catalog"'), scene)).toBe('no consumer "x" in pipeline "catalog"');
  });

  it('says an untrusted broker certificate needs --ca', () => {
    const error = afterRetries(
      new KafkaJSConnectionError('Connection error: self-signed certificate in certificate chain', {
        broker: 'b-1.example:9098',
        code: 'SELF_SIGNED_CERT_IN_CHAIN',
      }),
    );

    expect(explainFailure(error, scene)).toBe(
      `could not connect to Kafka at ${scene.kafka}: the brokers' TLS certificate is not trusted (self-signed certificate in certificate chain). Give the certificate authority that signed it with --ca <file.pem>`,
    );
  });

  it('says a certificate for another name needs the name it was made for', () => {
    const error = afterRetries(
      new KafkaJSConnectionError(
        "Connection error: Hostname/IP does not match certificate's altnames: Host: localhost. is not in the cert's altnames: DNS:b-1.example",
        { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
      ),
    );

    expect(explainFailure(error, scene)).toMatch(
      /TLS certificate is for another name \(Hostname\/IP does not match .*\)\. Connect by the name in the certificate/,
    );
  });

  it('points at the IAM permission when the brokers refuse the authentication or a request', () => {
    const refused = new SaslAuthenticationError('SASL OAUTHBEARER authentication failed: Access denied');
    const forbidden = new KafkaJSProtocolError({
      message: 'Not authorized to access topics: [Topic authorization failed]',
      type: 'TOPIC_AUTHORIZATION_FAILED',
      code: 29,
      retriable: false,
    } as never);

    expect(explainFailure(refused, scene)).toBe(
      `Kafka at ${scene.kafka} refused the authentication (SASL OAUTHBEARER authentication failed: Access denied). With --auth aws-iam the AWS credentials in use must be allowed kafka-cluster:Connect on the cluster`,
    );
    expect(explainFailure(forbidden, scene)).toMatch(
      /refused the request \(Not authorized to access topics: \[Topic authorization failed\]\): the identity in use needs the kafka-cluster permission/,
    );
  });

  it('says a deployed cluster is reachable only from its VPC when its brokers cannot be reached', () => {
    const error = afterRetries(new KafkaJSConnectionError('Connection timeout', { broker: 'b-1.example:9098' }));

    expect(explainFailure(error, scene)).toBe(
      `could not connect to Kafka at ${scene.kafka} (Connection timeout). A deployed cluster's brokers are reachable only from inside its VPC (see README, "Reaching a deployed environment")`,
    );
    expect(explainFailure(error, { kafka: '127.0.0.1:19092, plaintext' })).toMatch(
      /\(Connection timeout\)\. Is the broker running, and does its listener speak what the CLI does/,
    );
  });

  it('says how to sign in when there are no AWS credentials, and prints anything else by name and message', () => {
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });

    expect(explainFailure(noCredentials)).toBe(
      'no AWS credentials found (Could not load credentials from any providers): sign in (aws sso login, AWS_PROFILE=…) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    );
    expect(explainFailure(new TypeError('x is not a function'))).toBe('TypeError: x is not a function');
  });

  it('says the platform is not running when nothing answers where `npm start` runs it, and only there', () => {
    const refused = afterRetries(
      new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19092', {
        broker: '127.0.0.1:19092',
        code: 'ECONNREFUSED',
      }),
    );
    const dynamodbRefused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:18000'), { code: 'ECONNREFUSED' });
    const local = { kafka: '127.0.0.1:19092, plaintext', local: { kafka: '127.0.0.1:19092', dynamodb: 'http://127.0.0.1:18000' } };

    expect(explainFailure(refused, local)).toBe(
      'the platform is not running: start it with `npm start` (nothing answered at Kafka 127.0.0.1:19092)',
    );
    expect(explainFailure(dynamodbRefused, local)).toBe(
      'the platform is not running: start it with `npm start` (nothing answered at DynamoDB http://127.0.0.1:18000)',
    );
    // Brokers named with --brokers or KAFKA_BROKERS are not `npm start`'s: the connection failure is explained as such.
    expect(explainFailure(refused, { kafka: '127.0.0.1:19092, plaintext' })).toMatch(
      /^could not connect to Kafka at 127\.0\.0\.1:19092, plaintext \(connect ECONNREFUSED 127\.0\.0\.1:19092\)\. Is the broker running/,
    );
  });
});
