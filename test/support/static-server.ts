// A static file server for a built site, bound to 127.0.0.1 on a free port (browser tests).
import fs from "node:fs";
import path from "node:path";
import { startLoopbackServer } from "./loopback-server.ts";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
};

export interface StaticServer {
  /** e.g. "http://127.0.0.1:41234" (no trailing slash). */
  origin: string;
  /** Paths that were asked for and not found, for assertions. */
  notFound: string[];
  close(): Promise<void>;
}

/** The file a URL path names under root ("/a/" → "/a/index.html"), or undefined outside root. */
function fileFor(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const file = path.join(root, path.normalize(decoded));
  if (file !== root && !file.startsWith(root + path.sep)) return undefined;
  return decoded.endsWith("/") ? path.join(file, "index.html") : file;
}

/** `headers` are added to every file response (e.g. the cross-origin isolation pair). */
export async function serveStatic(root: string, headers: Record<string, string> = {}): Promise<StaticServer> {
  const absoluteRoot = path.resolve(root);
  const notFound: string[] = [];
  const server = await startLoopbackServer({}, (request, response) => {
    const urlPath = new URL(request.url ?? "/", "http://localhost").pathname;
    const file = fileFor(absoluteRoot, urlPath);
    const stat = file ? fs.statSync(file, { throwIfNoEntry: false }) : undefined;
    if (!file || !stat?.isFile()) {
      if (stat?.isDirectory()) {
        response.writeHead(301, { location: `${urlPath}/` }).end();
        return;
      }
      notFound.push(urlPath);
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    response.writeHead(200, {
      ...headers,
      "content-type": CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream",
      "content-length": stat.size,
    });
    if (request.method === "HEAD") response.end();
    else fs.createReadStream(file).pipe(response);
  });
  return { origin: server.origin, notFound, close: () => server.close() };
}
