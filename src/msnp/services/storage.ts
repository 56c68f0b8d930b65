import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.ts';
import { personalMessageOf, setPersonalMessage } from '../../core/personal-message.ts';
import type { AccountRow } from '../../store/types.ts';
import { isPapillonError, PapillonError } from '../../util/errors.ts';
import { configuredOrigin } from '../../util/public-origin.ts';
import { escapeXmlText } from '../../util/xml.ts';
import { cidOf } from '../cid.ts';
import { sendSoap } from './raw-reply.ts';
import { children, path, readOperation, soapEnvelope, text, type XmlNode } from './soap.ts';

/**
 * The roaming profile: `POST /storageservice/SchematizedStore.asmx` (hosts
 * storage.msn.com, tkrdr.storage.msn.com, storage.live.com), namespace
 * `http://www.msn.com/webservices/storage/2008` (MSNP wiki "Storage service"; what
 * WLM 8.5/2009 call at start-up and when the user changes name, message or picture).
 *
 * The profile IS the account: ExpressionProfile DisplayName = the account's display
 * name, PersonalStatus = its stored personal message, the Photo document = the
 * account's picture (core.pictures), which XMPP and MSNP9–12 contacts already see.
 * Documents and relationships have no life of their own here: CreateDocument /
 * UpdateDocument with a user tile set the picture, the relationship calls that
 * attach it or remove old ones are answered and change nothing.
 *
 * Pidgin and msn-pecan never call this service; WLM shows an error only when a call
 * fails, so every operation it makes at start-up is answered.
 */

const NS = 'http://www.msn.com/webservices/storage/2008';
/** A user tile is at most core's MAX_PICTURE_BYTES, base64 in XML: 256 KiB × 4/3 and the envelope. */
const BODY_LIMIT = 512 * 1024;
/** Where a stored picture's bytes are served, per account CID. */
const TILE_PATH = '/storageservice/usertile/';

const OPERATIONS = [
  'GetProfile',
  'UpdateProfile',
  'CreateProfile',
  'FindDocuments',
  'CreateDocument',
  'UpdateDocument',
  'DeleteDocuments',
  'CreateRelationships',
  'DeleteRelationships',
  'ShareItem',
] as const;
type Operation = (typeof OPERATIONS)[number];

export function registerStorage(app: FastifyInstance, core: Core): void {
  app.post('/storageservice/SchematizedStore.asmx', { bodyLimit: BODY_LIMIT }, (request, reply) =>
    handleStorage(core, request, reply),
  );
  // The picture's bytes, for GetProfile's PreAuthURL: a second machine fetches the tile here.
  // Named by account id, which MSNP10+ already shows every contact (`C=`), so it reveals nothing.
  app.get<{ Params: { id: string } }>(`${TILE_PATH}:id`, async (request, reply) => {
    const id = request.params.id;
    const account = /^[0-9a-f-]{36}$/.test(id) ? await core.accounts.findById(id) : undefined;
    const picture = account ? await core.pictures.get(account.id) : undefined;
    if (!picture) return reply.code(404).send();
    return reply.type(picture.type).header('Cache-Control', 'no-cache').send(picture.data);
  });
}

function fault(code: string, message: string): string {
  return soapEnvelope(
    `<soap:Fault><faultcode>soap:Client</faultcode><faultstring>${escapeXmlText(message)}</faultstring><detail><errorcode xmlns="${NS}">${code}</errorcode></detail></soap:Fault>`,
    '',
  );
}

async function handleStorage(core: Core, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const read = readOperation(request.body, OPERATIONS);
  if (read === 'unreadable')
    return sendSoap(reply, fault('InvalidObjectFormat', 'The request could not be read.'), true);
  if (read === 'unknown') return sendSoap(reply, fault('InvalidObjectFormat', 'Unknown operation.'), true);
  const { envelope: root, body, operation } = read;
  const ticket = text(path(root, 'Header', 'StorageUserHeader', 'TicketToken'))?.trim() ?? '';
  const account = await core.tickets.verifyService(ticket);
  if (!account) return sendSoap(reply, fault('PassportAuthFail', 'Authentication failed.'), true);

  const cid = cidOf(account.id);
  const header = `<StorageUserHeader xmlns="${NS}"><Puid>0</Puid><Cid>${cid}</Cid><ApplicationId>0</ApplicationId><DeviceId>0</DeviceId><IsTrustedDevice>false</IsTrustedDevice><IsStrongAuth>false</IsStrongAuth><TicketToken>${escapeXmlText(ticket)}</TicketToken><IsAdmin>false</IsAdmin><IsBeta>false</IsBeta><TrustLevel>0</TrustLevel></StorageUserHeader>`;
  const operationNode = path(body, operation);
  try {
    const result = await run(core, request, account, operation, operationNode);
    sendSoap(reply, soapEnvelope(result, header));
  } catch (err) {
    if (!isPapillonError(err)) throw err;
    request.log.info({ operation, reason: err.message }, 'storage service: refused');
    sendSoap(reply, fault('InvalidObjectFormat', err.message), true);
  }
}

async function run(
  core: Core,
  request: FastifyRequest,
  account: AccountRow,
  operation: Operation,
  node: XmlNode | undefined,
): Promise<string> {
  const cid = cidOf(account.id);
  switch (operation) {
    case 'GetProfile':
      return `<GetProfileResponse xmlns="${NS}"><GetProfileResult>${await profileXml(core, request, account)}</GetProfileResult></GetProfileResponse>`;
    case 'UpdateProfile': {
      const expression = path(node, 'profile', 'ExpressionProfile');
      const name = text(path(expression, 'DisplayName'));
      const status = text(path(expression, 'PersonalStatus'));
      if (name !== undefined && name.trim() !== '') await core.accounts.setDisplayName(account.id, name);
      if (status !== undefined) await setPersonalMessage(core, account.id, status);
      return `<UpdateProfileResponse xmlns="${NS}"/>`;
    }
    case 'CreateProfile':
      return `<CreateProfileResponse xmlns="${NS}"><CreateProfileResult>${cid}!106</CreateProfileResult></CreateProfileResponse>`;
    case 'FindDocuments': {
      const picture = await core.pictures.get(account.id);
      const documents = picture
        ? `<Document xsi:type="Photo"><ResourceID>${photoId(cid, picture.sha1)}</ResourceID><Name>Messenger User Tile</Name></Document>`
        : '';
      return `<FindDocumentsResponse xmlns="${NS}"><FindDocumentsResult>${documents}</FindDocumentsResult></FindDocumentsResponse>`;
    }
    case 'CreateDocument':
    case 'UpdateDocument': {
      const stored = await storeTile(core, account, path(node, 'document'));
      return operation === 'CreateDocument'
        ? `<CreateDocumentResponse xmlns="${NS}"><CreateDocumentResult>${stored ? photoId(cid, stored) : `${cid}!205`}</CreateDocumentResult></CreateDocumentResponse>`
        : `<UpdateDocumentResponse xmlns="${NS}"/>`;
    }
    case 'DeleteDocuments':
    case 'CreateRelationships':
    case 'DeleteRelationships':
    case 'ShareItem':
      // Nothing to keep: the picture is the account's, attached by being stored.
      return `<${operation}Response xmlns="${NS}"/>`;
  }
}

/** The resource id of the account's photo document: its CID and picture hash. */
function photoId(cid: string, sha1: string): string {
  return `${cid}!${sha1.slice(0, 12)}`;
}

/**
 * Stores the `UserTileStatic` stream of a Photo document as the account's picture;
 * returns its SHA-1, or undefined when the document carries no tile data (WLM creates
 * the document first and may send the data in UpdateDocument).
 */
async function storeTile(
  core: Core,
  account: AccountRow,
  document: XmlNode | undefined,
): Promise<string | undefined> {
  const streams = children(path(document, 'DocumentStreams'), 'DocumentStream');
  const tile =
    streams.find((s) => /UserTileStatic/i.test(text(path(s, 'DocumentStreamType')) ?? '')) ?? streams[0];
  const data = text(path(tile, 'Data'))?.replace(/\s+/g, '') ?? '';
  if (data === '') return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data))
    throw new PapillonError('conflict', 'the picture data is not base64');
  const picture = await core.pictures.set(account.id, Buffer.from(data, 'base64'));
  return picture.sha1;
}

/** ExpressionProfile: display name, personal message and, when there is one, the picture. */
async function profileXml(core: Core, request: FastifyRequest, account: AccountRow): Promise<string> {
  const cid = cidOf(account.id);
  const picture = await core.pictures.get(account.id);
  const psm = await personalMessageOf(core, account.id);
  const modified = new Date(account.createdAt).toISOString();
  const origin = configuredOrigin(request) ?? `${request.protocol}://${request.host}`;
  const url = picture ? escapeXmlText(`${origin}${TILE_PATH}${account.id}`) : '';
  let photo = '';
  if (picture) {
    photo =
      `<Photo><ItemType>Photo</ItemType><ResourceID>${photoId(cid, picture.sha1)}</ResourceID><DateModified>${modified}</DateModified><Name>Messenger User Tile</Name>` +
      '<DocumentStreams><DocumentStream xsi:type="PhotoStream">' +
      `<DocumentStreamName>UserTileStatic</DocumentStreamName><MimeType>${picture.type}</MimeType><DataSize>${picture.size}</DataSize>` +
      `<PreAuthURL>${url}</PreAuthURL><PreAuthURLPartner>${url}</PreAuthURLPartner>` +
      `<DocumentStreamType>UserTileStatic</DocumentStreamType><WriteMode>Overwrite</WriteMode><SHA1Hash>${Buffer.from(picture.sha1, 'hex').toString('base64')}</SHA1Hash><Genie>false</Genie><StreamVersion>1</StreamVersion><SizeBytes>${picture.size}</SizeBytes>` +
      '</DocumentStream></DocumentStreams></Photo>';
  }
  return (
    `<ResourceID>${cid}!106</ResourceID><DateModified>${modified}</DateModified>` +
    `<ExpressionProfile><ResourceID>${cid}!118</ResourceID><DateModified>${modified}</DateModified>${photo}` +
    `<PersonalStatus>${escapeXmlText(psm)}</PersonalStatus><PersonalStatusLastModified>${modified}</PersonalStatusLastModified>` +
    `<DisplayName>${escapeXmlText(account.displayName)}</DisplayName><DisplayNameLastModified>${modified}</DisplayNameLastModified>` +
    `<StaticUserTilePublicURL>${url}</StaticUserTilePublicURL>` +
    '</ExpressionProfile>'
  );
}
