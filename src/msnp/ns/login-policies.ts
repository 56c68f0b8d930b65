import { createHash } from 'node:crypto';

/**
 * The `<Policies>` document MSNP13+ servers push as `GCF 0 len` during sign-in
 * (docs/msnp-reference.md §10 GCF: "From MSNP13 it is pushed as `GCF 0 len` +
 * `<Policies>`"). Only the SHIELDS policy matters to clients: the same "nothing is
 * blocked" config MSNP11–12 fetch as Shields.xml. Each policy carries a checksum of
 * its content, which WLM compares to decide whether to re-read it.
 * COMPAT: Pidgin (retro-prpl msn/notification.c gcf_cmd) only skips the payload by
 * its length, so the trid must be `0` and the length the second argument.
 */
const SHIELDS =
  '<config><shield><cli maj="7" min="0" minbld="0" maxbld="9999" deny=" " /></shield><block></block></config>';

function policy(type: string, content: string): string {
  const checksum = createHash('md5').update(content).digest('hex').toUpperCase();
  return `<Policy type="${type}" checksum="${checksum}">${content}</Policy>`;
}

export const LOGIN_POLICIES = `<Policies>${policy('SHIELDS', SHIELDS)}</Policies>`;
