// A small static server for the built page (dist/). With `isolated` (the
// default) every response carries the cross-origin isolation headers
// (COOP same-origin, COEP require-corp), so the page is crossOriginIsolated
// and may use SharedArrayBuffer: MemoryGlobals.init({ shared: true }).
// `node scripts/serve.mjs [--port N] [--no-isolation]` serves until Ctrl-C;
// the test imports startServer and listens on a free port.
/* global console, process */
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { URL, fileURLToPath } from "node:url";

export const DIST = fileURLToPath(new URL("../dist", import.meta.url));
export const DEFAULT_PORT = 4173;

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** The headers that make a page cross-origin isolated. */
export const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

/**
 * @typedef {object} ServeOptions
 * @property {string} [root] folder to serve (default: dist/)
 * @property {number} [port] 0: any free port (default 0)
 * @property {string} [host] default 127.0.0.1
 * @property {boolean} [isolated] send the COOP/COEP headers (default true)
 */

/**
 * @typedef {object} RunningServer
 * @property {string} url http://127.0.0.1:PORT/
 * @property {number} port
 * @property {() => Promise<void>} close
 */

/**
 * Serves `root` over HTTP. Only files under `root` are served; `/` is index.html.
 * @param {ServeOptions} [options]
 * @returns {Promise<RunningServer>}
 */
export async function startServer(options = {}) {
  const root = options.root ?? DIST;
  const host = options.host ?? "127.0.0.1";
  const isolated = options.isolated ?? true;
  const server = createServer((request, response) => {
    void respond(root, isolated, request.url ?? "/", request.method ?? "GET", response);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve(undefined);
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("serve: the server has no TCP address");
  return {
    url: `http://${host}:${address.port}/`,
    port: address.port,
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err === undefined ? resolve() : reject(err)));
      }),
  };
}

/**
 * @param {string} root
 * @param {boolean} isolated
 * @param {string} url
 * @param {string} method
 * @param {import("node:http").ServerResponse} response
 */
async function respond(root, isolated, url, method, response) {
  const headers = { "Cache-Control": "no-store", ...(isolated ? ISOLATION_HEADERS : {}) };
  if (method !== "GET" && method !== "HEAD") {
    response.writeHead(405, { ...headers, Allow: "GET, HEAD" }).end();
    return;
  }
  let path;
  try {
    path = decodeURIComponent(new URL(url, "http://localhost").pathname);
  } catch {
    response.writeHead(400, headers).end("bad path\n");
    return;
  }
  if (path.endsWith("/")) path += "index.html";
  const file = normalize(join(root, path));
  // A path that climbs out of root (../) is not served.
  if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) {
    response.writeHead(403, headers).end("forbidden\n");
    return;
  }
  try {
    const body = await readFile(file);
    response.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Length": body.length });
    response.end(method === "HEAD" ? undefined : body);
  } catch {
    response.writeHead(404, { ...headers, "Content-Type": "text/plain; charset=utf-8" }).end(`not found: ${path}\n`);
  }
}

/** `--port N` and `--no-isolation` from argv. */
function parseArgs(argv) {
  let port = DEFAULT_PORT;
  let isolated = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--no-isolation") isolated = false;
    else if (arg === "--port" && i + 1 < argv.length) port = Number(argv[++i]);
    else throw new Error(`serve: unknown argument ${arg}\nusage: npm run web -- [--port N] [--no-isolation]`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`serve: --port takes a port number 0..65535 (0: any free port), got ${port}`);
  return { port, isolated };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  }
  let server;
  try {
    server = await startServer(args);
  } catch (err) {
    if (err?.code !== "EADDRINUSE") throw err;
    console.log(`serve: port ${args.port} is taken; using a free one`);
    server = await startServer({ ...args, port: 0 });
  }
  const how = args.isolated ? "cross-origin isolated (COOP/COEP headers): shared memory on" : "WITHOUT the isolation headers (--no-isolation): the overlay says so";
  console.log(`memkit web game: ${server.url}  (${how}; Ctrl-C to stop)`);
}
