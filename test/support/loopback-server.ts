// An HTTP server on 127.0.0.1 for network tests: routes by path, counts TCP connections (so a
// test can assert "no connection at all"), and closes every socket at the end, including
// connections that a misbehaving route never answers.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Route = (req: IncomingMessage, res: ServerResponse, nth: number) => void;

export interface LoopbackServer {
  /** e.g. "http://127.0.0.1:41234" (no trailing slash). */
  origin: string;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Request paths in arrival order (query included). */
  requests: string[];
  route(path: string, handler: Route): void;
  close(): Promise<void>;
}

/** Routes match the path without its query; `fallback` answers the rest (default 404). */
export async function startLoopbackServer(routes: Record<string, Route> = {}, fallback?: Route): Promise<LoopbackServer> {
  const table = new Map(Object.entries(routes));
  const counts = new Map<string, number>();
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = http.createServer((req, res) => {
    const path = req.url ?? "/";
    requests.push(path);
    const key = path.split("?")[0]!;
    const nth = (counts.get(key) ?? 0) + 1;
    counts.set(key, nth);
    const handler = table.get(key);
    if (handler) handler(req, res, nth);
    else if (fallback) fallback(req, res, nth);
    else res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  });
  server.on("connection", (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    requests,
    route: (path, handler) => table.set(path, handler),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A route that accepts the request and never answers (a black-holed mirror). */
export const neverAnswer: Route = () => {};

/** A route that answers 200 with chunked encoding and never ends, `chunk` bytes every tick. */
export function endlessChunks(chunk = 16 * 1024): Route {
  return (_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    const block = Buffer.alloc(chunk, 0x41);
    const timer = setInterval(() => res.write(block), 1);
    res.on("close", () => clearInterval(timer));
  };
}

/** A route that declares `size` bytes and sends one byte every `everyMs`. */
export function trickle(size: number, everyMs: number): Route {
  return (_req, res) => {
    res.writeHead(200, { "content-length": size, "content-type": "application/octet-stream" });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(Buffer.from([sent++ & 0xff]));
      if (sent >= size) {
        clearInterval(timer);
        res.end();
      }
    }, everyMs);
    res.on("close", () => clearInterval(timer));
  };
}
