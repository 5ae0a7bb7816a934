import { ConfigError } from '../config';
import { repositorySchemas } from './repository-schemas';
import { FileSchemaRegistry, HttpSchemaRegistry, type SchemaRegistry } from './schema-registry';

/** Where a function, the CLI or a test finds the schema registry. */
export const SCHEMA_REGISTRY_VARIABLES = {
  /** A Confluent-compatible registry's base URL (Confluent Platform or Cloud, Redpanda, Karapace, Apicurio's ccompat API). */
  url: 'SCHEMA_REGISTRY_URL',
  /** `user:password` for the registry's basic auth. */
  credentials: 'SCHEMA_REGISTRY_CREDENTIALS',
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
export function schemaRegistryFromEnvironment(env: NodeJS.ProcessEnv = process.env, fallbackFile?: string): SchemaRegistry {
  const url = env[SCHEMA_REGISTRY_VARIABLES.url];
  if (url) return new HttpSchemaRegistry(url, env[SCHEMA_REGISTRY_VARIABLES.credentials], env[SCHEMA_REGISTRY_VARIABLES.autoRegister] !== 'false');
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
export function lazySchemaRegistry(env: NodeJS.ProcessEnv = process.env): () => SchemaRegistry {
  let registry: SchemaRegistry | undefined;
  let builtFrom: string | undefined;
  return () => {
    // Rebuilt when the variables change: tests and the local runtime point one process at different registries.
    const from = [SCHEMA_REGISTRY_VARIABLES.url, SCHEMA_REGISTRY_VARIABLES.credentials, SCHEMA_REGISTRY_VARIABLES.autoRegister, SCHEMA_REGISTRY_VARIABLES.file]
      .map((variable) => env[variable] ?? '')
      .join('|');
    if (!registry || from !== builtFrom) {
      registry = schemaRegistryFromEnvironment(env);
      builtFrom = from;
    }
    return registry;
  };
}
