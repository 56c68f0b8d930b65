import type { Core } from '../../../core/core.ts';
import type { AccountRow } from '../../../store/types.ts';
import { ASK_WHEN_ADDED } from '../../ns/profile.ts';
import type { MeSettings } from './contact-xml.ts';

/** The account property that keeps the Me contact's MSN.IM.MPOP (`0` when turned off; on by default). */
export const MPOP_PROPERTY = 'msn.mpop';

/** The owner's settings the Me contact shows: GTC is the same property MSNP2–12's GTC sets. */
export async function meSettings(core: Core, account: AccountRow): Promise<MeSettings> {
  const own = await core.accounts.properties(account.id, [ASK_WHEN_ADDED, MPOP_PROPERTY]);
  return { askWhenAdded: own[ASK_WHEN_ADDED] !== 'no', mpop: own[MPOP_PROPERTY] !== '0' };
}

/**
 * Applies the Me contact's annotations from ABContactUpdate: `MSN.IM.BLP` (1: everyone
 * not blocked sees me, MSNP `BLP AL`; 0: only the allow list, `BLP BL`) through the
 * core's privacy call, `MSN.IM.GTC` (1: ask when someone adds me) as MSNP's GTC
 * preference, `MSN.IM.MPOP`. Others (MSN.IM.MBEA, RoamLiveProperties…) are not kept.
 */
export async function applyMeAnnotations(
  core: Core,
  account: AccountRow,
  annotations: ReadonlyArray<{ name: string; value: string }>,
): Promise<void> {
  for (const { name, value } of annotations) {
    const on = value.trim() !== '0';
    if (name === 'MSN.IM.BLP')
      await core.relationships.setPrivacy(account.id, on ? 'allow-all' : 'allow-list');
    else if (name === 'MSN.IM.GTC')
      await core.accounts.setProperty(account.id, ASK_WHEN_ADDED, on ? null : 'no');
    else if (name === 'MSN.IM.MPOP')
      await core.accounts.setProperty(account.id, MPOP_PROPERTY, on ? null : '0');
  }
}
