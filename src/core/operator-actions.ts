import type { Core } from './core.ts';

/**
 * What an operator does to sessions, as domain events on the bus so they reach an
 * account's endpoints on every node: the web admin area calls these (the CLI's admin
 * channel publishes the same events).
 */

/** Ends every session of the account (MSN `OUT`, an XMPP stream error); returns how many it had. */
export async function kickAccount(core: Core, accountId: string): Promise<number> {
  const sessions = (await core.bus.listEndpoints(accountId)).length;
  await core.events.publish(accountId, { type: 'sign-out', endpointId: null, reason: 'kicked' });
  return sessions;
}

/** A notice to everyone signed in anywhere (an XMPP headline, an MSN system message). */
export async function noticeEveryone(
  core: Core,
  text: string,
): Promise<{ accounts: number; sessions: number }> {
  let accounts = 0;
  let sessions = 0;
  for (const account of await core.accounts.list()) {
    const n = (await core.bus.listEndpoints(account.id)).length;
    if (n === 0) continue;
    accounts += 1;
    sessions += n;
    await core.events.publish(account.id, { type: 'server-notice', text });
  }
  return { accounts, sessions };
}

/** Sets a new password and signs the account out everywhere: web pages and every app. */
export async function resetPassword(core: Core, handle: string, password: string): Promise<void> {
  const account = await core.accounts.get(handle);
  await core.accounts.changePassword(account.handle, password);
  await core.webSessions.endOthers(account.id);
  await core.events.publish(account.id, { type: 'sign-out', endpointId: null, reason: 'password-changed' });
}
