// An update call to the management canister that hands back the reply's Candid bytes undecoded.
// It follows the agent's own actor step by step (@dfinity/agent 3.4 `actor.js`): the call, the
// certificate verified by the agent's `Certificate.create` (BLS signature, delegation, time; the
// reply's own hash taken with node:crypto, see certified-reply.ts), the status looked up in it,
// the agent's reject errors, polling when the replica answers 202.
// `blsVerify` may replace the agent's signature check (bls-memo.ts). The decoding is left to the
// caller: @dfinity/candid 3.4 copies the whole rest of the message for every signed LEB128 it
// reads in the type table, ~20 MB of copies for a 2 MB snapshot slice, a fifth of a canister
// download's CPU (see blob-reply.ts).
import {
  CertifiedRejectErrorCode,
  DEFAULT_POLLING_OPTIONS,
  ExternalError,
  isV2ResponseBody,
  isV3ResponseBody,
  lookupResultToBuffer,
  MissingRootKeyErrorCode,
  pollForResponse,
  RejectError,
  UncertifiedRejectUpdateErrorCode,
  UnexpectedErrorCode,
  UnknownError,
  type HttpAgent,
  type ReplicaRejectCode,
} from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { verifyCertifiedReply } from './certified-reply.js';

const text = (bytes: Uint8Array | undefined) => (bytes ? new TextDecoder().decode(bytes) : undefined);

/**
 * Calls `methodName` on the management canister for `target` (the effective canister id the
 * call is routed by) and returns the verified reply's bytes.
 */
export async function managementUpdate(
  agent: HttpAgent,
  target: Principal,
  methodName: string,
  arg: Uint8Array,
  blsVerify?: (pk: Uint8Array, sig: Uint8Array, msg: Uint8Array) => Promise<boolean>,
): Promise<Uint8Array> {
  const management = Principal.managementCanister();
  const { requestId, response } = await agent.call(management, { methodName, arg, effectiveCanisterId: target });
  let reply: Uint8Array | undefined;
  if (isV3ResponseBody(response.body)) {
    if (agent.rootKey == null) throw ExternalError.fromCode(new MissingRootKeyErrorCode());
    const path = [new TextEncoder().encode('request_status'), requestId];
    const verified = await verifyCertifiedReply({ certificate: response.body.certificate, rootKey: agent.rootKey, canisterId: target, replyPath: [...path, 'reply'], agent, ...(blsVerify ? { blsVerify } : {}) });
    const { certificate } = verified;
    const status = text(lookupResultToBuffer(certificate.lookup_path([...path, 'status'])));
    if (status === 'replied') reply = verified.reply;
    else if (status === 'rejected') {
      // The certificate holds the reject code as one byte, as the agent's own actor reads it.
      const rejectCode = (lookupResultToBuffer(certificate.lookup_path([...path, 'reject_code']))?.[0] ?? 0) as ReplicaRejectCode;
      const rejectMessage = text(lookupResultToBuffer(certificate.lookup_path([...path, 'reject_message']))) ?? '';
      const errorCode = text(lookupResultToBuffer(certificate.lookup_path([...path, 'error_code'])));
      const code = new CertifiedRejectErrorCode(requestId, rejectCode, rejectMessage, errorCode);
      code.callContext = { canisterId: management, methodName, httpDetails: response };
      throw RejectError.fromCode(code);
    }
  } else if (isV2ResponseBody(response.body)) {
    const { reject_code, reject_message, error_code } = response.body;
    const code = new UncertifiedRejectUpdateErrorCode(requestId, reject_code, reject_message, error_code);
    code.callContext = { canisterId: management, methodName, httpDetails: response };
    throw RejectError.fromCode(code);
  }
  // 202 Accepted: the reply is not ready yet; poll read_state until it is (verified likewise).
  if (reply === undefined && response.status === 202) reply = (await pollForResponse(agent, target, requestId, blsVerify ? { ...DEFAULT_POLLING_OPTIONS, blsVerify } : undefined)).reply;
  if (reply === undefined) {
    const code = new UnexpectedErrorCode(`${methodName} returned no reply; it is not known whether it took effect`);
    code.callContext = { canisterId: management, methodName, httpDetails: response };
    throw UnknownError.fromCode(code);
  }
  return reply;
}
