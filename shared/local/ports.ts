import { createServer } from 'node:net';
import { LocalRuntimeError, PortInUseError } from './errors';
import { describeProcess, portHolder } from './processes';

/** Fails with a {@link PortInUseError} naming the service, what holds the port (when it can tell) and the variable that moves it. */
export async function assertPortFree(service: string, host: string, port: number, environmentVariable: string): Promise<void> {
  if (await isFree(host, port)) return;
  const holder = portHolder(port);
  throw new PortInUseError(service, host, port, environmentVariable, holder ? describeProcess(holder) : undefined);
}

/** A port the OS reports free right now; for tests and runs that must not collide with `npm start`. */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** A free port whose next port is free too: the embedded broker listens on both (clients, KRaft controller). */
export async function findFreePortPair(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = await findFreePort(host);
    if (port < 65_535 && (await isFree(host, port + 1))) return port;
  }
  throw new LocalRuntimeError('Could not find two adjacent free ports on 127.0.0.1', true);
}

function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}
