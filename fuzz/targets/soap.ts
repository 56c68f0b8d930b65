import { MlError, parseMl } from '../../src/msnp/ns/ml.ts';
import { parseUserData } from '../../src/msnp/ns/personal-message.ts';
import { requestAnnotations, requestContacts } from '../../src/msnp/services/address-book/ab-contacts.ts';
import {
  AbFault,
  deltasRequested,
  field,
  readAbRequest,
} from '../../src/msnp/services/address-book/ab-soap.ts';
import { readStore2 } from '../../src/msnp/services/oim.ts';
import { OimContentRejected, readOimContent } from '../../src/msnp/services/oim-message.ts';
import { readRequest } from '../../src/msnp/services/passport/rst-request.ts';
import {
  attribute,
  children,
  parseSoap,
  path,
  readOperation,
  text,
  type XmlNode,
  XmlRejected,
} from '../../src/msnp/services/soap.ts';
import type { FuzzTarget } from '../engine.ts';
import { PropertyViolation } from '../findings.ts';
import type { Rng } from '../rng.ts';
import {
  AB_REQUESTS,
  ML_PAYLOADS,
  OIM_CONTENT,
  OIM_REQUESTS,
  RST_RENEWAL,
  RST_REQUEST,
  SOAP_DICTIONARY,
  STORAGE_REQUESTS,
  UUX_PAYLOADS,
} from '../seeds/soap.ts';

/**
 * The readers of untrusted XML in MSN's web services and MSNP payloads: the SOAP
 * parser and navigation (src/msnp/services/soap.ts), Passport RST and its renewal,
 * the ABCH request and its operation arguments, OIM Store2 and its MIME content, the
 * rsi/storage operation reader, ADL `<ml>` and UUX payloads. Property: each answers
 * with a value or its own documented rejection (`XmlRejected`, `AbFault`,
 * `OimContentRejected`, `MlError`), never with another exception, and what it returns
 * has the documented types.
 */

const FILL: Record<string, string> = {
  USER: 'alice@example.com',
  PASSWORD: 'correct horse',
  T: 'dGlja2V0',
  P: '',
  CONTACT: 'bob@example.com',
  DA: 'ZGE=',
};
const fill = (s: string) => s.replace(/@([A-Z]+)@/g, (whole, name: string) => FILL[name] ?? whole);

const OPERATIONS = [
  'GetMetadata',
  'GetMessage',
  'DeleteMessages',
  'GetProfile',
  'UpdateProfile',
  'CreateDocument',
];

const EXPECTED = [XmlRejected, AbFault, OimContentRejected, MlError];

function expected(run: () => unknown): unknown {
  try {
    return run();
  } catch (err) {
    if (EXPECTED.some((type) => err instanceof type)) return undefined;
    throw err;
  }
}

function isString(value: unknown, what: string): void {
  if (typeof value !== 'string') throw new PropertyViolation('type', `${what} is ${typeof value}`);
}

/**
 * Every navigation helper on every node of a parsed tree, with names the tree has and one
 * it lacks. (Not `__proto__`/`constructor`: the services navigate by literal names only.)
 */
function walk(node: XmlNode | undefined, depth = 0): void {
  if (node === undefined || depth > 40) return;
  const value = text(node);
  if (value !== undefined) isString(value, 'text()');
  if (typeof node === 'string') return;
  for (const name of [...Object.keys(node), 'Body', '#text']) {
    attribute(node, name);
    field(node, name);
    path(node, name, name);
    for (const c of children(node, name)) walk(c, depth + 1);
  }
}

function check(body: string): string {
  const outcome: string[] = [];
  const tree = expected(() => parseSoap(body)) as XmlNode | undefined;
  outcome.push(tree === undefined ? 'rejected' : 'parsed');
  walk(tree);

  const rst = expected(() => readRequest(body)) as ReturnType<typeof readRequest> | undefined;
  if (rst) {
    outcome.push(`rst:${rst.kind}`);
    for (const a of rst.addresses) isString(a, 'RST address');
    if (rst.kind === 'password') {
      isString(rst.username, 'RST username');
      isString(rst.password, 'RST password');
    }
  }

  const abRequest = expected(() => readAbRequest(body, 'MSPAuth=abc; other=1')) as
    | ReturnType<typeof readAbRequest>
    | undefined;
  if (abRequest) {
    outcome.push(`ab:${abRequest.operation.slice(0, 20)}`);
    const action = abRequest.action;
    deltasRequested(action);
    expected(() => requestContacts(action));
    requestAnnotations(action);
    for (const contact of children(path(action, 'contacts'), 'Contact')) {
      requestAnnotations(path(contact, 'contactInfo'));
    }
  }

  const store2 = expected(() => readStore2(body)) as ReturnType<typeof readStore2> | undefined;
  if (store2) {
    outcome.push('store2');
    const content = expected(() => readOimContent(store2.content));
    if (content !== undefined) isString(content, 'OIM text');
  }

  const operation = readOperation(body, OPERATIONS);
  outcome.push(typeof operation === 'string' ? operation : operation.operation);

  // The same text as an MSNP payload and as OIM MIME content.
  const ml = expected(() => parseMl(body)) as ReturnType<typeof parseMl> | undefined;
  if (ml) {
    outcome.push(`ml:${Math.min(ml.contacts.length, 3)}`);
    for (const c of ml.contacts) isString(c.handle, 'ml handle');
  }
  const data = parseUserData(body);
  if (data) outcome.push(`uux:${data.kind}`);
  expected(() => readOimContent(body));
  return outcome.join(' ');
}

export const soap: FuzzTarget = {
  name: 'soap',
  async open() {
    const seeds = [
      RST_REQUEST,
      RST_RENEWAL,
      ...AB_REQUESTS,
      ...OIM_REQUESTS,
      ...STORAGE_REQUESTS,
      ...ML_PAYLOADS,
      ...UUX_PAYLOADS,
      OIM_CONTENT,
    ].map((s) => Buffer.from(fill(s), 'utf8'));
    return {
      seeds,
      dictionary: [...SOAP_DICTIONARY],
      maxBytes: 64 * 1024,
      check(input: Buffer, rng: Rng) {
        // Bodies reach the readers as fastify's UTF-8 decoding of the request bytes.
        return check(input.toString(rng.chance(0.9) ? 'utf8' : 'latin1'));
      },
    };
  },
};
