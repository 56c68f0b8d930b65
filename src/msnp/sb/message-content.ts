import type { MessageContent } from '../../core/conversations.ts';

/**
 * An MSNP switchboard message (MIME headers, blank line, body; docs/msnp-reference.md
 * §12.5) in protocol-neutral terms, and back. Only text, typing and nudges cross to
 * other protocols; everything else stays MSNP-only.
 */
export function contentOf(payload: Buffer): MessageContent {
  const text = payload.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const head = split >= 0 ? text.slice(0, split) : text;
  const body = split >= 0 ? text.slice(split + 4) : '';
  const type = /^content-type:\s*([^;\r\n]+)/im.exec(head)?.[1]?.trim().toLowerCase();
  if (type === 'text/plain') return { kind: 'text', text: body };
  if (type === 'text/x-msmsgscontrol' && /^typinguser:/im.test(head)) return { kind: 'typing' };
  // §12.5: datacast ID 1 is a nudge (MSN 7.0+).
  if (type === 'text/x-msnmsgr-datacast' && /^id:\s*1\s*$/im.test(body)) return { kind: 'nudge' };
  return { kind: 'other' };
}

/** An MSNP payload for content that came from another protocol. */
export function payloadFor(content: MessageContent, senderHandle: string): Buffer | undefined {
  switch (content.kind) {
    case 'text':
      return Buffer.from(
        `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0\r\n\r\n${content.text}`,
      );
    case 'typing':
      return Buffer.from(
        `MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: ${senderHandle}\r\n\r\n\r\n`,
      );
    case 'nudge':
      return Buffer.from('MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n');
    default:
      return undefined;
  }
}
