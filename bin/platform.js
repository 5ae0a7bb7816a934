#!/usr/bin/env node
// The platform's command line, run from TypeScript sources (see shared/cli/main.ts).
require('@swc-node/register');
require('../shared/cli/main.ts');
