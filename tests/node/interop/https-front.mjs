#!/usr/bin/env node
// A TLS front for an http MCP server (server-everything): node's own https server terminates TLS with the
// given certificate and relays each request, streamed both ways (SSE included), to the target. It prints
// "listening PORT" once bound, and "sni NAME" for each TLS connection (the server name the client sent, or
// "(none)"), so a test can check what SNI the gateway sends upstream. With --client-ca it requires a client
// certificate chaining to that CA (mutual TLS) and prints "client CN" for each accepted one.
//
// usage: node https-front.mjs --cert server.pem --key server.key --target http://127.0.0.1:PORT [--port 0] [--client-ca ca.pem]

import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
if (!args.cert || !args.key || !args.target) {
  process.stderr.write("usage: https-front.mjs --cert FILE --key FILE --target URL [--port N]\n");
  process.exit(2);
}
const target = new URL(args.target);

const server = https.createServer(
  {
    cert: readFileSync(args.cert),
    key: readFileSync(args.key),
    ALPNProtocols: ["http/1.1"],
    minVersion: "TLSv1.2",
    ...(args["client-ca"] ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(args["client-ca"]) } : {}),
  },
  (req, res) => {
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`front: ${e.message}`);
    });
    req.pipe(upstream);
  },
);
server.on("secureConnection", (socket) => {
  process.stdout.write(`sni ${socket.servername || "(none)"}\n`);
  if (args["client-ca"]) process.stdout.write(`client ${socket.getPeerCertificate()?.subject?.CN ?? "(none)"}\n`);
});
server.on("tlsClientError", (e) => process.stdout.write(`tls-error ${e.code ?? e.message}\n`));
server.listen(Number(args.port ?? 0), "127.0.0.1", () => process.stdout.write(`listening ${server.address().port}\n`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
