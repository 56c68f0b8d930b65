import {
  challenge,
  failure,
  type SaslContext,
  type SaslFailureCondition,
  type SaslMechanism,
  type SaslStep,
} from './mechanism.ts';

/**
 * A mechanism whose whole exchange is one client message (PLAIN, X-MESSENGER-OAUTH2),
 * offered only over TLS. A client that sends no initial response gets the empty
 * challenge of RFC 6120 §6.4.2 and answers it with the message.
 */
export abstract class OneMessageMechanism implements SaslMechanism {
  abstract readonly name: string;
  #done = false;

  constructor(protected readonly ctx: SaslContext) {}

  async start(initialResponse: Buffer | undefined): Promise<SaslStep> {
    if (this.#done) return this.fail('malformed-request');
    if (!this.ctx.secure) return this.fail('encryption-required');
    if (initialResponse === undefined) return challenge(Buffer.alloc(0));
    this.#done = true;
    return this.authenticate(initialResponse);
  }

  async step(response: Buffer): Promise<SaslStep> {
    if (this.#done || !this.ctx.secure) return this.fail('malformed-request');
    this.#done = true;
    return this.authenticate(response);
  }

  /** Checks the one message; called at most once. */
  protected abstract authenticate(message: Buffer): Promise<SaslStep>;

  protected fail(condition: SaslFailureCondition): SaslStep {
    this.#done = true;
    return failure(condition);
  }
}
