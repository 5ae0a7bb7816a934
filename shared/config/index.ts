import { PlatformError } from '../errors';

/** A required setting is missing or malformed; raised at module load so a misconfigured function fails fast. */
export class ConfigError extends PlatformError {
  override readonly name = 'ConfigError';
}

/**
 * Reads a required environment variable.
 * @throws ConfigError naming the variable when it is unset or empty.
 */
export function requireEnv(name: string, env: NodeJS.ProcessEnv): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`Environment variable ${name} is required but not set; the pipeline declaration provides it`);
  }
  return value;
}
