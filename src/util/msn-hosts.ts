/**
 * Host names legacy MSN / Windows Live Messenger clients contact (Messenger 1.0 … WLM
 * 2009): the operator points them at Papillon (hosts file or DNS). `papillon certs` puts
 * them all in the certificate, and the web Connect page prints the hosts-file lines.
 */
export const LEGACY_MSN_HOSTS: readonly string[] = Object.freeze([
  // Dispatch / notification server (MSNP on TCP 1863) and the HTTP polling gateway
  // clients fall back to behind proxies.
  'messenger.hotmail.com',
  'gateway.messenger.hotmail.com',
  // Passport: the Nexus tells MSNP8–12 clients where to log in (pprdr.asp); login2.srf
  // (Tweener), RST.srf/RST2.srf (MSNP12+ tokens, MSNP15+ SSO) and md5auth.srf (inbox
  // links) live on the login hosts. msnia.login.live.com is used instead for @msn.com
  // accounts. Pidgin's MSNP18 plugin posts to login.live.com (retro-prpl msn/nexus.h).
  'nexus.passport.com',
  'login.passport.com',
  'loginnet.passport.com',
  'login.live.com',
  'msnia.login.live.com',
  // Address book and sharing (membership) SOAP services, MSNP13+.
  // COMPAT: Pidgin's MSNP18 plugin calls local-bay.contacts.msn.com (msn/contact.h).
  'contacts.msn.com',
  'local-bay.contacts.msn.com',
  'omega.contacts.msn.com',
  'byrdr.omega.contacts.msn.com',
  // Storage service: roaming profile, display name / personal message, display picture.
  // WLM 2009 also asks RST for storage.live.com and calls it for the storage REST API.
  'storage.msn.com',
  'tkrdr.storage.msn.com',
  'storage.live.com',
  // "What's new" (sup.live.com), the secure OIM/messenger host and the Spaces profile
  // service: MSNP15+ clients request tokens for them and WLM 8.x/2009 call them.
  'sup.live.com',
  'messengersecure.live.com',
  'spaces.live.com',
  // Offline messages: sending (OIM web service) and retrieving (RSI).
  'ows.messenger.msn.com',
  'rsi.hotmail.com',
  // Client configuration (MsgrConfig.asmx), tabs, activities/games directory and the
  // web pages / "go" links the client opens.
  'config.messenger.msn.com',
  'messenger.msn.com',
  'appdirectory.messenger.msn.com',
  'g.live.com',
  // Usage telemetry (SQM) uploads; answering them locally keeps the client quiet.
  'sqm.microsoft.com',
]);
