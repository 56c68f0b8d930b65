import { X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { usableHost } from '../../util/host.ts';
import { LEGACY_MSN_HOSTS } from '../../util/msn-hosts.ts';
import { html, type SafeHtml } from './html.ts';
import { page, sendPage } from './layout.ts';
import { type SignedIn, sessionOrSignIn } from './session.ts';
import type { ConnectInfo, WebContext } from './settings.ts';

/** What the page needs, worked out per request. */
interface Where {
  /** The name or address clients connect to. */
  host: string;
  /** An IPv4/IPv6 address for the hosts-file lines, or undefined when the name does not resolve. */
  address: string | undefined;
  domain: string;
  ports: ConnectInfo;
  ca: { sha256: string } | undefined;
}

/** The host part of the browser's Host header (no port, no IPv6 brackets). */
function browserHost(request: FastifyRequest): string | undefined {
  const host = usableHost(request.headers.host);
  if (host === undefined) return undefined;
  const bracketed = /^\[([^\]]+)\]/.exec(host);
  if (bracketed?.[1]) return bracketed[1];
  return host.replace(/:\d+$/, '').toLowerCase();
}

/** The address of a name, within a second; undefined when it does not resolve (a name only the LAN knows). */
async function addressOf(host: string): Promise<string | undefined> {
  if (isIP(host)) return host;
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1000).unref());
  const found = lookup(host).then(
    (r) => r.address,
    () => undefined,
  );
  return Promise.race([found, timeout]);
}

async function caFingerprint(file: string | undefined): Promise<{ sha256: string } | undefined> {
  if (file === undefined) return undefined;
  try {
    return { sha256: new X509Certificate(await readFile(file)).fingerprint256 };
  } catch {
    return undefined;
  }
}

function port(value: number | undefined): string {
  return value === undefined ? 'not served' : String(value);
}

/** Settings per client, with the user's own handle filled in. */
function clientSections(where: Where, session: SignedIn, msnReady: SafeHtml): SafeHtml {
  const handle = session.account.handle;
  const { host, ports } = where;
  const xmppPort = ports.xmppPort ?? 5222;
  const dotless = !where.domain.includes('.');
  const caStep = where.ca
    ? html`Install <a href="/connect/ca.crt">the CA certificate</a> as a trusted root`
    : html`Trust the server's certificate`;
  return html`<section class="card" aria-labelledby="wlm-h">
<h2 id="wlm-h">Windows Live Messenger 2009 (and 8.x)</h2>
${msnReady}
<ol>
<li>${caStep} (from an administrator command prompt: <code>certutil -addstore -f Root ca.crt</code>).</li>
<li>Add <a href="#hosts-h">the hosts-file lines</a> to <code>C:\\Windows\\System32\\drivers\\etc\\hosts</code>.</li>
<li>Sign in with <strong>${handle}</strong> and your password.</li>
</ol>
</section>
<section class="card" aria-labelledby="msn-h">
<h2 id="msn-h">MSN Messenger 7.5 (and 5.0 – 7.0)</h2>
${msnReady}
<ol>
<li>${caStep}: double-click <code>ca.crt</code> → Install Certificate → “Trusted Root Certification Authorities”. Windows XP before SP3 needs a SHA-1 certificate (ask the operator).</li>
<li>Add <a href="#hosts-h">the hosts-file lines</a> (MSN 7.5 needs at least <code>messenger.hotmail.com</code>, <code>login.live.com</code> and <code>nexus.passport.com</code>).</li>
<li>Sign in with <strong>${handle}</strong> and your password.</li>
</ol>
</section>
<section class="card" aria-labelledby="pidgin-h">
<h2 id="pidgin-h">Pidgin (MSN plugin, MSNP18)</h2>
<dl class="facts">
<dt>Protocol</dt><dd>MSN</dd>
<dt>Username</dt><dd><code>${handle}</code></dd>
<dt>Server, Port</dt><dd><code>${host}</code>, <code>${port(ports.msnpPort)}</code> (Advanced tab)</dd>
</dl>
<p>Pidgin still asks <code>login.live.com</code> and <code>contacts.msn.com</code> for tokens and contacts: add <a href="#hosts-h">the hosts-file lines</a> and trust the CA certificate on this computer.</p>
${
  dotless
    ? html`<p class="message error" role="note">This server's domain (<code>${where.domain}</code>) has no dot: Pidgin's MSN plugin drops such contacts. Use an XMPP app below, or ask the operator for a domain like <code>chat.example</code>.</p>`
    : ''
}
<p class="hint">Pidgin sends at most 16 characters of a password: a longer password does not work in it.</p>
</section>
<section class="card" aria-labelledby="gajim-h">
<h2 id="gajim-h">Gajim</h2>
<ol>
<li>Accounts → Add Account → “I already have an account”: <code>${handle}</code> and your password.</li>
<li>Under Advanced, set Hostname <code>${host}</code> and Port <code>${xmppPort}</code> (STARTTLS).</li>
<li>When Gajim shows the certificate, check its issuer is the Papillon CA${where.ca ? html` (SHA-256 <code>${where.ca.sha256}</code>)` : ''} and accept it.</li>
</ol>
</section>
<section class="card" aria-labelledby="conversations-h">
<h2 id="conversations-h">Conversations (Android)</h2>
<ol>
<li>Settings → Expert settings: turn on “Extended connection settings”.</li>
<li>Add account: XMPP address <code>${handle}</code>, your password, Hostname <code>${host}</code>, Port <code>${xmppPort}</code>.</li>
<li>${where.ca ? html`Install <a href="/connect/ca.crt">the CA certificate</a> (Android Settings → Security → Encryption &amp; credentials → Install a certificate → CA certificate), or accept` : html`Accept`} the certificate Conversations shows.</li>
</ol>
</section>
<section class="card" aria-labelledby="profanity-h">
<h2 id="profanity-h">Profanity</h2>
<pre><code>/connect ${handle} server ${host} port ${xmppPort} tls force</code></pre>
${
  ports.xmppsPort === undefined
    ? ''
    : html`<p>Direct TLS instead: <code>/connect ${handle} server ${host} port ${ports.xmppsPort} tls legacy</code> (TLS from the first byte).</p>`
}
<p class="hint">Profanity asks about a certificate it does not know: <code>/tls allow</code> accepts it for this session, <code>/tls always</code> for good.</p>
</section>`;
}

async function connectPage(ctx: WebContext, request: FastifyRequest, session: SignedIn): Promise<SafeHtml> {
  const ports: ConnectInfo = ctx.connect ?? {};
  const host = ports.publicHost ?? browserHost(request) ?? ctx.domain;
  const where: Where = {
    host,
    address: await addressOf(host),
    domain: ctx.domain,
    ports,
    ca: await caFingerprint(ports.caFile),
  };
  // MSN clients ask fixed host names on fixed ports: other ports need a proxy or port forwarding.
  const msnReady =
    ports.msnpPort !== 1863 || ports.httpsPort !== 443
      ? html`<p class="message error" role="note">MSN clients use port 1863 and HTTPS on port 443; this server listens on ${port(ports.msnpPort)} and ${port(ports.httpsPort)}, so ask the operator how MSN clients reach it.</p>`
      : html``;
  const address = where.address ?? `<address of ${host}>`;
  const names = [...LEGACY_MSN_HOSTS, ...(isIP(where.domain) || where.domain === host ? [] : [where.domain])];
  const hostsLines = names.map((name) => `${address} ${name}`).join('\n');
  const ca = where.ca
    ? html`<p><a class="button" href="/connect/ca.crt" download="papillon-ca.crt">Download the CA certificate</a></p>
<p class="hint">SHA-256 fingerprint: <code>${where.ca.sha256}</code></p>`
    : html`<p class="hint">This server has no CA certificate of its own to download: its certificate is trusted as it is, or the operator can tell you which to install.</p>`;

  return page({
    title: 'Connect a Messenger app',
    signedIn: session,
    body: html`<section class="card" aria-labelledby="server-h">
<h2 id="server-h">This server</h2>
<dl class="facts">
<dt>Address</dt><dd><code>${host}</code></dd>
<dt>Your sign-in name</dt><dd><code>${session.account.handle}</code> (MSN sign-in name and XMPP address)</dd>
<dt>MSN (MSNP)</dt><dd>port ${port(ports.msnpPort)}</dd>
<dt>XMPP</dt><dd>port ${port(ports.xmppPort)} (STARTTLS), ${port(ports.xmppsPort)} (direct TLS)</dd>
<dt>Web</dt><dd>HTTP ${port(ports.httpPort)}, HTTPS ${port(ports.httpsPort)}</dd>
</dl>
${ca}
</section>
<section class="card" aria-labelledby="hosts-h">
<h2 id="hosts-h">Hosts-file lines</h2>
<p>MSN apps connect to Microsoft's old host names. Add these lines to the hosts file (Windows: <code>C:\\Windows\\System32\\drivers\\etc\\hosts</code>, as administrator; Linux and macOS: <code>/etc/hosts</code>) so those names reach this server${where.address === undefined ? html`, putting the server's IP address in place of <code>&lt;address of ${host}&gt;</code>` : ''}.</p>
<pre><code>${hostsLines}</code></pre>
</section>
${clientSections(where, session, msnReady)}`,
  });
}

/** `GET /connect` (signed in): how to set up each client; `GET /connect/ca.crt`: the CA to trust. */
export function registerConnect(app: FastifyInstance, ctx: WebContext): void {
  app.get('/connect', async (request, reply) => {
    const session = await sessionOrSignIn(ctx.core, request, reply, '/connect');
    if (session === undefined) return reply;
    return sendPage(reply, 200, await connectPage(ctx, request, session));
  });

  // The CA certificate is public (every client machine installs it), so no sign-in is asked.
  app.get('/connect/ca.crt', async (_request, reply) => {
    const file = ctx.connect?.caFile;
    const pem = file === undefined ? undefined : await readFile(file).catch(() => undefined);
    if (pem === undefined) return reply.callNotFound();
    return reply
      .header('content-type', 'application/x-x509-ca-cert')
      .header('content-disposition', 'attachment; filename="papillon-ca.crt"')
      .header('cache-control', 'no-cache')
      .send(pem);
  });
}
