import { httpsRequest, type TestServer } from './papillon-server.ts';

/**
 * Requests to the MSN web services besides the address book (test/support/abch-client.ts),
 * as WLM 8.5/2009 and Pidgin's MSNP18 plugin send them to the legacy host names.
 */

/** A SOAP POST with the SOAPAction quoted, as the OIM clients send it (retro-prpl msn/oim.c). */
export function soapPost(server: TestServer, path: string, host: string, action: string, body: string) {
  return httpsRequest(server, {
    path,
    method: 'POST',
    servername: host,
    headers: { Host: host, SOAPAction: `"${action}"`, 'Content-Type': 'text/xml; charset=utf-8' },
    body,
  });
}

export const STORAGE_NS = 'http://www.msn.com/webservices/storage/2008';

/**
 * A storage service (roaming profile) request as WLM 2009 sends it: the application and
 * user headers with `ticket` (already XML-escaped), and `body` as the SOAP Body.
 */
export function storageRequest(server: TestServer, operation: string, ticket: string, body: string) {
  const envelope = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Header><StorageApplicationHeader xmlns="${STORAGE_NS}"><ApplicationID>Messenger Client 9.0</ApplicationID><Scenario>Initial</Scenario></StorageApplicationHeader><StorageUserHeader xmlns="${STORAGE_NS}"><Puid>0</Puid><TicketToken>${ticket}</TicketToken></StorageUserHeader></soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`;
  return httpsRequest(server, {
    path: '/storageservice/SchematizedStore.asmx',
    method: 'POST',
    servername: 'storage.msn.com',
    headers: {
      Host: 'storage.msn.com',
      SOAPAction: `${STORAGE_NS}/${operation}`,
      'Content-Type': 'text/xml; charset=utf-8',
    },
    body: envelope,
  });
}
