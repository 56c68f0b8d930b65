export { type MsnpCommand, MsnpProtocolError, type MsnpProtocolErrorReason } from './command.ts';
export { MsnpDecoder, type MsnpDecoderOptions } from './decoder.ts';
export { encodeCommand, encodePayloadCommand } from './encoder.ts';
export { decodeParam, encodeParam } from './url-encoding.ts';
