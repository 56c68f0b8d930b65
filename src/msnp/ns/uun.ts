import { MsnpError } from '../errors.ts';
import { parseEndpointHandle, sameMachine } from '../sb/participants.ts';
import { type NsHandler, tridOf } from './handler.ts';
import { MsnpReply } from './reply.ts';

/** UUN notification type 4: multipoint (Pidgin msn/notification.h MSN_UNIFIED_NOTIFICATION_MPOP). */
const UUN_MPOP = 4;

/**
 * MSNP13+ `UUN trid handle[;{guid}] type len` + payload → `UUN trid OK` (NINA wiki
 * Commands/UUN; Pidgin msn/notification.c msn_notification_send_uun).
 * - To one of the sender's own endpoints, `4` + `goawyplzthxbye` (Pidgin when it
 *   disables multipoint; WLM 2009's "sign out from other locations"): that endpoint
 *   hears `OUT OTH`.
 * - Anything else (P2P/SIP bootstrap `3`, sharing `1`, multipoint `4` data) goes
 *   through the core to the recipient's endpoints, who hear it as `UBN` (ubn.ts).
 *   A recipient who is offline, invisible to the sender or blocking it is answered
 *   217, as Escargot answers and the live service did for SB invitations.
 */
export const UUN: NsHandler = {
  state: 'online',
  when: (d) => d.addressBook,
  async run(s, c) {
    const trid = tridOf(c);
    const account = s.account;
    const target = c.args[1];
    const type = Number(c.args[2]);
    if (!account || !target || !Number.isInteger(type)) throw new MsnpReply(MsnpError.syntaxError);
    // COMPAT: WLM 2009 may write the MSNP18 network prefix (`1:handle`); Pidgin does not.
    const { handle, machineGuid } = parseEndpointHandle(target.replace(/^\d{1,2}:/, ''));
    const payload = c.payload?.toString('utf8') ?? '';
    if (handle === account.handle && type === UUN_MPOP && machineGuid && payload === 'goawyplzthxbye') {
      for (const endpoint of await s.ctx.core.presence.endpoints(account.id)) {
        const guid = endpoint.presence.capabilities.msnpMachineGuid;
        if (endpoint.endpointId === s.endpointId || !guid || !sameMachine(guid, machineGuid)) continue;
        await s.ctx.core.events.publish(account.id, {
          type: 'sign-out',
          endpointId: endpoint.endpointId,
          reason: 'signed-in-elsewhere',
        });
      }
    } else {
      const result = await s.ctx.core.peerNotifications.send(
        {
          accountId: account.id,
          handle: account.handle,
          endpointId: s.endpointId,
          ...(s.machineGuid ? { endpoint: s.machineGuid } : {}),
        },
        handle,
        { ...(machineGuid ? { targetEndpoint: machineGuid } : {}), kind: type, payload },
      );
      if (result === 'unknown') throw new MsnpReply(MsnpError.invalidUsername);
      if (result === 'offline') throw new MsnpReply(MsnpError.userOffline);
    }
    s.send('UUN', trid, 'OK');
  },
};
