import { ErrorCodes, RowshardError } from '../errors.js';
import { type DecodeContext, type Infer, type ObjectOf, object, replyContext, requestContext, type Schema } from './schema.js';

/**
 * A protocol is what one role serves: for each message type, the schema of the request and
 * of its reply. `RpcServer` takes a protocol and one handler per message type
 * (`Handlers<P>`: the compiler reports a message without a handler, or a handler that
 * returns the wrong reply); `RpcClient<P>.request(type, body)` takes the request type and
 * resolves with the typed, decoded reply. docs/ARCHITECTURE.md lists every message.
 */
export interface BodySchema<T> extends Schema<T> {
  decodeBody(frame: Record<string, unknown>, ctx: DecodeContext): T;
}

export interface MessageSchema<Request = unknown, Reply = unknown> {
  readonly request: BodySchema<Request>;
  readonly reply: BodySchema<Reply>;
  /** Decode contexts, made once per message rather than per frame. */
  readonly requestContext: DecodeContext;
  readonly replyContext: DecodeContext;
}

export type ProtocolSchema = { readonly [type: string]: MessageSchema<unknown, unknown> };

export type MessageType<P extends ProtocolSchema> = keyof P & string;
export type RequestOf<P extends ProtocolSchema, K extends keyof P> = Infer<P[K]['request']>;
export type ReplyOf<P extends ProtocolSchema, K extends keyof P> = Infer<P[K]['reply']>;

/** One handler per message type; `Context` is what the server knows of the connection. */
export type Handlers<P extends ProtocolSchema, Context> = {
  readonly [K in MessageType<P>]: (request: RequestOf<P, K>, context: Context) => ReplyOf<P, K> | Promise<ReplyOf<P, K>>;
};

type Shape = Readonly<Record<string, Schema<unknown, boolean>>>;

/** Declares one message: the fields of its request and of its reply. */
export function message<Q extends Shape, R extends Shape>(
  request: Q,
  reply: R,
): { readonly request: BodySchema<ObjectOf<Q>>; readonly reply: BodySchema<ObjectOf<R>> } {
  return { request: object(request), reply: object(reply) };
}

/** A protocol from its messages, keyed by message type. */
export function defineProtocol<
  M extends { readonly [type: string]: { readonly request: BodySchema<unknown>; readonly reply: BodySchema<unknown> } },
>(
  messages: M,
): { readonly [K in keyof M]: M[K] & { readonly requestContext: DecodeContext; readonly replyContext: DecodeContext } } {
  const out: Record<string, MessageSchema> = {};
  for (const [type, m] of Object.entries(messages)) {
    out[type] = { ...m, requestContext: requestContext(type), replyContext: replyContext(type) };
  }
  return Object.freeze(out) as never;
}

/** Decodes a request frame of protocol `P`: its type must be one `P` serves. */
export function decodeRequest<P extends ProtocolSchema>(
  protocol: P,
  serves: string,
  frame: Record<string, unknown> & { readonly type: string },
): { type: MessageType<P>; request: RequestOf<P, MessageType<P>> } {
  const type = frame.type;
  const spec = Object.hasOwn(protocol, type) ? protocol[type] : undefined;
  if (!spec) {
    throw new RowshardError(
      ErrorCodes.BAD_REQUEST,
      `unknown request type '${type}' (the ${serves} serves: ${Object.keys(protocol).join(', ')})`,
      { field: 'type' },
    );
  }
  return { type, request: spec.request.decodeBody(frame, spec.requestContext) as RequestOf<P, MessageType<P>> };
}

/** Decodes the reply to a request of type `type`. */
export function decodeReply<P extends ProtocolSchema, K extends MessageType<P>>(
  protocol: P,
  type: K,
  frame: Record<string, unknown>,
): ReplyOf<P, K> {
  const spec = protocol[type];
  return spec.reply.decodeBody(frame, spec.replyContext) as ReplyOf<P, K>;
}
