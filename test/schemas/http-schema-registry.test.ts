import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  avroValueFormat,
  encodeWireFormat,
  HttpSchemaRegistry,
  SchemaRegistryUnavailableError,
  UnknownSchemaError,
  UnreadableValueError,
  repositorySchemas,
} from '../../shared/schemas';
import { credentialsFromSecret } from '../../shared/schemas/registry-from-environment';

/** A stand-in HTTP server that answers every request with one status and body, counting requests. */
async function answering(status: number, body: string): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((_request, response) => {
    requests += 1;
    response.writeHead(status, { 'Content-Type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('HttpSchemaRegistry: what an answer means', () => {
  it.each([
    ['a 404 without a registry error code (a wrong base URL)', 404, '<html>Not Found</html>'],
    ['a 401 (a credential to fix)', 401, '{"error_code":401,"message":"Unauthorized"}'],
    ['a 403', 403, '{"error_code":403,"message":"Forbidden"}'],
    ['a 503', 503, '{"error_code":50301,"message":"unavailable"}'],
    ['a 200 that is not JSON (a proxy page)', 200, '<html>login</html>'],
  ])('calls %s unavailable and retriable, never an unknown schema', async (_case, status, body) => {
    const server = await answering(status, body);
    try {
      const asking = new HttpSchemaRegistry(server.url).schemaById(1);

      await expect(asking).rejects.toThrow(SchemaRegistryUnavailableError);
      await expect(asking).rejects.toMatchObject({ retriable: true });
    } finally {
      await server.close();
    }
  });

  it('calls an id unknown only on the registry’s own “schema not found” code, after asking again in case a replica lags', async () => {
    const server = await answering(404, '{"error_code":40403,"message":"Schema 7 not found"}');
    try {
      await expect(new HttpSchemaRegistry(server.url).schemaById(7)).rejects.toThrow(UnknownSchemaError);
      expect(server.requests()).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('makes a value written with a schema that is not Avro (JSON Schema, Protobuf) unreadable, instead of failing the batch forever', async () => {
    const server = await answering(
      200,
      JSON.stringify({ schemaType: 'PROTOBUF', schema: 'syntax = "proto3"; message M { string a = 1; }' }),
    );
    try {
      const format = avroValueFormat({
        topic: 'merchants',
        schemas: repositorySchemas().get('merchants-value')!,
        registry: () => new HttpSchemaRegistry(server.url),
      });

      const reading = format.decode(encodeWireFormat(12, Buffer.from([0, 2, 0x61])));

      await expect(reading).rejects.toThrow(UnreadableValueError);
      await expect(reading).rejects.toThrow(/^DESERIALIZATION_ERROR: schema 12 is PROTOBUF, not Avro/);
    } finally {
      await server.close();
    }
  });
});

describe('HttpSchemaRegistry: credentials', () => {
  it('reads credentials from their source once, sends them as basic auth, and reads them again only after a failure', async () => {
    const seen: Array<string | undefined> = [];
    const server: Server = createServer((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ schema: '"string"' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      let reads = 0;
      const registry = new HttpSchemaRegistry(url, async () => {
        reads += 1;
        if (reads === 1) throw new Error('secret not reachable yet');
        return 'key:secret';
      });

      const first = registry.schemaById(1);
      await expect(first).rejects.toThrow(SchemaRegistryUnavailableError);
      await registry.schemaById(1);
      await registry.schemaById(2);

      expect(reads).toBe(2);
      expect(seen).toEqual([
        `Basic ${Buffer.from('key:secret').toString('base64')}`,
        `Basic ${Buffer.from('key:secret').toString('base64')}`,
      ]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reads credentials from their secret again after the registry answers 401, so a rotated key is picked up', async () => {
    const server = await answering(401, '{"error_code":401,"message":"Unauthorized"}');
    try {
      let reads = 0;
      const registry = new HttpSchemaRegistry(server.url, async () => {
        reads += 1;
        return `key:secret-${reads}`;
      });

      await expect(registry.schemaById(1)).rejects.toThrow(SchemaRegistryUnavailableError);
      await expect(registry.schemaById(1)).rejects.toThrow(SchemaRegistryUnavailableError);

      expect(reads).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('takes a secret holding "user:password" or JSON with username and password', () => {
    expect(credentialsFromSecret('key:secret', 'arn')).toBe('key:secret');
    expect(credentialsFromSecret('{"username":"key","password":"secret"}', 'arn')).toBe('key:secret');
    expect(credentialsFromSecret('key:secret\n', 'arn')).toBe('key:secret');
    expect(() => credentialsFromSecret('{"username":"key","password":hunter2}', 'arn')).toThrow(/^(?!.*hunter2).*not valid JSON/);
    expect(() => credentialsFromSecret('{"user":"key"}', 'arn:aws:secretsmanager:eu-west-1:1:secret:x')).toThrow(
      /JSON without string "username" and "password"/,
    );
  });
});
