import { startTestServer, type TestServer } from './papillon-server.ts';

/**
 * The real server (with `env` added to the test configuration) and two accounts that allow all
 * and are on each other's forward list: Mia (`mia@localhost`, password `mia-secret`), who signs
 * in with MSN, and Xan (`xan@localhost`, `xan-secret`), who signs in with XMPP.
 */
export async function startServerWithMiaAndXan(env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startTestServer(env);
  const core = server.server.core;
  const m = await core.accounts.create({
    privacy: 'allow-all',
    handle: 'mia@localhost',
    password: 'mia-secret',
    displayName: 'Mia',
  });
  const x = await core.accounts.create({
    privacy: 'allow-all',
    handle: 'xan@localhost',
    password: 'xan-secret',
    displayName: 'Xan',
  });
  await core.relationships.addForward(m.id, x.handle);
  await core.relationships.addForward(x.id, m.handle);
  return server;
}
