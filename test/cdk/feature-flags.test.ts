import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { featureFlags } from './synthesize';

/** Flags set against CDK's recommendation, each with the reason. */
const DELIBERATE_DEVIATIONS: Record<string, { readonly value: unknown; readonly reason: string }> = {
  '@aws-cdk/core:defaultCrossStackReferences': {
    value: 'strong',
    reason:
      'Exports and imports: CloudFormation refuses to delete or change the network, streaming or state stack while the consumers use its VPC, ' +
      'cluster or tables; "weak" (Fn::GetStackOutput) would let the state stack go first, and LocalStack does not implement it.',
  },
};

describe('CDK: feature flags', () => {
  it('sets every flag CDK currently recommends to its recommended value in cdk.json, except the deliberate deviations', () => {
    const flags = featureFlags();
    const differing = Object.entries(CURRENTLY_RECOMMENDED_FLAGS)
      .filter(([flag, recommended]) => JSON.stringify(flags[flag]) !== JSON.stringify(DELIBERATE_DEVIATIONS[flag]?.value ?? recommended))
      .map(([flag, recommended]) => `${flag}: cdk.json has ${JSON.stringify(flags[flag])}, recommended ${JSON.stringify(recommended)}`);

    expect(differing).toEqual([]);
  });
});
