/**
 * MSNP error codes Papillon sends (docs/msnp-reference.md §11, from the IETF draft's
 * names and hypothetic.org's error list). An error line is `CODE trid`.
 */
export const MsnpError = {
  syntaxError: 200,
  invalidParameter: 201,
  invalidNetworkId: 204, // ADL/RML/FQY `t` that is not a network (MSNP13+)
  invalidUser: 205, // ADD of an unknown handle (MSNP2–9)
  alreadyLoggedIn: 207,
  invalidUsername: 208, // ADC of an unknown handle (10+), CAL of an invalid handle
  invalidFriendlyName: 209,
  listFull: 210,
  alreadyThere: 215,
  notOnList: 216,
  userOffline: 217, // CAL: offline, hidden or blocking
  alreadyInMode: 218,
  alreadyInOppositeList: 219,
  tooManyGroups: 223,
  invalidGroup: 224,
  notInGroup: 225,
  groupNotEmpty: 227,
  groupNameExists: 228,
  groupNameTooLong: 229,
  cannotRemoveGroupZero: 230,
  emptyDomain: 240, // ADL/RML `<d>` with no contact (MSNP13+)
  invalidXmlPayload: 241, // ADL/RML/FQY payload that is not a valid `<ml>` (MSNP13+)
  notLoggedIn: 302,
  internalError: 500,
  commandDisabled: 502,
  challengeFailed: 540,
  serverBusy: 600,
  serverGoingDown: 604,
  notExpected: 715,
  changingTooRapidly: 800,
  authenticationFailed: 911,
  notAllowedWhenOffline: 913,
  invalidCircleMembership: 933, // ADL of a circle (network 9) the account is not in (MSNP18)
} as const;
