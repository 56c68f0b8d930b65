import { PapillonError } from '../util/errors.ts';
import { handleLocalPart } from '../util/handle.ts';
import { hasControlCharacters } from '../util/text.ts';

/**
 * Passwords every protocol can carry and no one should use. Rules that hold for
 * everybody throw `weak-password`; the configurable minimum length is a separate,
 * softer rule (`isShorterThanPolicy`) so an operator creating an account from the
 * CLI is warned rather than refused, while self-service sign-up enforces it.
 */
export const MAX_PASSWORD_BYTES = 1024;

// The most common leaked passwords: refusing them costs nothing and stops the
// first guesses of every online attack.
const COMMON = new Set([
  '123456',
  '12345678',
  '123456789',
  '1234567890',
  'password',
  'password1',
  'qwerty',
  'qwerty123',
  '111111',
  '000000',
  'abc123',
  'iloveyou',
  'letmein',
  'welcome',
  'admin',
  'monkey',
  'dragon',
  'msn',
  'messenger',
  'hotmail',
]);

export function checkPassword(password: string, handle: string): void {
  const weak = (why: string): never => {
    throw new PapillonError('weak-password', `password rejected: ${why}`);
  };
  if (password.length === 0) weak('it is empty');
  if (password.trim().length === 0) weak('it is only white space');
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES)
    weak(`it is longer than ${MAX_PASSWORD_BYTES} bytes`);
  // Control characters cannot be typed into an MSN or XMPP client's login box, and
  // SASLprep (RFC 4013 §2.3) prohibits them.
  if (hasControlCharacters(password)) weak('it contains control characters');
  const lower = password.toLowerCase();
  if (lower === handle || lower === handleLocalPart(handle)) weak('it is the account name');
  if (COMMON.has(lower)) weak('it is one of the most common passwords');
}

export function isShorterThanPolicy(password: string, minLength: number): boolean {
  return [...password].length < minLength;
}
