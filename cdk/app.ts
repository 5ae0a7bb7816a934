/**
 * The CDK app. It reads the same pipeline declaration as the local runtime
 * (`pipeline.ts`), so topics, consumers and tables are written once, and the
 * deployment environment from `cdk.json` context:
 *
 *   npx cdk synth                       # environment "dev"
 *   npx cdk deploy -c environment=prod --all
 *
 * cdk-nag's AwsSolutions rules run on every synth; a finding not acknowledged
 * (with a written reason, in cdk/nag-acknowledgements.ts) is an error.
 */
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import pipeline from '../pipeline';
import { parseDeploymentConfig } from './config';
import { resolveDebeziumPlugin } from './constructs/debezium-plugin-asset';
import { acknowledgeNagFindings } from './nag-acknowledgements';
import { addPlatformStacks } from './platform';

async function main(): Promise<void> {
  const app = new App();
  const environment = (app.node.tryGetContext('environment') as string | undefined) ?? 'dev';
  const config = parseDeploymentConfig(app.node.tryGetContext('platform'), environment);
  // MSK Connect's plugin is the jars the local worker loads: Maven resolves them once, into .local/.
  const debeziumPluginDirectory =
    pipeline.cdcSources.length > 0 ? await resolveDebeziumPlugin(undefined, (line) => console.error(line)) : undefined;
  const stacks = addPlatformStacks(app, pipeline, config, { debeziumPluginDirectory });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  Aspects.of(app).add(new ServerlessChecks({ verbose: true }));
  acknowledgeNagFindings(stacks);
  app.synth();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
