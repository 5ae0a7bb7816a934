/**
 * The platform's command line: `npm run platform -- <command>` (or the
 * `platform` binary). Runs against the services `npm start` runs, or
 * KAFKA_BROKERS / DYNAMODB_ENDPOINT, or with `--env <name>` a deployed
 * environment. Exit codes: 0 done, 1 failed, 2 wrong usage.
 */
import { parseArgs } from 'node:util';
import { createContext, UsageError } from './context';
import { explainFailure, failureScene, type FailureScene } from './explain-failure';
import { dlqCommand } from './commands/dlq';
import { explainCommand } from './commands/explain';
import { liberateCommand } from './commands/liberate';
import { produceCommand } from './commands/produce';
import { mappingCommand } from './commands/mapping';
import { replayCommand } from './commands/replay';
import { schemasCommand } from './commands/schemas';
import { stateCommand } from './commands/state';
import { tailCommand } from './commands/tail';
import { topicsCommand } from './commands/topics';

const HELP = `Usage: platform <command> [options]

Commands:
  topics                                   topics with partitions, records and lag per consumer group, groups without a commit
                                           yet included (members subscribed, or declared by the pipeline), their lag counted from
                                           where they start and marked "no commit yet"
  produce <topic> [--file F] [--traceparent <W3C traceparent>]
                                           publish NDJSON lines {"key","value","headers"?} from F or stdin, checked against the topic's schema
                                           (the schema the topic declares, or --schema <subject>); sent in its wire format. Each record
                                           in a W3C trace: with --traceparent all of them in that one (as child spans), else a line's own
                                           valid traceparent header, else a new trace per line; the trace ids printed (stderr, or --json).
                                           On an entity topic a line's key must be its value's id (the field its schema is "keyed by")
  tail <topic> [--from beginning|end|<ISO time>] [--max N]
                                           print records (decoded, with headers and trace id) as they arrive
  dlq list <consumer>                      the records a consumer dead-lettered, with reasons and trace ids
  dlq show <consumer> --offset <p>:<o>     one dead-lettered record in full, with its trace (W3C and X-Ray ids, span, cause span)
  dlq redrive <consumer> [--offset <p>:<o>]
                                           re-publish dead-lettered records to their source topic, exactly once each, each as a new span
                                           of the letter's trace (a new trace for a letter without one); with --offset only that letter
                                           (if still pending; a later full redrive skips it)
  replay <consumer> --from earliest|<ISO time>
                                           reprocess from there (refused while the consumer runs: disable it first)
  mapping list|enable|disable [<consumer>] the local stand-in for an event source mapping's Enabled flag: disable stops
                                           that consumer in the running npm start (it leaves its group), enable starts it
                                           again; the flag outlives a restart (files under .local/mappings/)
  state <join or hot stream> <key>         a join's state for a key: as left row, its output, as right row, its subscribers;
                                           a hot stream's: the stored update, the last emitted, what is owed
                                           (values shown as JSON; --json for one JSON document)
  explain <topic> <key>                    why a join's result holds what it holds: the newest record of the key on a join's
                                           output, and the input records on each side it was joined from (topic, partition,
                                           offset, time, value, trace), followed through every join that fed it
  liberate <topic> --file F --key-field K  bootstrap an entity topic from an NDJSON or CSV snapshot, a new trace per row
                                           (resumable; --restart to send again; --schema as for produce)
  schemas check|publish [--registry-url U] check compatibility, or register every schema version

Options:
  --pipeline <module.ts>   the pipeline (default: pipeline.ts)
  --json                   machine-readable output
  -h, --help               this help

Exit codes: 0 done, 1 failed (a message on stderr, "the platform is not running" when nothing answers where
\`npm start\` runs it), 2 wrong usage (unknown command or flag, a flag of another command, a missing or extra
argument, a value of the wrong form, an unknown consumer, join or topic, a --pipeline module that does not compile)

Where it runs (default: what \`npm start\` runs, or KAFKA_BROKERS / DYNAMODB_ENDPOINT; plaintext, no authentication):
  --env <name>             a deployed environment of cdk.json (platform.environments.<name>): MSK IAM over TLS in its
                           region, brokers from KAFKA_BROKERS or its cluster (looked up with kafka:GetBootstrapBrokers),
                           tables named as its state stack reports, its schema registry (looked up only; \`schemas publish\`
                           registers). Needs AWS credentials (AWS_PROFILE, aws sso login, …) and a network path to the
                           brokers: from inside the VPC, or a tunnel (README: "Reaching a deployed environment")
  --brokers <h:p[,h:p…]>   these brokers (overrides KAFKA_BROKERS and the environment's cluster)
  --tls                    TLS to the brokers, trusting the system's certificate authorities (on with --env and aws-iam)
  --ca <file.pem>          TLS, trusting the certificate authorities in this PEM file
  --auth none|aws-iam      SASL/OAUTHBEARER signed with your AWS credentials, as MSK IAM access control expects
                           (default: aws-iam with --env, none otherwise)
  --region <region>        the AWS region (default: the environment's, else AWS_REGION)
`;

/** What the failure message names: the brokers and whether they are a deployed environment's. */
let scene: FailureScene = {};

/** Options every command takes: where it runs, which pipeline, how it prints. */
const GLOBAL_OPTIONS = ['pipeline', 'json', 'help', 'env', 'brokers', 'tls', 'ca', 'auth', 'region'] as const;

/**
 * What each command takes beyond the global options: its own flags, and how
 * many arguments (`dlq redrive <consumer>`: 2). Anything else is a usage
 * error (exit 2), never silently ignored.
 */
const COMMANDS: Readonly<
  Record<string, { readonly options: readonly string[]; readonly arguments: readonly [min: number, max: number]; readonly usage: string }>
> = {
  topics: { options: [], arguments: [0, 0], usage: 'topics' },
  produce: {
    options: ['file', 'schema', 'traceparent'],
    arguments: [1, 1],
    usage: 'produce <topic> [--file F] [--schema S] [--traceparent T]',
  },
  tail: { options: ['from', 'max'], arguments: [1, 1], usage: 'tail <topic> [--from beginning|end|<ISO time>] [--max N]' },
  dlq: { options: ['offset'], arguments: [2, 2], usage: 'dlq list|show|redrive <consumer> [--offset <partition>:<offset>]' },
  replay: { options: ['from'], arguments: [1, 1], usage: 'replay <consumer> --from earliest|<ISO time>' },
  mapping: { options: [], arguments: [1, 2], usage: 'mapping list|enable|disable [<consumer>]' },
  state: { options: [], arguments: [2, 2], usage: 'state <join or hot stream> <key>' },
  explain: { options: [], arguments: [2, 2], usage: 'explain <topic> <key>' },
  liberate: {
    options: ['file', 'key-field', 'schema', 'restart'],
    arguments: [1, 1],
    usage: 'liberate <topic> --file F --key-field K [--schema S] [--restart]',
  },
  schemas: { options: ['registry-url'], arguments: [1, 1], usage: 'schemas check|publish [--registry-url U]' },
};

/** The options parseArgs reads; each command then accepts only its own (see {@link COMMANDS}). */
const OPTIONS = {
  pipeline: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  file: { type: 'string' },
  from: { type: 'string' },
  max: { type: 'string' },
  offset: { type: 'string' },
  'key-field': { type: 'string' },
  'registry-url': { type: 'string' },
  schema: { type: 'string' },
  traceparent: { type: 'string' },
  restart: { type: 'boolean' },
  env: { type: 'string' },
  brokers: { type: 'string' },
  tls: { type: 'boolean' },
  ca: { type: 'string' },
  auth: { type: 'string' },
  region: { type: 'string' },
} as const;

/**
 * The command line checked before anything is loaded or connected: a known
 * command, only the flags it takes, as many arguments as it takes, and values
 * of the right form. Every problem is a {@link UsageError} (exit 2).
 */
function checkUsage(command: string, given: readonly string[], positionals: readonly string[]): void {
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command "${command}"`);
  for (const flag of given) {
    if ((GLOBAL_OPTIONS as readonly string[]).includes(flag) || spec.options.includes(flag)) continue;
    const owners = Object.entries(COMMANDS)
      .filter(([, other]) => other.options.includes(flag))
      .map(([name]) => name);
    throw new UsageError(`--${flag} is an option of ${owners.join(', ')} only, not of ${command}`);
  }
  const [min, max] = spec.arguments;
  if (positionals.length < min || positionals.length > max) {
    const what =
      positionals.length < min
        ? 'is missing an argument'
        : `takes ${max === 0 ? 'no arguments' : `${max} argument(s)`}, got ${positionals.length} (${positionals.join(' ')})`;
    throw new UsageError(`${command} ${what}: platform ${spec.usage}`);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals, tokens } = parseArgs({ args: [...argv], allowPositionals: true, tokens: true, options: OPTIONS });
  const [command, ...rest] = positionals;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!command) {
    console.error(HELP);
    return 2;
  }
  const given = [...new Set(tokens.filter((token) => token.kind === 'option').map((token) => token.name))];
  checkUsage(command, given, rest);
  const need = (value: string | undefined, what: string) => {
    if (!value) throw new UsageError(`${command} needs ${what}`);
    return value;
  };
  // Values checked before the pipeline is loaded or anything connects: a wrong one is the user's to fix, exit 2.
  const max = values.max === undefined ? undefined : Number(values.max);
  if (max !== undefined && (!Number.isInteger(max) || max < 1))
    throw new UsageError(`--max must be a whole number ≥ 1, got "${values.max}"`);
  const positions = command === 'replay' ? ['earliest'] : ['beginning', 'end'];
  if (values.from !== undefined && !positions.includes(values.from) && Number.isNaN(Date.parse(values.from))) {
    throw new UsageError(
      `--from must be ${positions.map((position) => `"${position}"`).join(', ')} or an ISO time such as 2026-11-26T10:00:00Z, got "${values.from}"`,
    );
  }
  if (command === 'dlq') {
    if (!['list', 'show', 'redrive'].includes(rest[0]!))
      throw new UsageError(`dlq needs an action: list, show or redrive, got "${rest[0]}"`);
    if (rest[0] === 'list' && values.offset !== undefined)
      throw new UsageError('dlq list lists every letter: --offset is for dlq show and dlq redrive');
    if (rest[0] === 'show' && values.offset === undefined)
      throw new UsageError('dlq show needs --offset <partition>:<offset> (dlq list shows them)');
  }
  if (command === 'schemas' && !['check', 'publish'].includes(rest[0]!))
    throw new UsageError(`schemas needs an action: check or publish, got "${rest[0]}"`);
  if (command === 'schemas' && rest[0] === 'check' && values['registry-url'] !== undefined)
    throw new UsageError('--registry-url is for schemas publish');
  const context = createContext({
    pipeline: values.pipeline,
    json: values.json ?? false,
    env: values.env,
    brokers: values.brokers,
    tls: values.tls,
    ca: values.ca,
    auth: values.auth,
    region: values.region,
  });
  scene = failureScene(context.target);
  // Commands that write a topic write a declared one: another name is a typo, not a failure.
  if ((command === 'produce' || command === 'liberate') && !context.pipeline.topics.some((topic) => topic.name === rest[0])) {
    throw new UsageError(
      `topic "${rest[0]}" is not declared in pipeline "${context.pipeline.name}" (there are: ${context.pipeline.topics.map((topic) => topic.name).join(', ')})`,
    );
  }
  switch (command) {
    case 'topics':
      return topicsCommand(context).then(() => 0);
    case 'produce':
      return produceCommand(context, need(rest[0], 'a topic'), values.file, values.schema, values.traceparent).then(() => 0);
    case 'tail':
      return tailCommand(context, need(rest[0], 'a topic'), values.from ?? 'end', max).then(() => 0);
    case 'dlq':
      return dlqCommand(context, rest[0], rest[1], values.offset).then(() => 0);
    case 'replay':
      return replayCommand(context, need(rest[0], 'a consumer'), values.from).then(() => 0);
    case 'mapping':
      return mappingCommand(context, rest[0], rest[1]).then(() => 0);
    case 'state':
      return stateCommand(context, rest[0], rest[1]).then(() => 0);
    case 'explain':
      return explainCommand(context, rest[0], rest[1]).then(() => 0);
    case 'liberate':
      return liberateCommand(
        context,
        need(rest[0], 'a topic'),
        values.file,
        values['key-field'],
        values.schema,
        values.restart ?? false,
      ).then(() => 0);
    case 'schemas':
      return schemasCommand(context, rest[0], values['registry-url']).then(() => 0);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\nRun with --help for usage.`);
      process.exit(2);
    }
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`error: ${error.message}\nRun with --help for usage.`);
      process.exit(2);
    }
    console.error(`error: ${explainFailure(error, scene)}`);
    process.exit(1);
  },
);
