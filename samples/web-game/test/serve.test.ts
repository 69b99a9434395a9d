import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ISOLATION_HEADERS, startServer, type RunningServer } from "../scripts/serve.mjs";

/* The static server: what it serves, the isolation headers with and without --no-isolation, and what it refuses. */

let root: string;
let isolated: RunningServer;
let plain: RunningServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "memkit-web-serve-"));
  mkdirSync(join(root, "site"));
  writeFileSync(join(root, "secret.txt"), "outside the served folder");
  writeFileSync(join(root, "site", "index.html"), "<!doctype html><title>t</title>");
  writeFileSync(join(root, "site", "game.js"), "export {};");
  isolated = await startServer({ root: join(root, "site") });
  plain = await startServer({ root: join(root, "site"), isolated: false });
});

afterAll(async () => {
  await isolated?.close();
  await plain?.close();
});

/** A raw GET (fetch would normalise `..` away before sending it). */
function get(server: RunningServer, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("serve.mjs", () => {
  test("serves index.html at / and scripts as JavaScript, with the isolation headers", async () => {
    const index = await get(isolated, "/");
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.body).toContain("<title>t</title>");
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) expect(index.headers[name.toLowerCase()]).toBe(value);
    const script = await get(isolated, "/game.js?v=1");
    expect([script.status, script.headers["content-type"]]).toEqual([200, "text/javascript; charset=utf-8"]);
    expect(script.headers["cross-origin-embedder-policy"]).toBe("require-corp");
  });

  test("without isolation the headers are absent", async () => {
    const index = await get(plain, "/");
    expect(index.status).toBe(200);
    expect(index.headers["cross-origin-opener-policy"]).toBeUndefined();
    expect(index.headers["cross-origin-embedder-policy"]).toBeUndefined();
  });

  test("refuses paths outside its folder, and answers 404 for missing files", async () => {
    for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"]) {
      const res = await get(isolated, path);
      expect(res.status, path).not.toBe(200);
      expect(res.body).not.toContain("outside the served folder");
    }
    // An encoded slash survives URL parsing and would climb out after decoding: refused as such.
    expect((await get(isolated, "/..%2fsecret.txt")).status).toBe(403);
    expect((await get(isolated, "/nothing.js")).status).toBe(404);
    expect((await get(isolated, "/%zz")).status).toBe(400);
  });
});
