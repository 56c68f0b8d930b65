import type { AddressInfo, Server } from 'node:net';

/** Starts `server` listening and resolves with the port it got (port 0: any free port). */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
