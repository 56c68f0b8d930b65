import { ADL, FQY, RML } from './address-list.ts';
import { PUT, SDG } from './circle.ts';
import { ADC, ADD, ADG, BLP, GTC, REG, REM, RMG, SYN } from './contacts.ts';
import type { NsHandler } from './handler.ts';
import { CVR, INF, USR, VER } from './login.ts';
import { DISABLED, GCF, IMS, OUT, PNG, URL, XFR } from './misc.ts';
import { CHG, CHL, QRY, UUX } from './presence.ts';
import { PRP, REA, SBP } from './profile.ts';
import { UUN } from './uun.ts';

/** Every notification-server command Papillon understands (docs/msnp-reference.md §3–§10). */
export const NS_HANDLERS: Record<string, NsHandler> = {
  VER,
  CVR,
  INF,
  USR,
  SYN,
  GTC,
  BLP,
  ADD,
  ADC,
  REM,
  ADL,
  RML,
  FQY,
  ADG,
  RMG,
  REG,
  REA,
  PRP,
  SBP,
  CHG,
  UUX,
  UUN,
  QRY,
  CHL,
  PNG,
  OUT,
  XFR,
  URL,
  GCF,
  IMS,
  PUT,
  SDG,
  FND: DISABLED,
  PAG: DISABLED,
  PGD: DISABLED,
  SND: DISABLED,
  SDC: DISABLED,
};
