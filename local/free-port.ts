import { createServer } from 'node:net';

/** Listens on `port` (0: any) at 127.0.0.1 and closes again; resolves with the port, or undefined if taken. */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = address !== null && typeof address === 'object' ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const port = await probe(0);
  if (port === undefined) throw new Error('could not get a free port on 127.0.0.1');
  return port;
}

/** Whether `port` can be listened on at 127.0.0.1 right now. */
export async function portIsFree(port: number): Promise<boolean> {
  return (await probe(port)) !== undefined;
}
