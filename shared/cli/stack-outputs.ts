import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CliError } from './errors';

/** A stack's outputs by `OutputKey`. */
export type StackOutputs = Readonly<Record<string, string>>;

/** Reads a deployed stack's outputs; see {@link cloudFormationStackOutputs}. */
export type StackOutputsReader = (stackName: string) => Promise<StackOutputs>;

/**
 * Reads stack outputs with CloudFormation `DescribeStacks` in `region`, each
 * stack once per run, with the default AWS credentials (`AWS_PROFILE`, SSO,
 * environment variables…). Failures become {@link CliError}s that say what to do.
 */
export function cloudFormationStackOutputs(region: string, environment: string): StackOutputsReader {
  const client = new CloudFormationClient({ region });
  const read = new Map<string, Promise<StackOutputs>>();
  return (stackName) => {
    let outputs = read.get(stackName);
    if (!outputs) {
      outputs = client.send(new DescribeStacksCommand({ StackName: stackName })).then(
        ({ Stacks: stacks }) =>
          Object.fromEntries((stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? ''])),
        (error: unknown) => {
          throw stackReadError(error, stackName, region, environment);
        },
      );
      read.set(stackName, outputs);
    }
    return outputs;
  };
}

function stackReadError(error: unknown, stackName: string, region: string, environment: string): CliError {
  const { name, message } = error instanceof Error ? error : { name: '', message: String(error) };
  if (/does not exist/.test(message)) {
    return new CliError(
      `stack ${stackName} does not exist in ${region}: deploy environment "${environment}" first (npx cdk deploy --all -c environment=${environment}), or check --region`,
      false,
      { cause: error },
    );
  }
  if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
    return new CliError(
      `no AWS credentials to read stack ${stackName} with: sign in (aws sso login, AWS_PROFILE=…) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      false,
      { cause: error },
    );
  }
  return new CliError(`could not read the outputs of stack ${stackName} in ${region}: ${name ? `${name}: ` : ''}${message}`, false, {
    cause: error,
  });
}
