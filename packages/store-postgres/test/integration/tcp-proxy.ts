import { createServer, type Server, type Socket, connect } from 'node:net';

/**
 * A loopback TCP proxy in front of PostgreSQL that a test can cut and
 * restore without touching the shared server.
 */
export interface TcpProxy {
  readonly port: number;
  /** Destroys every connection and stops listening: new connects are refused. */
  cut(): Promise<void>;
  /** Keeps accepting and holding connections but forwards nothing: calls hang until their timeout. */
  stall(): void;
  /** Drops stalled connections (as a network reset would) and forwards again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let stalled = false;
  let server: Server | undefined;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };

  const onConnection = (client: Socket) => {
    track(client);
    if (stalled) {
      // Accept, then never answer: the driver sees a silent server.
      client.pause();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (chunk) => {
      if (!stalled) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!stalled) client.write(chunk);
    });
  };

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer(onConnection);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        const address = s.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });

  const stopListening = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (!s) return resolve();
      s.close(() => resolve());
    });

  const port = await listen(0);
  const destroyAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  return {
    port,
    async cut() {
      const closing = stopListening();
      destroyAll();
      await closing;
    },
    stall() {
      stalled = true;
    },
    async restore() {
      stalled = false;
      destroyAll();
      if (!server) await listen(port);
    },
    async close() {
      const closing = stopListening();
      destroyAll();
      await closing;
    },
  };
}
