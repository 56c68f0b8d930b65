import { type Agent, request } from 'node:https';

/** Where the benchmark's clients reach the server's HTTPS web services. */
export interface HttpsTarget {
  host: string;
  httpsPort: number;
  /** Keep-alive HTTPS agent trusting the bench CA. */
  agent: Agent;
  timeoutMs: number;
}

/**
 * POSTs a SOAP body as a client does to one of Microsoft's host names (`Host` and
 * SNI `hostName`), from `localAddress` if given; resolves with the status and the
 * body, whatever the status (SOAP faults come with 500).
 */
export function postSoap(
  target: HttpsTarget,
  options: {
    path: string;
    hostName: string;
    body: string;
    localAddress: string | undefined;
    soapAction?: string;
  },
): Promise<{ status: number; text: string }> {
  const { path, hostName, body, localAddress, soapAction } = options;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.host,
        port: target.httpsPort,
        path,
        method: 'POST',
        agent: target.agent,
        servername: hostName,
        ...(localAddress ? { localAddress } : {}),
        headers: {
          Host: hostName,
          'Content-Type': 'text/xml; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
          ...(soapAction === undefined ? {} : { SOAPAction: soapAction }),
        },
        timeout: target.timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path} timed out after ${target.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
