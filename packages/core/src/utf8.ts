/**
 * UTF-8 via the runtime's TextEncoder/TextDecoder (present in Node, browsers and workers).
 * core builds without DOM or Node types, so the two globals are declared here minimally.
 */
declare const TextEncoder: { new (): { encode(text: string): Uint8Array } };
declare const TextDecoder: { new (label?: string): { decode(bytes: Uint8Array): string } };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const latin1 = new TextDecoder('latin1');

export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function decodeLatin1(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}
