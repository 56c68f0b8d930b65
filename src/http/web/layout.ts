import type { FastifyReply } from 'fastify';
import type { AccountRow } from '../../store/types.ts';
import { html, type SafeHtml } from './html.ts';

export interface PageOptions {
  title: string;
  body: SafeHtml;
  /** The signed-in account and its session's CSRF token: shows who is signed in, their links and sign-out. */
  signedIn?: { account: AccountRow; csrf: string; admin?: boolean } | undefined;
}

/** The site's header: who is signed in, their links and sign-out (the chat page's log-out submits that form). */
export function siteHeader(who: PageOptions['signedIn']): SafeHtml {
  const nav = who
    ? html`<nav aria-label="Account">
        <span class="who">Signed in as <a href="/account">${who.account.handle}</a></span>
        <a href="/chat">Chat</a> <a href="/connect">Connect</a>${who.admin ? html` <a href="/admin">Admin</a>` : ''}
        <form method="post" action="/signout" id="papillon-signout">
          ${csrfField(who.csrf)}
          <button type="submit" class="link">Sign out</button>
        </form>
      </nav>`
    : html`<nav aria-label="Account"><a href="/signin">Sign in</a></nav>`;
  return html`<header class="top"><a class="brand" href="/">Papillon</a>${nav}</header>`;
}

/** A whole page: viewport for phones, the one stylesheet, a skip link, header, main. */
export function page(options: PageOptions): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Papillon</title>
<link rel="stylesheet" href="/static/papillon.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${siteHeader(options.signedIn)}
<main id="main">
<h1>${options.title}</h1>
${options.body}
</main>
</body>
</html>
`;
}

/** Sends a page; pages carry CSRF tokens and personal data, so nothing is cached. */
export function sendPage(reply: FastifyReply, status: number, markup: SafeHtml): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(markup.text);
}

/** A message box: `ok` for what worked, `error` for what did not. */
export function notice(kind: 'ok' | 'error', text: string | undefined): SafeHtml {
  if (!text) return html``;
  return kind === 'error'
    ? html`<p class="message error" role="alert">${text}</p>`
    : html`<p class="message ok" role="status">${text}</p>`;
}

/** A hidden CSRF field for a form. */
export function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${token}">`;
}

/** A simple page with one message, for errors and confirmations. */
export function messagePage(title: string, message: SafeHtml, signedIn?: PageOptions['signedIn']): SafeHtml {
  return page({ title, body: html`<section class="card">${message}</section>`, signedIn });
}
