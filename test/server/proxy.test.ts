/**
 * Behind a reverse proxy: `trustProxy` decides whose X-Forwarded-For/-Proto count,
 * and `publicUrl` is the origin absolute URLs use, whatever Host header arrives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csrfOf, serverForSuite, WebClient, type WebResponse } from '../support/web-client.ts';

const PASSWORD = 'correct horse battery';

/** A sign-up as a browser behind a proxy makes it: the proxy adds X-Forwarded-For. */
async function signUpFrom(base: string, name: string, forwardedFor: string): Promise<WebResponse> {
  const browser = new WebClient(base);
  const headers = { 'x-forwarded-for': forwardedFor };
  const form = await browser.get('/signup', headers);
  return browser.post(
    '/signup',
    { csrf: csrfOf(form.body), name, password: PASSWORD, confirm: PASSWORD },
    headers,
  );
}

describe('behind a trusted proxy (trustProxy 127.0.0.1, publicUrl set)', () => {
  const web = serverForSuite({
    PAPILLON_TRUST_PROXY: '127.0.0.1',
    PAPILLON_PUBLIC_URL: 'https://chat.example.org',
    PAPILLON_SIGNUPS_PER_HOUR: '1',
  });

  it('counts sign-ups per forwarded client address, not per proxy', async () => {
    assert.equal((await signUpFrom(web.base, 'ann', '203.0.113.1')).status, 303);
    assert.equal(
      (await signUpFrom(web.base, 'ben', '203.0.113.2')).status,
      303,
      'another client behind the proxy',
    );
    const again = await signUpFrom(web.base, 'cat', '203.0.113.1');
    assert.equal(again.status, 429, 'the first client again');
  });

  it('takes the scheme from X-Forwarded-Proto: cookies are Secure behind a TLS proxy', async () => {
    const browser = new WebClient(web.base);
    await browser.get('/signup', { 'x-forwarded-proto': 'https' });
    assert.match(browser.cookies.get('papillon_form')?.raw ?? '', /; Secure/);
  });

  it('names publicUrl as the OAuth issuer and the Nexus login host, whatever the Host header', async () => {
    const browser = new WebClient(web.base);
    const meta = await browser.get('/.well-known/oauth-authorization-server', { host: 'evil.example' });
    assert.equal(meta.status, 200);
    const json = meta.json as { issuer: string; token_endpoint: string };
    assert.equal(json.issuer, 'https://chat.example.org');
    assert.equal(json.token_endpoint, 'https://chat.example.org/oauth/token');
    const nexus = await browser.get('/rdr/pprdr.asp', { host: 'evil.example' });
    assert.match(String(nexus.headers.passporturls), /DALogin=chat\.example\.org\/login2\.srf,/);
    assert.doesNotMatch(String(nexus.headers.passporturls), /evil/);
  });
});

describe('without trustProxy', () => {
  const web = serverForSuite({ PAPILLON_SIGNUPS_PER_HOUR: '1' });

  it('ignores X-Forwarded-For: anyone could claim any address', async () => {
    assert.equal((await signUpFrom(web.base, 'dan', '203.0.113.1')).status, 303);
    assert.equal((await signUpFrom(web.base, 'eve', '203.0.113.2')).status, 429);
  });

  it('ignores X-Forwarded-Proto', async () => {
    const browser = new WebClient(web.base);
    await browser.get('/signup', { 'x-forwarded-proto': 'https' });
    assert.doesNotMatch(browser.cookies.get('papillon_form')?.raw ?? '', /; Secure/);
  });

  it('never makes a hostile Host header the OAuth issuer', async () => {
    const meta = await new WebClient(web.base).get('/.well-known/oauth-authorization-server', {
      host: 'evil.example',
    });
    assert.equal(meta.status, 200);
    assert.equal((meta.json as { issuer: string }).issuer, 'http://localhost');
  });
});
