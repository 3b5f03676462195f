import type { RawData, WebSocket } from 'ws';
import type { Principal } from '../../adapters/auth/tokens.js';
import type { LiveConnection, LiveMessage, LiveUpdates } from '../../flows/live-updates.js';
import { CloseCode, PROTOCOL, readClientMessage, type ServerMessage } from './protocol.js';

export interface RealtimeGatewayOptions {
  /** Ping interval; a socket that has not answered the previous ping by the next one is dropped. */
  heartbeatMs: number;
  logger?: { warn(obj: object, msg?: string): void };
}

/**
 * Past this much unsent data a client is too slow to follow: it is closed (1013) rather than
 * buffered for without bound, and resumes from the log when it reconnects.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;

interface Client {
  alive: boolean;
  conn: LiveConnection;
}

/**
 * The WebSocket side of live updates in one process: frames in and out, heartbeats, draining.
 * What to send and when (subscriptions, ordering, gaps) is the live-updates flow's business.
 */
export const createRealtimeGateway = (live: LiveUpdates, { heartbeatMs, logger }: RealtimeGatewayOptions) => {
  const clients = new Map<WebSocket, Client>();
  let draining = false;

  const heartbeat = setInterval(() => {
    for (const [socket, client] of clients) {
      if (!client.alive) {
        socket.terminate();
        continue;
      }
      client.alive = false;
      socket.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();

  const sender = (socket: WebSocket) => (message: ServerMessage) => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      socket.close(CloseCode.tryAgainLater, 'too slow to follow: reconnect and resume with since');
      return;
    }
    socket.send(JSON.stringify(message));
  };

  const onFrame = (socket: WebSocket, conn: LiveConnection, send: (message: ServerMessage) => void) => {
    return (data: RawData, isBinary: boolean) => {
      if (isBinary) return socket.close(CloseCode.unsupportedData, 'send JSON in text frames');
      let value: unknown;
      try {
        value = JSON.parse(data.toString());
      } catch {
        return socket.close(CloseCode.invalidPayload, 'invalid JSON');
      }
      const read = readClientMessage(value);
      if ('refused' in read) return socket.close(CloseCode.policyViolation, read.refused);
      const { message } = read;
      if (message.type === 'ping') return send({ type: 'pong', ...(message.id ? { id: message.id } : {}) });
      if (message.type === 'unsubscribe') return conn.unsubscribe(message.rideId);
      conn.subscribe(message.rideId, message.since).catch((error: unknown) => {
        logger?.warn({ err: error }, 'realtime: subscribe failed');
        socket.close(CloseCode.internalError, 'internal error');
      });
    };
  };

  return {
    /** Serves an upgraded, authenticated socket until it closes. */
    accept(socket: WebSocket, principal: Principal): void {
      if (draining) {
        socket.close(CloseCode.serviceRestart, 'server restarting: reconnect');
        return;
      }
      const send = sender(socket);
      send({
        type: 'hello',
        protocol: PROTOCOL,
        role: principal.role,
        subject: principal.subject,
        heartbeatSeconds: heartbeatMs / 1000,
      });
      // Every LiveMessage is a ServerMessage: the compiler holds the flow to the published schema.
      const conn = live.connect(
        { role: principal.role, id: principal.subject },
        { send: (message: LiveMessage) => send(message) },
      );
      const client: Client = { alive: true, conn };
      clients.set(socket, client);
      socket.on('pong', () => {
        client.alive = true;
      });
      socket.on('message', onFrame(socket, conn, send));
      socket.on('close', () => {
        conn.close();
        clients.delete(socket);
      });
    },

    /** Shutdown: every client is told to reconnect (elsewhere) and resume, then closed with 1012. */
    drain(): void {
      draining = true;
      for (const socket of clients.keys()) {
        sender(socket)({ type: 'reconnect', reason: 'server restarting' });
        socket.close(CloseCode.serviceRestart, 'server restarting: reconnect');
      }
    },

    /** Open sockets, for metrics and tests. */
    get size(): number {
      return clients.size;
    },

    close(): void {
      clearInterval(heartbeat);
      for (const socket of clients.keys()) socket.terminate();
    },
  };
};

export type RealtimeGateway = ReturnType<typeof createRealtimeGateway>;
