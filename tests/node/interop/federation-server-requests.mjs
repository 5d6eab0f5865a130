#!/usr/bin/env node
// Server-to-client requests through a federated gateway path, with the official TypeScript SDK client: the client
// offers sampling, elicitation and roots; it calls "<prefix>__trigger-sampling-request" on every prefix at once (each
// member numbers its own requests, so their ids collide unless the gateway keeps them apart), then
// "<prefix>__trigger-elicitation-request" and "<prefix>__get-roots-list" on the first prefix (the roots request comes
// on the session's GET stream, not on the call's). Prints ONE JSON document; a call that fails is reported, not fatal.
//
// usage: node federation-server-requests.mjs --url http://127.0.0.1:PORT/mcp/all --prefixes one,two [--timeout-ms N]
// Exit code: 0 when the session was opened, 1 otherwise, 2 on bad usage.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describeError, parseArgs } from "./federation-args.mjs";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const args = parseArgs(process.argv.slice(2));
if (!args) {
  process.stderr.write("usage: node federation-server-requests.mjs --url URL --prefixes a,b [--timeout-ms N]\n");
  process.exit(2);
}

const out = { sampling: {}, samplingRequests: [], elicitationRequests: 0, rootsRequests: 0, logs: [] };
let exitCode = 0;
const transport = new StreamableHTTPClientTransport(new URL(args.url));
const client = new Client(
  { name: "fastmcp-federation-server-requests", version: "1.0.0" },
  { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
);
client.onerror = () => {};
client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
  const prompt = request.params.messages?.[0]?.content?.text ?? "";
  out.samplingRequests.push({ id: extra.requestId, prompt });
  // Both members' requests are held until both arrived: each answer must still reach the member that asked.
  if (out.samplingRequests.length < args.prefixes.length) await waitFor(() => out.samplingRequests.length >= args.prefixes.length, 10000);
  return { role: "assistant", content: { type: "text", text: `sampled<${prompt}>` }, model: "fastmcp-test", stopReason: "endTurn" };
});
client.setRequestHandler(ElicitRequestSchema, async () => {
  out.elicitationRequests++;
  return { action: "accept", content: { name: "Federated Tester", check: true } };
});
client.setRequestHandler(ListRootsRequestSchema, async () => {
  out.rootsRequests++;
  return { roots: [{ uri: "file:///fastmcp/federated-root", name: "federated-root" }] };
});
client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
  out.logs.push(String(notification.params.data));
});

async function waitFor(condition, ms) {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

async function call(name, toolArgs, timeout = args.timeoutMs) {
  try {
    const result = await client.callTool({ name, arguments: toolArgs }, undefined, { timeout });
    return { text: result.content.map((c) => c.text ?? "").join("\n"), isError: result.isError ?? false };
  } catch (error) {
    return { error: describeError(error) };
  }
}

try {
  await client.connect(transport, { timeout: args.timeoutMs });
  const calls = args.prefixes.map((prefix) =>
    call(`${prefix}__trigger-sampling-request`, { prompt: `question for ${prefix}`, maxTokens: 10 }).then((r) => (out.sampling[prefix] = r)));
  await Promise.all(calls);
  const first = args.prefixes[0];
  out.elicitation = await call(`${first}__trigger-elicitation-request`, {});
  // The roots request rides the GET stream, which the SDK opens after initialization: give it a moment, then retry once
  // should the first request have gone out before the stream was there.
  await new Promise((r) => setTimeout(r, 500));
  out.roots = await call(`${first}__get-roots-list`, {}, 5000);
  if (out.roots.error) out.roots = await call(`${first}__get-roots-list`, {}, args.timeoutMs);
  await waitFor(() => out.logs.some((l) => l.includes("Roots updated")), 3000);
  await transport.terminateSession();
} catch (error) {
  out.failure = describeError(error);
  exitCode = 1;
} finally {
  await client.close().catch(() => {});
}
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(exitCode);
