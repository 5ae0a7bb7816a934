import type { Schema } from 'avsc';
import { findFreePort } from '../../shared/local/ports';
import {
  avroValueFormat,
  canonicalForm,
  HttpSchemaRegistry,
  IncompatibleSchemaError,
  readValue,
  repositorySchemas,
  SchemaRegistryUnavailableError,
  UnknownSchemaError,
  writeValue,
} from '../../shared/schemas';
import { startApicurioRegistry, type ApicurioRegistry } from '../support/apicurio-registry';
import { uniqueName } from '../support/integration';
import { runPlatform } from '../support/run-platform';

/** The first start fetches Apicurio Registry (~104 MB) from Maven Central; later ones take seconds. */
const REGISTRY_START_TIMEOUT_MS = 180_000;

interface Published {
  readonly registry: string;
  readonly published: ReadonlyArray<{ subject: string; version: number; id: number }>;
}

/** Runs `platform <args>` as a user runs it; the registry under test needs no credentials, and a developer's own must not leak into it. */
const platform = (args: readonly string[]) => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SCHEMA_REGISTRY_CREDENTIALS;
  return runPlatform(args, { env });
};

/** The id the registry holds for a subject's newest version, asked of its Confluent API directly (not through the platform's client). */
async function latestIdOf(url: string, subject: string): Promise<number> {
  const response = await fetch(`${url}/subjects/${encodeURIComponent(subject)}/versions/latest`);
  if (!response.ok) throw new Error(`GET latest version of ${subject} answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { id: number }).id;
}

const record = (fields: unknown[]): Schema => ({ type: 'record', name: 'Reading', namespace: 'platform.test', fields }) as Schema;

describe('HttpSchemaRegistry against a real registry (Apicurio, Confluent API) (integration)', () => {
  let apicurio: ApicurioRegistry;

  beforeAll(async () => {
    apicurio = await startApicurioRegistry();
  }, REGISTRY_START_TIMEOUT_MS);

  afterAll(async () => {
    await apicurio?.stop();
  });

  it('`schemas publish --registry-url` sets each subject’s compatibility level and registers every repository schema version, each readable by the id it prints, and gives the same ids when run again', async () => {
    // Prepare
    const catalog = repositorySchemas();
    const registry = new HttpSchemaRegistry(apicurio.url);

    // Act
    const first = await platform(['schemas', 'publish', '--registry-url', apicurio.url, '--json']);
    const second = await platform(['schemas', 'publish', '--registry-url', apicurio.url, '--json']);

    // Assess
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    const published = JSON.parse(first.stdout) as Published;
    expect(published.registry).toBe(apicurio.url);
    const expected = [...catalog.values()].flatMap((subject) =>
      subject.versions.map((version) => `${subject.subject} v${version.version}`),
    );
    expect(published.published.map((entry) => `${entry.subject} v${entry.version}`).sort()).toEqual(expected.sort());
    for (const entry of published.published) {
      const inRepository = catalog.get(entry.subject)!.versions[entry.version - 1]!.schema;
      expect({ ...entry, schema: canonicalForm(await registry.schemaById(entry.id)) }).toEqual({
        ...entry,
        schema: canonicalForm(inRepository),
      });
    }
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual(published);
    for (const subject of catalog.values()) {
      const config = (await (await fetch(`${apicurio.url}/config/${subject.subject}`)).json()) as { compatibilityLevel: string };
      expect([subject.subject, config.compatibilityLevel]).toEqual([subject.subject, subject.compatibility]);
    }
  });

  it('refuses a version that breaks BACKWARD compatibility with IncompatibleSchemaError, accepts one that keeps it, and answers an unknown id with UnknownSchemaError', async () => {
    // Prepare
    const registry = new HttpSchemaRegistry(apicurio.url);
    const subject = `${uniqueName('readings')}-value`;
    const v1 = record([{ name: 'sensorId', type: 'string' }]);
    const breaking = record([
      { name: 'sensorId', type: 'string' },
      { name: 'celsius', type: 'double' },
    ]);
    const compatible = record([
      { name: 'sensorId', type: 'string' },
      { name: 'celsius', type: ['null', 'double'], default: null },
    ]);
    const v1Id = await registry.register(subject, v1);

    // Act
    const refused = await registry.register(subject, breaking).then(
      () => undefined,
      (error: unknown) => error,
    );
    const compatibleId = await registry.register(subject, compatible);
    const v1Again = await registry.register(subject, v1);
    const unknown = await registry.schemaById(999_999_999).then(
      () => undefined,
      (error: unknown) => error,
    );

    // Assess
    expect(refused).toBeInstanceOf(IncompatibleSchemaError);
    expect((refused as Error).message).toMatch(/celsius/);
    expect(compatibleId).not.toBe(v1Id);
    expect(await latestIdOf(apicurio.url, subject)).toBe(compatibleId);
    expect(canonicalForm(await registry.schemaById(compatibleId))).toBe(canonicalForm(compatible));
    expect(v1Again).toBe(v1Id);
    expect(unknown).toBeInstanceOf(UnknownSchemaError);
  });

  it('writes Avro values framed with magic byte 0 and the registry’s id for the topic’s subject, which read back equal, also by a reader that never saw the id', async () => {
    // Prepare
    const topic = uniqueName('t');
    const schemas = repositorySchemas().get('merchants-value')!;
    const writer = avroValueFormat({ topic, schemas, registry: () => new HttpSchemaRegistry(apicurio.url) });
    const reader = avroValueFormat({ topic, schemas, registry: () => new HttpSchemaRegistry(apicurio.url) });
    const merchant = { merchantId: 'm-1', name: 'Corner Shop', country: 'DE', website: 'https://corner.example' };

    // Act
    const bytes = (await writeValue(writer, merchant))!;
    const readByWriter = await readValue(writer, bytes);
    const readByReader = await readValue(reader, bytes);

    // Assess
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(await latestIdOf(apicurio.url, `${topic}-value`));
    expect(readByWriter).toEqual(merchant);
    expect(readByReader).toEqual(merchant);
  });

  it('writes with a look-up-only registry (as deployed functions do) once the schema is published, and refuses before, naming the step to take', async () => {
    // Prepare
    const topic = uniqueName('t');
    const schemas = repositorySchemas().get('merchants-value')!;
    const lookUpOnly = avroValueFormat({ topic, schemas, registry: () => new HttpSchemaRegistry(apicurio.url, undefined, false) });
    const merchant = { merchantId: 'm-1', name: 'Corner Shop', country: 'DE', website: null };

    // Act (the first write settles before publishing: a look-up still in flight would be shared by the second write)
    const beforePublishing = writeValue(lookUpOnly, merchant);
    await beforePublishing.catch(() => undefined);
    const publishedId = await new HttpSchemaRegistry(apicurio.url).register(`${topic}-value`, schemas.latest.schema);
    const afterPublishing = (await writeValue(lookUpOnly, merchant))!;

    // Assess
    await expect(beforePublishing).rejects.toThrow(UnknownSchemaError);
    await expect(beforePublishing).rejects.toThrow(
      /not registered under ".*-value", and this process may not register it: publish it first \(platform schemas publish\)/,
    );
    expect(afterPublishing.readInt32BE(1)).toBe(publishedId);
    expect(await latestIdOf(apicurio.url, `${topic}-value`)).toBe(publishedId);
  });

  it('reports a registry that is down as SchemaRegistryUnavailableError, retriable, when reading a value whose schema id it has not cached', async () => {
    // Prepare: a value framed with a real id, and a reader whose registry listens nowhere.
    const topic = uniqueName('t');
    const schemas = repositorySchemas().get('merchants-value')!;
    const bytes = (await writeValue(avroValueFormat({ topic, schemas, registry: () => new HttpSchemaRegistry(apicurio.url) }), {
      merchantId: 'm-2',
      name: 'Kiosk',
      country: 'FR',
      website: null,
    }))!;
    const down = new HttpSchemaRegistry(`http://127.0.0.1:${await findFreePort()}/apis/ccompat/v7`);
    const reader = avroValueFormat({ topic, schemas, registry: () => down });

    // Act
    const error = await readValue(reader, bytes).then(
      () => undefined,
      (failure: unknown) => failure,
    );

    // Assess
    expect(error).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect(error).toMatchObject({ retriable: true });
  });
});
