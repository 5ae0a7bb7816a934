import { PlatformError } from '../errors';
import type { CliTarget } from './target';

/** Node's codes for a TLS certificate the client does not trust. */
const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/** Where the failure happened, to name in the message. */
export interface FailureScene {
  /** Which brokers, over what (see `CliTarget.kafkaDescription`). */
  readonly kafka?: string | undefined;
  /** A deployed environment: its brokers are reachable only from its VPC. */
  readonly deployed?: boolean | undefined;
  /**
   * The services `npm start` runs, at the addresses it runs them (no --env, --brokers, KAFKA_BROKERS or
   * DYNAMODB_ENDPOINT): nothing answering there means the platform is not running, and that is what to say.
   */
  readonly local?: { readonly kafka?: string | undefined; readonly dynamodb?: string | undefined } | undefined;
}

/** What to name in a failure of commands running against this target. */
export function failureScene(target: CliTarget): FailureScene {
  return { kafka: target.kafkaDescription, deployed: target.deployment !== undefined, local: target.localServices };
}

/** Nothing listening (refused), or nothing answering in time: what a stopped `npm start` looks like. */
const NOTHING_ANSWERS = new Set(['ECONNREFUSED', 'ETIMEDOUT']);

/**
 * The message the CLI prints for a failure, never a stack: its own errors as
 * they are; a Kafka client's failure as what went wrong where and what to
 * check (the CA, the listener, credentials, the network path); anything else
 * by name and message.
 */
export function explainFailure(error: unknown, scene: FailureScene = {}): string {
  if (error instanceof PlatformError) return error.message;
  const chain = causes(error);
  const names = chain.map((entry) => (entry as { name?: unknown }).name).filter((name): name is string => typeof name === 'string');
  if (names.includes('CredentialsProviderError')) {
    return `no AWS credentials found (${messageOf(error)}): sign in (aws sso login, AWS_PROFILE=…) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`;
  }
  const codes = codesOf(chain);
  const kafka = names.some((name) => name.startsWith('KafkaJS'));
  const localAddress = kafka ? scene.local?.kafka : scene.local?.dynamodb;
  if (nothingAnswers(error) && localAddress !== undefined) {
    return `the platform is not running: start it with \`npm start\` (nothing answered at ${kafka ? 'Kafka' : 'DynamoDB'} ${localAddress})`;
  }
  if (!kafka) return codes.some((code) => UNREACHABLE.has(code)) ? `could not connect: ${messageOf(error)}` : String(error);

  const types = chain.map((entry) => (entry as { type?: unknown }).type).filter((type): type is string => typeof type === 'string');
  const reason = messageOf(chain[chain.length - 1]).replace(/^Connection error: /, '');
  const at = `Kafka at ${scene.kafka ?? 'the brokers'}`;
  if (
    codes.some((code) => UNTRUSTED_CERTIFICATE.has(code)) ||
    (/certificate/i.test(reason) && !/altnames|does not match|expired|not yet valid/i.test(reason))
  ) {
    return `could not connect to ${at}: the brokers' TLS certificate is not trusted (${reason}). Give the certificate authority that signed it with --ca <file.pem>`;
  }
  if (codes.includes('ERR_TLS_CERT_ALTNAME_INVALID') || /altnames|does not match/i.test(reason)) {
    return `could not connect to ${at}: the brokers' TLS certificate is for another name (${reason}). Connect by the name in the certificate (through a tunnel, map that name to the tunnel's address)`;
  }
  if (codes.includes('CERT_HAS_EXPIRED') || codes.includes('CERT_NOT_YET_VALID')) {
    return `could not connect to ${at}: the brokers' TLS certificate is not valid now (${reason})`;
  }
  if (names.includes('KafkaJSSASLAuthenticationError') || /SASL/i.test(reason)) {
    return `${at} refused the authentication (${reason}). With --auth aws-iam the AWS credentials in use must be allowed kafka-cluster:Connect on the cluster`;
  }
  if (types.some((type) => type.endsWith('_AUTHORIZATION_FAILED'))) {
    return `${at} refused the request (${reason}): the identity in use needs the kafka-cluster permission for it (see README, "Reaching a deployed environment")`;
  }
  if (codes.some((code) => UNREACHABLE.has(code)) || /Connection (timeout|error|closed)|Closed connection/i.test(reason)) {
    const hint = scene.deployed
      ? 'A deployed cluster\'s brokers are reachable only from inside its VPC (see README, "Reaching a deployed environment")'
      : 'Is the broker running, and does its listener speak what the CLI does (plaintext, or TLS with --tls / --ca)?';
    return `could not connect to ${at} (${reason}). ${hint}`;
  }
  return `${at}: ${names[0] ?? 'error'}: ${messageOf(error)}`;
}

/** Whether nothing answered at the address: refused, or timed out connecting. */
export function nothingAnswers(error: unknown): boolean {
  const chain = causes(error);
  const kafka = chain.some((entry) => String((entry as { name?: unknown }).name).startsWith('KafkaJS'));
  return (
    codesOf(chain).some((code) => NOTHING_ANSWERS.has(code)) ||
    (kafka && chain.some((entry) => /^Connection timeout/.test(messageOf(entry))))
  );
}

function codesOf(chain: readonly unknown[]): string[] {
  return chain.map((entry) => (entry as { code?: unknown }).code).filter((code): code is string => typeof code === 'string');
}

/** The error and what caused it, outermost first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (
    let entry = error;
    entry !== undefined && entry !== null && chain.length < 10 && !chain.includes(entry);
    entry = (entry as { cause?: unknown }).cause
  )
    chain.push(entry);
  return chain;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
