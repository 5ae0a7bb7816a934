import { Kafka, logLevel } from 'kafkajs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaClientConfig, orderedProducer } from '../../shared/kafka';
import { findFreePort, findFreePortPair, LOCAL_STATE_DIR, startKafkaBroker, type KafkaBroker } from '../../shared/local';
import { eventually, uniqueName } from '../support/integration';
import { runPlatform } from '../support/run-platform';

const KEY_STORE_PASSWORD = 'platform-test';

/** A certificate authority, and a broker certificate it signed for 127.0.0.1 and localhost, in a PKCS#12 key store. */
function makeCertificates(directory: string): { caFile: string; otherCaFile: string; keyStoreFile: string } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: directory, stdio: 'pipe' });
  const authority = (name: string) =>
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    );
  authority('platform-test-ca');
  authority('some-other-ca');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=localhost');
  writeFileSync(join(directory, 'broker.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'broker.csr',
    '-CA',
    'platform-test-ca.pem',
    '-CAkey',
    'platform-test-ca.key',
    '-CAcreateserial',
    '-out',
    'broker.pem',
    '-days',
    '2',
    '-extfile',
    'broker.ext',
  );
  openssl(
    'pkcs12',
    '-export',
    '-in',
    'broker.pem',
    '-inkey',
    'broker.key',
    '-certfile',
    'platform-test-ca.pem',
    '-name',
    'broker',
    '-out',
    'broker.p12',
    '-passout',
    `pass:${KEY_STORE_PASSWORD}`,
  );
  return {
    caFile: join(directory, 'platform-test-ca.pem'),
    otherCaFile: join(directory, 'some-other-ca.pem'),
    keyStoreFile: join(directory, 'broker.p12'),
  };
}

describe('The platform command line over TLS, against a real broker with a certificate made for the test (integration)', () => {
  let directory: string;
  let certificates: ReturnType<typeof makeCertificates>;
  let broker: KafkaBroker;
  let tlsBroker: string;
  const topic = uniqueName('tls');

  /** `platform <args> --brokers <the TLS listener>`: the flag overrides the suite broker in KAFKA_BROKERS. */
  const platform = (args: readonly string[]) => runPlatform([...args, '--brokers', tlsBroker]);

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'platform-tls-'));
    certificates = makeCertificates(directory);
    const port = await findFreePortPair();
    let tlsPort = await findFreePort();
    while (tlsPort === port || tlsPort === port + 1) tlsPort = await findFreePort();
    // A broker of its own: the suite's broker has no TLS listener. Small heap, the machine is shared.
    broker = await startKafkaBroker({
      port,
      stateDir: LOCAL_STATE_DIR,
      heapMb: 384,
      tlsListener: { port: tlsPort, keyStoreFile: certificates.keyStoreFile, keyStorePassword: KEY_STORE_PASSWORD },
    });
    tlsBroker = `127.0.0.1:${tlsPort}`;

    // Through the same client configuration the CLI and the functions build, over TLS.
    const kafka = new Kafka({
      clientId: 'tls-test',
      logLevel: logLevel.NOTHING,
      ...kafkaClientConfig({ brokers: [tlsBroker], tls: { ca: [readFileSync(certificates.caFile, 'utf8')] }, auth: 'none' }),
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    // A new broker loads its group coordinator on first use; until then a group (tail's) is refused.
    await eventually(
      'the group coordinator has loaded',
      () =>
        admin.fetchOffsets({ groupId: 'warm-up', topics: [topic] }).then(
          () => true,
          () => false,
        ),
      60_000,
    );
    await admin.disconnect();
    const producer = orderedProducer(kafka);
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'k-1', value: JSON.stringify({ over: 'tls' }), headers: { 'x-test': 'yes' } }],
    });
    await producer.disconnect();
  });

  afterAll(async () => {
    await broker?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('lists topics and tails one over TLS, trusting the certificate authority given with --ca', async () => {
    const topics = await platform(['topics', '--json', '--ca', certificates.caFile]);
    const tail = await platform(['tail', topic, '--from', 'beginning', '--max', '1', '--json', '--ca', certificates.caFile]);

    expect(topics.stderr).toBe('');
    expect(topics.code).toBe(0);
    expect(JSON.parse(topics.stdout)).toEqual([{ topic, partitions: 1, records: 1, lag: {}, noCommitYet: {} }]);
    expect(tail.stderr).toBe('');
    expect(tail.code).toBe(0);
    expect(JSON.parse(tail.stdout)).toMatchObject({
      topic,
      partition: 0,
      offset: 0,
      key: 'k-1',
      value: { over: 'tls' },
      headers: { 'x-test': 'yes' },
    });
  });

  it('runs against a deployed environment of cdk.json with the brokers in KAFKA_BROKERS, over TLS (here without IAM, which only MSK checks)', async () => {
    const deployed = await runPlatform(['topics', '--json', '--env', 'dev', '--auth', 'none', '--ca', certificates.caFile], {
      env: { ...process.env, KAFKA_BROKERS: tlsBroker },
    });

    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    expect(JSON.parse(deployed.stdout)).toEqual([{ topic, partitions: 1, records: 1, lag: {}, noCommitYet: {} }]);
  });

  it('fails with exit code 1 and a clear message, no stack, when the broker’s certificate is not signed by the --ca it was given', async () => {
    const wrong = await platform(['topics', '--ca', certificates.otherCaFile]);

    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toBe(
      `error: could not connect to Kafka at ${tlsBroker}, over TLS (trusting the certificate authorities in ${certificates.otherCaFile}): the brokers' TLS certificate is not trusted (self-signed certificate in certificate chain). Give the certificate authority that signed it with --ca <file.pem>\n`,
    );
  });

  it('fails with a clear message when TLS is asked for without a certificate authority that trusts the broker (--tls: the system’s)', async () => {
    const systemTrust = await platform(['topics', '--tls']);

    expect(systemTrust.code).toBe(1);
    expect(systemTrust.stderr).toMatch(
      /^error: could not connect to Kafka at 127\.0\.0\.1:\d+, over TLS: the brokers' TLS certificate is not trusted \(.+\)\. Give the certificate authority that signed it with --ca <file\.pem>\n$/,
    );
  });

  it('refuses a --ca file that holds no certificate; and TLS flags with the plaintext local broker, or an environment cdk.json lacks, as wrong usage (exit code 2)', async () => {
    const notPem = join(directory, 'not-a-certificate.pem');
    writeFileSync(notPem, 'hello\n');

    const noCertificate = await runPlatform(['topics', '--brokers', tlsBroker, '--ca', notPem]);
    const tlsToLocal = await runPlatform(['topics', '--tls'], { env: { ...process.env, KAFKA_BROKERS: '' } });
    const unknownEnvironment = await runPlatform(['topics', '--env', 'nosuch']);

    expect(noCertificate.code).toBe(1);
    expect(noCertificate.stderr).toBe(`error: --ca ${notPem} holds no PEM certificate (a "-----BEGIN CERTIFICATE-----" block)\n`);
    expect(tlsToLocal.code).toBe(2);
    expect(tlsToLocal.stderr).toMatch(
      /^error: --tls needs brokers that take it: the local runtime's broker \(127\.0\.0\.1:\d+\) is plaintext\. .*\nRun with --help for usage\.\n$/,
    );
    expect(unknownEnvironment.code).toBe(2);
    expect(unknownEnvironment.stderr).toMatch(
      /^error: --env nosuch: cdk\.json's context\.platform\.environments has no such environment \(it has: .*dev.*\)\nRun with --help for usage\.\n$/,
    );
  });
});
