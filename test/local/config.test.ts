import { LocalConfigError, readLocalServicesConfig } from '../../shared/local';

describe('Function: readLocalServicesConfig', () => {
  it('starts its own services on the default ports when nothing is set', () => {
    const config = readLocalServicesConfig({});

    expect(config).toEqual({
      externalKafkaBrokers: undefined,
      externalDynamoDbEndpoint: undefined,
      kafkaPort: 19092,
      dynamoDbPort: 18000,
      postgresPort: 15432,
      connectPort: 18083,
      consolePort: 18088,
      awsRegion: 'us-east-1',
      schemaRegistry: { file: undefined },
      functionDefaults: { awsAccessKeyId: 'local', awsSecretAccessKey: 'local', logLevel: 'ERROR' },
    });
  });

  it("hands the functions it runs the user's AWS credentials and Powertools log level when set", () => {
    const config = readLocalServicesConfig({ AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 's3cret', POWERTOOLS_LOG_LEVEL: 'DEBUG' });

    expect(config.functionDefaults).toEqual({ awsAccessKeyId: 'AKIA1', awsSecretAccessKey: 's3cret', logLevel: 'DEBUG' });
  });

  it('uses a real schema registry when SCHEMA_REGISTRY_URL names one, else the stand-in file SCHEMA_REGISTRY_FILE names', () => {
    expect(
      readLocalServicesConfig({ SCHEMA_REGISTRY_URL: 'http://localhost:8081/', SCHEMA_REGISTRY_CREDENTIALS: 'key:secret' }).schemaRegistry,
    ).toEqual({
      url: 'http://localhost:8081',
      credentials: 'key:secret',
    });
    expect(readLocalServicesConfig({ SCHEMA_REGISTRY_FILE: '/tmp/registry.json' }).schemaRegistry).toEqual({ file: '/tmp/registry.json' });
  });

  it('uses the brokers and endpoint the user already runs', () => {
    const config = readLocalServicesConfig({
      KAFKA_BROKERS: 'localhost:9092, kafka-2:9093',
      DYNAMODB_ENDPOINT: 'http://localhost:8000/',
    });

    expect(config.externalKafkaBrokers).toEqual(['localhost:9092', 'kafka-2:9093']);
    expect(config.externalDynamoDbEndpoint).toBe('http://localhost:8000');
  });

  it('takes 0 for the console port: any free port, printed once bound', () => {
    expect(readLocalServicesConfig({ LOCAL_CONSOLE_PORT: '0' }).consolePort).toBe(0);
    expect(readLocalServicesConfig({ LOCAL_CONSOLE_PORT: '18100' }).consolePort).toBe(18100);
  });

  it.each([
    [{ KAFKA_BROKERS: 'localhost' }, /KAFKA_BROKERS must be host:port/],
    [{ DYNAMODB_ENDPOINT: 'localhost:8000' }, /DYNAMODB_ENDPOINT must be an http\(s\) URL/],
    [{ LOCAL_KAFKA_PORT: 'ninety' }, /LOCAL_KAFKA_PORT must be a port number/],
    [{ LOCAL_DYNAMODB_PORT: '70000' }, /LOCAL_DYNAMODB_PORT must be a port number/],
    [{ LOCAL_DYNAMODB_PORT: '0' }, /LOCAL_DYNAMODB_PORT must be a port number from 1 to 65534, got "0"/],
    [{ LOCAL_CONSOLE_PORT: '-1' }, /LOCAL_CONSOLE_PORT must be a port number from 1 to 65534 \(or 0: any free port\)/],
    [{ SCHEMA_REGISTRY_URL: 'registry:8081' }, /SCHEMA_REGISTRY_URL must be an http\(s\) URL/],
  ])('rejects %j with a message naming the variable', (env, message) => {
    expect(() => readLocalServicesConfig(env)).toThrow(LocalConfigError);
    expect(() => readLocalServicesConfig(env)).toThrow(message);
  });
});
