import { PlatformError } from '../errors';

/** Base of every error the local runtime raises. */
export class LocalRuntimeError extends PlatformError {
  override readonly name: string = 'LocalRuntimeError';
}

export class PortInUseError extends LocalRuntimeError {
  override readonly name = 'PortInUseError';
  constructor(
    readonly service: string,
    readonly host: string,
    readonly port: number,
    readonly environmentVariable: string,
    /** What holds the port, when known: "pid 1234 (java … kafka.Kafka …)". */
    readonly holder?: string,
  ) {
    super(
      `Cannot start ${service}: ${host}:${port} is already in use${holder ? ` by ${holder}` : ''}. ` +
        `Stop whatever listens there, choose another port with ${environmentVariable}=<port>, ` +
        'or point the runtime at a service you already run (KAFKA_BROKERS / DYNAMODB_ENDPOINT).',
    );
  }
}

export class KafkaBrokerError extends LocalRuntimeError {
  override readonly name = 'KafkaBrokerError';
}

export class PostgresServerError extends LocalRuntimeError {
  override readonly name = 'PostgresServerError';
}

export class ConnectWorkerError extends LocalRuntimeError {
  override readonly name = 'ConnectWorkerError';
}

export class DynamoDbServerError extends LocalRuntimeError {
  override readonly name = 'DynamoDbServerError';
}

export class ProvisioningError extends LocalRuntimeError {
  override readonly name = 'ProvisioningError';
}

export class LocalConfigError extends LocalRuntimeError {
  override readonly name = 'LocalConfigError';
}
