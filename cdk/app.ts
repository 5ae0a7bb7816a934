/**
 * The CDK app. It reads the same pipeline declaration as the local runtime
 * (`pipeline.ts`), so topics, consumers and tables are written once.
 *
 * The deployment stacks (network, MSK topics, consumers on MSK event sources,
 * DynamoDB state, alarms) are not built yet; until they are, this app
 * validates the declaration at synth time and synthesizes no stacks.
 */
import { App } from 'aws-cdk-lib';
import pipeline from '../pipeline';

const app = new App();
app.node.addMetadata('pipeline', pipeline.name);
app.synth();
