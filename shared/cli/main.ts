/**
 * The platform's command line: `npm run platform -- <command>` (or the
 * `platform` binary). Runs against the services `npm start` runs, or
 * KAFKA_BROKERS / DYNAMODB_ENDPOINT, or with `--env <name>` a deployed
 * environment. Exit codes: 0 done, 1 failed, 2 wrong usage.
 */
import { parseArgs } from 'node:util';
import { createContext, UsageError } from './context';
import { explainFailure, type FailureScene } from './explain-failure';
import { dlqCommand } from './commands/dlq';
import { liberateCommand } from './commands/liberate';
import { produceCommand } from './commands/produce';
import { replayCommand } from './commands/replay';
import { schemasCommand } from './commands/schemas';
import { stateCommand } from './commands/state';
import { tailCommand } from './commands/tail';
import { topicsCommand } from './commands/topics';

const HELP = `Usage: platform <command> [options]

Commands:
  topics                                   topics with partitions, records and lag per consumer group
  produce <topic> [--file F] [--traceparent <W3C traceparent>]
                                           publish NDJSON lines {"key","value","headers"?} from F or stdin, checked against the topic's schema
                                           (the schema the topic declares, or --schema <subject>); sent in its wire format. Each record
                                           in a W3C trace: with --traceparent all of them in that one (as child spans), else a line's own
                                           valid traceparent header, else a new trace per line; the trace ids printed (stderr, or --json)
  tail <topic> [--from beginning|end|<ISO time>] [--max N]
                                           print records (decoded, with headers and trace id) as they arrive
  dlq list <consumer>                      the records a consumer dead-lettered, with reasons and trace ids
  dlq show <consumer> --offset <p>:<o>     one dead-lettered record in full, with its trace (W3C and X-Ray ids, span, cause span)
  dlq redrive <consumer>                   re-publish dead-lettered records to their source topic, exactly once each, each as a new span
                                           of the letter's trace (a new trace for a letter without one)
  replay <consumer> --from earliest|<ISO time>
                                           reprocess from there (refused while the consumer runs)
  state <join> <key>                       a join's state for a key
  liberate <topic> --file F --key-field K  bootstrap an entity topic from an NDJSON or CSV snapshot, a new trace per row
                                           (resumable; --restart to send again; --schema as for produce)
  schemas check|publish [--registry-url U] check compatibility, or register every schema version

Options:
  --pipeline <module.ts>   the pipeline (default: pipeline.ts)
  --json                   machine-readable output
  -h, --help               this help

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

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      pipeline: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      file: { type: 'string' },
      from: { type: 'string' },
      max: { type: 'string' },
      offset: { type: 'string' },
      'key-field': { type: 'string' },
      'registry-url': { type: 'string' },
      schema: { type: 'string' },
      traceparent: { type: 'string' },
      restart: { type: 'boolean', default: false },
      env: { type: 'string' },
      brokers: { type: 'string' },
      tls: { type: 'boolean' },
      ca: { type: 'string' },
      auth: { type: 'string' },
      region: { type: 'string' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return command || values.help ? 0 : 2;
  }
  const context = createContext({
    pipeline: values.pipeline,
    json: values.json,
    env: values.env,
    brokers: values.brokers,
    tls: values.tls,
    ca: values.ca,
    auth: values.auth,
    region: values.region,
  });
  scene = { kafka: context.target.kafkaDescription, deployed: context.target.deployment !== undefined };
  const need = (value: string | undefined, what: string) => {
    if (!value) throw new UsageError(`${command} needs ${what}`);
    return value;
  };
  // Only produce writes records in a trace of the caller's choosing (liberate starts one per row, redrive continues the letter's).
  if (values.traceparent !== undefined && command !== 'produce') throw new UsageError(`--traceparent is an option of produce only, not of ${command}`);
  switch (command) {
    case 'topics':
      return topicsCommand(context).then(() => 0);
    case 'produce':
      return produceCommand(context, need(rest[0], 'a topic'), values.file, values.schema, values.traceparent).then(() => 0);
    case 'tail': {
      const max = values.max === undefined ? undefined : Number(values.max);
      if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new UsageError(`--max must be a whole number ≥ 1, got "${values.max}"`);
      return tailCommand(context, need(rest[0], 'a topic'), values.from ?? 'end', max).then(() => 0);
    }
    case 'dlq':
      return dlqCommand(context, rest[0], rest[1], values.offset).then(() => 0);
    case 'replay':
      return replayCommand(context, need(rest[0], 'a consumer'), values.from).then(() => 0);
    case 'state':
      return stateCommand(context, rest[0], rest[1]).then(() => 0);
    case 'liberate':
      return liberateCommand(context, need(rest[0], 'a topic'), values.file, values['key-field'], values.schema, values.restart).then(() => 0);
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
