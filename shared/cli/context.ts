import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PlatformError } from '../errors';
import { kafkaClientConfig } from '../kafka';
import { PROJECT_ROOT } from '../local/paths';
import type { Pipeline } from '../pipeline';
import { JSON_VALUE_FORMAT, schemaRegistryFromEnvironment, topicValueFormat, type SchemaRegistry, type ValueFormat } from '../schemas';
import { CliError, UsageError } from './errors';
import type { PlatformAccess } from './operations/platform-access';
import { cloudFormationStackOutputs } from './stack-outputs';
import { resolveTarget, type CliTarget, type TargetFlags } from './target';

export { CliError, UsageError } from './errors';

/** What every command gets: the pipeline, clients for the services it runs on, and how to print. */
export interface CliContext extends PlatformAccess {
  /** The process's environment, read once here and handed to the commands. */
  readonly env: NodeJS.ProcessEnv;
  readonly pipeline: Pipeline;
  readonly json: boolean;
  /** What the commands run against (the local runtime, or a deployed environment), and how to reach it. */
  readonly target: CliTarget;
  /** The Kafka client, built on first use (with --env, after reading the cluster from the deployed stacks). */
  kafka(): Promise<Kafka>;
  dynamodb(): DynamoDBClient;
  /** A declared table's name where the commands run: as declared locally, as deployed with --env. */
  tableName(declared: string): Promise<string>;
  /**
   * The registry to read and produce with: locally the one `npm start` uses (SCHEMA_REGISTRY_URL,
   * SCHEMA_REGISTRY_FILE or the local stand-in's file); with --env the environment's, looking schemas up only.
   */
  schemaRegistry(): SchemaRegistry;
  /** The same registry, allowed to register schemas (`schemas publish`). */
  schemaPublisher(): SchemaRegistry;
  /** How a topic lays out its values, as the pipeline declares it (JSON for topics it does not declare). */
  formatOf(topic: string): ValueFormat;
  /** Prints a result: as JSON with --json, else as text. */
  print(value: unknown, text: () => string): void;
}

/**
 * The pipeline is `pipeline.ts` unless --pipeline names another. Services are
 * the ones `npm start` runs (KAFKA_BROKERS / DYNAMODB_ENDPOINT or the local
 * defaults), or with `--env <name>` the deployed environment's; see {@link resolveTarget}.
 */
export function createContext(options: { pipeline?: string | undefined; json: boolean } & TargetFlags): CliContext {
  // Paths on the command line are the user's: relative to where they ran `npm run platform` (INIT_CWD).
  // The one place the CLI reads its environment; commands get it from the context.
  const env = process.env;
  const cwd = env.INIT_CWD ?? process.cwd();
  const pipelinePath = options.pipeline ? resolve(cwd, options.pipeline) : resolve(PROJECT_ROOT, 'pipeline.ts');
  const pipeline = loadPipeline(pipelinePath, options.pipeline !== undefined);
  const target = resolveTarget({ ...options, ...(options.ca === undefined ? {} : { ca: resolve(cwd, options.ca) }) }, pipeline.name, {
    env,
    platformContext: () =>
      (JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: { platform?: unknown } }).context?.platform,
    stackOutputs: cloudFormationStackOutputs,
  });
  // Every AWS client this process builds without a region (the registry's secret reader, say) works in the environment's.
  if (target.awsRegion !== undefined) env.AWS_REGION = target.awsRegion;
  let kafka: Promise<Kafka> | undefined;
  let dynamodb: DynamoDBClient | undefined;
  let registry: SchemaRegistry | undefined;
  let publisher: SchemaRegistry | undefined;
  const schemaRegistry = () =>
    (registry ??= schemaRegistryFromEnvironment(target.schemaRegistryEnvironment, target.schemaRegistryFallbackFile));
  return {
    env,
    pipeline,
    target,
    schemaRegistry,
    schemaPublisher: () => {
      if (target.schemaPublishingEnvironment === target.schemaRegistryEnvironment) return schemaRegistry();
      publisher ??= schemaRegistryFromEnvironment(target.schemaPublishingEnvironment, target.schemaRegistryFallbackFile);
      return publisher;
    },
    formatOf: (topic) => {
      const declared = pipeline.topics.find((candidate) => candidate.name === topic);
      return declared ? topicValueFormat(declared, schemaRegistry) : JSON_VALUE_FORMAT;
    },
    json: options.json,
    kafka: () =>
      (kafka ??= target.kafkaConnection().then(
        (connection) =>
          new Kafka({ clientId: 'platform-cli', ...kafkaClientConfig(connection), logLevel: logLevel.NOTHING, retry: { retries: 2 } }),
        (error: unknown) => {
          kafka = undefined;
          throw error;
        },
      )),
    dynamodb: () => (dynamodb ??= new DynamoDBClient(target.dynamodb)),
    tableName: (declared) => target.tableName(declared),
    print(value, text) {
      console.log(options.json ? JSON.stringify(value, null, 2) : text());
    },
  };
}

/**
 * The pipeline module's default export. A module that is not there, or does
 * not compile, is the user's input to fix (a {@link UsageError}, exit 2) and
 * is reported as file, line and what, never as the compiler's native
 * backtrace; a module that throws while it runs fails with its message.
 */
export function loadPipeline(pipelinePath: string, named: boolean): Pipeline {
  const flag = named ? '--pipeline ' : '';
  let loaded: { default?: Pipeline };
  try {
    loaded = require(pipelinePath) as { default?: Pipeline };
  } catch (error) {
    if (error instanceof PlatformError) throw error;
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'MODULE_NOT_FOUND' && message.includes(`'${pipelinePath}'`))
      throw new UsageError(`${flag}${pipelinePath}: no such module`);
    const syntax = compileError(message);
    if (syntax) throw new UsageError(`${flag}${pipelinePath} does not compile: ${syntax}`);
    throw new CliError(
      `${flag}${pipelinePath} failed while loading: ${error instanceof Error ? `${error.name}: ${message.split('\n')[0]}` : message}`,
    );
  }
  if (!loaded.default || !Array.isArray(loaded.default.consumers))
    throw new CliError(`${pipelinePath} must default-export the result of definePipeline({...})`);
  return loaded.default;
}

/**
 * `file:line:column: what`, and the line with a caret, from the report
 * @swc-node/register throws for a module that does not parse (swc's
 * diagnostic, followed by a native backtrace); undefined for other errors.
 */
export function compileError(message: string): string | undefined {
  const what = /^\s*(?:Error:\s*)?[x×]\s+(.+)$/m.exec(message)?.[1];
  const where = /,-\[(.+):(\d+):(\d+)\]/.exec(message);
  if (!what || !where) return undefined;
  const lines = message.split('\n');
  const caret = lines.findIndex((line) => /^\s*:\s*\^/.test(line));
  const source = caret > 0 ? /^\s*(\d+) \|(.*)$/.exec(lines[caret - 1]!) : null;
  if (!source) return `${where[1]}:${where[2]}: ${what.trim()}`;
  const column = lines[caret]!.indexOf('^') - lines[caret - 1]!.indexOf('|') - 1;
  const code = source[2]!.replace(/^ /, '');
  return `${where[1]}:${source[1]}:${column}: ${what.trim()}\n  ${code}\n  ${' '.repeat(Math.max(0, column - 1))}^`;
}
