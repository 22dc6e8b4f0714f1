import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * bench:ps's baseline for the cost of one request: a bare WebSocket server (the same `ws` and
 * options rowshard's servers use, no codec, no handler), run as a child process like a shard.
 * Each binary message is answered with a message of the length its first four bytes name
 * (little-endian). It tells its parent its port, and exits when the parent does.
 */
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 << 20 });
const replies = new Map<number, Buffer>();

wss.on('listening', () => process.send?.({ port: (wss.address() as AddressInfo).port }));
wss.on('connection', (ws) => {
  ws.on('message', (data: Buffer) => {
    const size = data.readUInt32LE(0);
    let reply = replies.get(size);
    if (!reply) {
      reply = Buffer.alloc(size, 1);
      replies.set(size, reply);
    }
    ws.send(reply);
  });
});
process.on('disconnect', () => process.exit(0));
