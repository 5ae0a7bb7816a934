import type { KafkaConfig } from 'kafkajs';

/**
 * What the MSK IAM signer's token says: it is a presigned `kafka-cluster:Connect`
 * URL, base64url-encoded. Signing is local (SigV4), so the real signer runs here
 * with static credentials from the environment and no network.
 */
export async function signedToken(sasl: KafkaConfig['sasl']): Promise<URL> {
  if (sasl?.mechanism !== 'oauthbearer' || !('oauthBearerProvider' in sasl))
    throw new Error(`expected SASL/OAUTHBEARER, got ${sasl?.mechanism}`);
  const { value } = await sasl.oauthBearerProvider();
  return new URL(Buffer.from(value, 'base64url').toString('utf8'));
}

/** Static AWS credentials for the signer while a test runs. */
export function withStaticAwsCredentials(): void {
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, profile: process.env.AWS_PROFILE };
  beforeAll(() => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    delete process.env.AWS_PROFILE;
  });
  afterAll(() => {
    for (const [name, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ['AWS_PROFILE', saved.profile],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}
