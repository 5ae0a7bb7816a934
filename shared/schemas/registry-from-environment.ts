import { ConfigError } from '../config';
import { repositorySchemas } from './repository-schemas';
import { FileSchemaRegistry, HttpSchemaRegistry, type SchemaRegistry } from './schema-registry';

/** Where a function, the CLI or a test finds the schema registry. */
export const SCHEMA_REGISTRY_VARIABLES = {
  /** A Confluent-compatible registry's base URL (Confluent Platform or Cloud, Redpanda, Karapace, Apicurio's ccompat API). */
  url: 'SCHEMA_REGISTRY_URL',
  /** `user:password` for the registry's basic auth. */
  credentials: 'SCHEMA_REGISTRY_CREDENTIALS',
  /** Or the ARN of a Secrets Manager secret holding them (what deployed functions get). */
  credentialsSecretArn: 'SCHEMA_REGISTRY_CREDENTIALS_SECRET_ARN',
  /** The file-backed stand-in's file; the local runtime sets it for the functions it runs. */
  file: 'SCHEMA_REGISTRY_FILE',
  /** `false`: look schemas up, never register them (deployed functions; a release step publishes). */
  autoRegister: 'SCHEMA_REGISTRY_AUTO_REGISTER',
} as const;

/**
 * The registry the environment names: a real one by URL, else the file-backed
 * stand-in, else `fallbackFile` (the CLI's local default).
 * @throws ConfigError when neither is set and there is no fallback (a deployed function without its registry)
 */
export function schemaRegistryFromEnvironment(env: NodeJS.ProcessEnv, fallbackFile?: string): SchemaRegistry {
  const url = env[SCHEMA_REGISTRY_VARIABLES.url];
  if (url) {
    const secretArn = env[SCHEMA_REGISTRY_VARIABLES.credentialsSecretArn];
    const credentials = secretArn ? () => readCredentialsSecret(secretArn) : env[SCHEMA_REGISTRY_VARIABLES.credentials];
    return new HttpSchemaRegistry(url, credentials, env[SCHEMA_REGISTRY_VARIABLES.autoRegister] !== 'false');
  }
  const file = env[SCHEMA_REGISTRY_VARIABLES.file] || fallbackFile;
  if (file) return new FileSchemaRegistry(file, (subject) => repositorySchemas(env).get(subject)?.compatibility ?? 'BACKWARD');
  throw new ConfigError(
    `No schema registry configured: set ${SCHEMA_REGISTRY_VARIABLES.url} (a Confluent-compatible registry) or ${SCHEMA_REGISTRY_VARIABLES.file} (the local stand-in)`,
  );
}

/**
 * The environment's registry, built on first use: formats are declared at
 * module load (in a join or hot-stream declaration), before a local runtime
 * has set the variables, and a function that never reads Avro never needs one.
 */
export function lazySchemaRegistry(env: NodeJS.ProcessEnv): () => SchemaRegistry {
  let registry: SchemaRegistry | undefined;
  return () => (registry ??= schemaRegistryFromEnvironment(env));
}

/**
 * Basic-auth credentials from a Secrets Manager secret: its string is either
 * `user:password` or JSON `{ "username": …, "password": … }`. The AWS SDK comes
 * from the Lambda runtime; it is loaded only when a secret is named.
 */
export async function readCredentialsSecret(secretArn: string): Promise<string> {
  const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  const { SecretString: secret } = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!secret) throw new ConfigError(`secret ${secretArn} has no string value; it should hold "user:password"`);
  return credentialsFromSecret(secret, secretArn);
}

/** `user:password` from a secret's string, which holds that or JSON with `username` and `password`. */
export function credentialsFromSecret(secret: string, secretArn: string): string {
  // A secret made from a file often ends in a newline, which would make every request a 401.
  if (!secret.trimStart().startsWith('{')) return secret.trim();
  let parsed: { username?: unknown; password?: unknown };
  try {
    parsed = JSON.parse(secret) as { username?: unknown; password?: unknown };
  } catch {
    // Not the parser's message: it quotes the secret.
    throw new ConfigError(
      `secret ${secretArn} starts like JSON but is not valid JSON; it should hold "user:password" or {"username", "password"}`,
    );
  }
  const { username, password } = parsed;
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new ConfigError(`secret ${secretArn} is JSON without string "username" and "password"`);
  }
  return `${username}:${password}`;
}
