import { MsnpError } from '../errors.ts';
import { parseEndpointHandle, sameMachine } from '../sb/participants.ts';
import { type NsHandler, tridOf } from './handler.ts';
import { MsnpReply } from './reply.ts';

/** UUN notification type 4: multipoint (Pidgin msn/notification.h MSN_UNIFIED_NOTIFICATION_MPOP). */
const UUN_MPOP = 4;

/**
 * MSNP13+ `UUN trid handle[;{guid}] type len` + payload → `UUN trid OK` (NINA wiki
 * Commands/UUN). What Papillon acts on: an MSNP16+ endpoint asking another endpoint
 * of its own account to leave (`4` + `goawyplzthxbye`, what Pidgin sends when it
 * disables multipoint and WLM 2009's "sign out from other locations"); that endpoint
 * hears `OUT OTH`. Other notifications (shared folders, P2P bootstrap) are accepted
 * and not relayed.
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
    const { handle, machineGuid } = parseEndpointHandle(target);
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
    }
    s.send('UUN', trid, 'OK');
  },
};
