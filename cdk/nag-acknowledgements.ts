import type { PlatformStacks } from './platform';

export function acknowledgeNagFindings(_stacks: PlatformStacks): void {}
