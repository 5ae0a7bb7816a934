#!/usr/bin/env node
// The platform's command line (shared/cli/main.ts). It loads pipeline modules written in TypeScript
// at run time, so it runs from sources through @swc-node/register, a runtime dependency: no build step.
require('@swc-node/register');
require('../shared/cli/main.ts');
