import type { Duration } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { SCHEMAS_DIR_VARIABLE } from '../../shared/schemas/repository-schemas';

/** The project's one set of bundling options: every function is built the same way (also by the bundle-size check). */
export const PLATFORM_BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  minify: true,
  sourceMap: true,
  target: 'node22',
  mainFields: ['module', 'main'],
  // CommonJS dependencies (kafkajs) call require(); an ESM bundle has none of its own.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  // The Node.js 22 runtime provides AWS SDK v3; bundling it too would more than double the biggest bundle.
  externalModules: ['@aws-sdk/*'],
  // The topic schemas travel with every function (PLATFORM_SCHEMAS_DIR points at them).
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir: string, outputDir: string) => [`cp -r "${inputDir}/schemas" "${outputDir}/schemas"`],
  },
};

/** The esbuild options {@link PLATFORM_BUNDLING} amounts to, for measuring bundles outside CDK (tests, bench). */
export function platformEsbuildOptions(entry: string) {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    minify: PLATFORM_BUNDLING.minify,
    sourcemap: 'external' as const,
    target: PLATFORM_BUNDLING.target,
    mainFields: [...(PLATFORM_BUNDLING.mainFields ?? [])],
    banner: { js: PLATFORM_BUNDLING.banner ?? '' },
    external: [...(PLATFORM_BUNDLING.externalModules ?? [])],
    outfile: 'index.mjs',
    write: false,
  };
}

/** Every function's bundle must stay under this (minified, without source map). */
export const BUNDLE_SIZE_BUDGET_BYTES = 500 * 1024;

export const PLATFORM_RUNTIME = Runtime.NODEJS_22_X;

export interface PlatformFunctionProps {
  /** Absolute path of the handler module. */
  readonly entry: string;
  /** @default 'handler' */
  readonly exportName?: string;
  readonly timeout: Duration;
  readonly memorySizeMb: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly vpc: IVpc;
  readonly vpcSubnets: SubnetSelection;
  readonly securityGroups: readonly ISecurityGroup[];
  /** Names the service in structured logs and metrics (Powertools). */
  readonly serviceName: string;
  readonly metricsNamespace: string;
  /** For a function invoked asynchronously (a schedule): where Lambda puts events whose retries all failed. */
  readonly asyncDeadLetterQueue?: IQueue;
}

/**
 * A Lambda function of the platform: Node 22 on arm64, bundled by esbuild as
 * minified ESM with source maps, JSON logs to its own log group with a
 * retention, active X-Ray tracing, in the VPC's private subnets. The one place
 * these defaults live.
 */
export class PlatformFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PlatformFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH });
    super(scope, id, {
      entry: props.entry,
      handler: props.exportName ?? 'handler',
      runtime: PLATFORM_RUNTIME,
      architecture: Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySizeMb,
      bundling: PLATFORM_BUNDLING,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      loggingFormat: LoggingFormat.JSON,
      // X-Ray: each invocation is a trace; the records' own W3C trace context (shared/tracing) links the hops.
      tracing: Tracing.ACTIVE,
      ...(props.asyncDeadLetterQueue ? { deadLetterQueue: props.asyncDeadLetterQueue } : {}),
      logGroup,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [...props.securityGroups],
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        [SCHEMAS_DIR_VARIABLE]: '/var/task/schemas',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
      },
    });
  }
}

const PROJECT_ROOT = join(__dirname, '..', '..');
