// Eleventy's preview server (npm start, `eleventy --serve`) as this plugin sets it up: it listens
// on the previewHost address only (Eleventy Dev Server 2 listens on every interface and has no
// option for it), and every request gets an answer: a path that does not decode, or decodes to
// one that climbs out of the output folder, is answered 400; anything the server throws on is
// answered 500 (it threw out of its request handler, leaving the request open and the process
// with an unhandled rejection).
import { createRequire } from "node:module";
import path from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";

interface DevServerLike {
  server: { listen(options: { port: number; host: string }): void };
}

type Next = () => unknown;

/** Whether `url`'s path decodes, and to one without ".." segments, NUL or backslashes. */
function requestPathProblem(url: string | undefined): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(url ?? "/", "http://preview.invalid").pathname;
  } catch {
    return "the request target is not a URL";
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return "the path does not decode (a stray %)";
  }
  if (decoded.includes("\0")) return "the path holds a NUL byte";
  if (decoded.split(/[/\\]/).includes("..")) return "the path climbs out of the site (..)";
  return undefined;
}

function answer(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = status;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.end(`${status} ${text}\n`);
}

/** Middleware for Eleventy Dev Server: refuses bad paths, answers 500 when the rest of the chain throws. */
export function answerEveryRequest(req: IncomingMessage, res: ServerResponse, next: Next): void {
  const problem = requestPathProblem(req.url);
  if (problem) return answer(res, 400, `Bad request: ${problem}`);
  const failed = (error: unknown) => answer(res, 500, `The preview server failed on this request: ${(error as Error)?.message ?? error}`);
  try {
    const pending = next();
    if (pending && typeof (pending as Promise<unknown>).catch === "function") (pending as Promise<unknown>).catch(failed);
  } catch (error) {
    failed(error);
  }
}

let boundHost: string | undefined;

/**
 * Makes Eleventy Dev Server listen on `host` only. Its listen call is a method of its class
 * (`_serverListen(port)`, also used for the next port when one is taken); the class is the one
 * Eleventy imports, found from Eleventy's own package. Returns why it could not, if it could not.
 */
export function bindPreviewServer(host: string, projectRoot: string): string | undefined {
  try {
    const fromProject = createRequire(path.join(projectRoot, "package.json"));
    const fromEleventy = createRequire(fromProject.resolve("@11ty/eleventy"));
    const DevServer = fromEleventy("@11ty/eleventy-dev-server") as { prototype: Record<string, unknown> };
    if (typeof DevServer.prototype._serverListen !== "function") return "this version of @11ty/eleventy-dev-server has no _serverListen to wrap";
    boundHost = host;
    DevServer.prototype._serverListen = function (this: DevServerLike, port: number) {
      this.server.listen({ port, host: boundHost! });
    };
    return undefined;
  } catch (error) {
    return `@11ty/eleventy-dev-server was not found (${(error as Error).message.split("\n")[0]})`;
  }
}
